"""Reading a policy file: YAML with line numbers, validated field by field.

Every error names the file, the line and the field, and the bad value, e.g.
``site.yaml:12: zones[1].cidrs[0]: '10.0.0.0/33' is not a network``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from coverwatch.identify.knowledge import load_knowledge
from coverwatch.policy.interface import PolicyError
from coverwatch.policy.model import Network, Policy, RuleConfig, Severity, Waiver, Zone

DEFAULT_POLICY = "<default>"
_TOP = {"name", "version", "zones", "rules", "waivers", "unit_costs", "internal", "watch"}
_WATCH = {"targets", "site", "every", "digest", "webhook", "syslog", "email", "smtp", "from"}
_WATCH_LISTS = {"targets", "webhook", "syslog", "email"}
#: Internal ranges when a policy declares none: RFC 1918, loopback, link-local, RFC 4193 ULA,
#: RFC 6598 shared address space.
DEFAULT_INTERNAL = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
)
_ZONE = {"name", "cidrs", "sensitive", "core", "site", "description"}
_RULE = {"id", "kind", "severity", "title", "remediation", "references", "options", "enabled"}
_WAIVER = {"rule", "devices", "zone", "maker", "reason", "approver", "expires"}


class _Node(dict[str, Any]):
    """A mapping that remembers the line of each key (1-based)."""

    line: int = 0
    lines: dict[str, int]


class _List(list[Any]):
    line: int = 0
    lines: list[int]


def _plain(value: Any) -> Any:
    """The same data without line numbers (plain dicts and lists)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that keeps line numbers on mappings and sequences."""


def _mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Node:
    result = _Node()
    result.line = node.start_mark.line + 1
    result.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        result[str(key)] = loader.construct_object(value_node, deep=True)
        result.lines[str(key)] = key_node.start_mark.line + 1
    return result


def _sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _List:
    result = _List(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


class _Reader:
    """Validation helpers that know the file name."""

    def __init__(self, label: str) -> None:
        self.label = label

    def error(self, line: int, where: str, message: str) -> PolicyError:
        return PolicyError(f"{self.label}:{line}: {where}: {message}")

    def mapping(self, raw: Any, where: str, allowed: set[str], line: int) -> _Node:
        if not isinstance(raw, _Node):
            raise self.error(line, where, "must be a mapping")
        for key in raw:
            if key not in allowed:
                raise self.error(
                    raw.lines[key],
                    f"{where}.{key}" if where else key,
                    f"unknown key (expected one of {', '.join(sorted(allowed))})",
                )
        return raw

    def items(self, parent: _Node, key: str) -> list[tuple[int, Any]]:
        raw = parent.get(key)
        if raw is None:
            return []
        if not isinstance(raw, _List):
            raise self.error(parent.lines[key], key, "must be a list")
        return list(zip(raw.lines, raw, strict=True))

    def text(self, node: _Node, key: str, where: str, required: bool = True) -> str | None:
        value = node.get(key)
        if value is None:
            if required:
                raise self.error(node.line, f"{where}.{key}", "is required")
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value):
            raise self.error(node.lines[key], f"{where}.{key}", f"must be text, got {value!r}")
        return str(value)

    def flag(self, node: _Node, key: str, where: str) -> bool:
        value = node.get(key, False)
        if not isinstance(value, bool):
            raise self.error(
                node.lines[key], f"{where}.{key}", f"must be true or false, got {value!r}"
            )
        return value


def _zones(r: _Reader, doc: _Node) -> tuple[Zone, ...]:
    zones: list[Zone] = []
    seen: dict[str, int] = {}
    for index, (line, raw) in enumerate(r.items(doc, "zones")):
        where = f"zones[{index}]"
        node = r.mapping(raw, where, _ZONE, line)
        name = r.text(node, "name", where)
        assert name is not None
        if name in seen:
            raise r.error(node.lines["name"], f"{where}.name", f"zone {name!r} is defined twice")
        seen[name] = line
        cidrs = node.get("cidrs")
        if not isinstance(cidrs, _List) or not cidrs:
            raise r.error(
                node.lines.get("cidrs", node.line),
                f"{where}.cidrs",
                "needs a non-empty list of networks",
            )
        networks: list[Network] = []
        for i, (cidr_line, cidr) in enumerate(zip(cidrs.lines, cidrs, strict=True)):
            try:
                networks.append(ipaddress.ip_network(str(cidr), strict=False))
            except ValueError as e:
                raise r.error(cidr_line, f"{where}.cidrs[{i}]", f"{cidr!r} is not a network") from e
        zones.append(
            Zone(
                name,
                tuple(networks),
                r.flag(node, "sensitive", where),
                r.flag(node, "core", where),
                r.text(node, "site", where, False),
            )
        )
    _check_overlaps(r, doc, zones)
    return tuple(zones)


def _check_overlaps(r: _Reader, doc: _Node, zones: list[Zone]) -> None:
    lines = [line for line, _ in r.items(doc, "zones")]
    for i, first in enumerate(zones):
        for j in range(i + 1, len(zones)):
            second = zones[j]
            if first.site and second.site and first.site != second.site:
                continue
            for a in first.networks:
                for b in second.networks:
                    if a.version == b.version and a.overlaps(b):
                        raise r.error(
                            lines[j],
                            f"zones[{j}].cidrs",
                            f"{b} overlaps {a} of zone {first.name!r}: a device must "
                            "belong to one zone",
                        )


def _rules(r: _Reader, doc: _Node) -> tuple[RuleConfig, ...]:
    from coverwatch.policy.rules import RULES, RuleKind

    if "rules" not in doc:
        return _default_rules()
    rules: list[RuleConfig] = []
    ids: set[str] = set()
    kinds = {k.value for k in RuleKind}
    for index, (line, raw) in enumerate(r.items(doc, "rules")):
        where = f"rules[{index}]"
        node = r.mapping(raw, where, _RULE, line)
        rule_id = r.text(node, "id", where)
        kind = r.text(node, "kind", where)
        assert rule_id is not None and kind is not None
        if rule_id in ids:
            raise r.error(node.lines["id"], f"{where}.id", f"rule {rule_id!r} is defined twice")
        ids.add(rule_id)
        if kind not in kinds:
            raise r.error(
                node.lines["kind"],
                f"{where}.kind",
                f"unknown rule kind {kind!r} (one of {', '.join(sorted(kinds))})",
            )
        severity_text = r.text(node, "severity", where)
        try:
            severity = Severity(severity_text)
        except ValueError as e:
            raise r.error(
                node.lines["severity"],
                f"{where}.severity",
                f"unknown severity {severity_text!r} (one of "
                f"{', '.join(s.value for s in Severity)})",
            ) from e
        options = node.get("options") or {}
        if not isinstance(options, dict):
            raise r.error(node.lines["options"], f"{where}.options", "must be a mapping")
        allowed = RULES[RuleKind(kind)].OPTIONS
        for key in options:
            if key not in allowed:
                line_no = options.lines[key] if isinstance(options, _Node) else node.line
                raise r.error(
                    line_no,
                    f"{where}.options.{key}",
                    f"unknown option for {kind} (expected one of "
                    f"{', '.join(sorted(allowed)) or 'none'})",
                )
        references = node.get("references") or []
        if not isinstance(references, list):
            raise r.error(node.lines["references"], f"{where}.references", "must be a list")
        if node.get("enabled", True) is False:
            continue
        rules.append(
            RuleConfig(
                rule_id,
                kind,
                severity,
                r.text(node, "title", where) or "",
                r.text(node, "remediation", where) or "",
                tuple(str(x) for x in references),
                _plain(options),
            )
        )
    return tuple(rules)


def _waivers(
    r: _Reader, doc: _Node, rule_ids: set[str], zone_names: set[str]
) -> tuple[Waiver, ...]:
    waivers: list[Waiver] = []
    for index, (line, raw) in enumerate(r.items(doc, "waivers")):
        where = f"waivers[{index}]"
        node = r.mapping(raw, where, _WAIVER, line)
        rule = r.text(node, "rule", where)
        assert rule is not None
        if rule != "*" and rule not in rule_ids:
            raise r.error(node.lines["rule"], f"{where}.rule", f"no rule {rule!r} in this policy")
        expires = node.get("expires")
        if not isinstance(expires, dt.date):
            raise r.error(
                node.lines.get("expires", node.line),
                f"{where}.expires",
                f"needs a date like 2027-03-31, got {expires!r}",
            )
        devices: list[str] = []
        for i, (device_line, device) in enumerate(r.items(node, "devices")):
            try:
                ipaddress.ip_network(str(device), strict=False)
            except ValueError as e:
                raise r.error(
                    device_line, f"{where}.devices[{i}]", f"{device!r} is not an address or network"
                ) from e
            devices.append(str(device))
        zone = r.text(node, "zone", where, False)
        if zone is not None and zone not in zone_names:
            raise r.error(node.lines["zone"], f"{where}.zone", f"no zone {zone!r} in this policy")
        maker = r.text(node, "maker", where, False)
        if not (devices or zone or maker):
            raise r.error(node.line, where, "must name devices, a zone or a maker")
        waivers.append(
            Waiver(
                rule,
                r.text(node, "reason", where) or "",
                r.text(node, "approver", where) or "",
                expires,
                tuple(devices),
                zone,
                maker,
            )
        )
    return tuple(waivers)


def _unit_costs(r: _Reader, doc: _Node) -> dict[str, float]:
    raw = doc.get("unit_costs")
    if raw is None:
        return {}
    if not isinstance(raw, _Node):
        raise r.error(doc.lines["unit_costs"], "unit_costs", "must map device types to costs")
    costs: dict[str, float] = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise r.error(
                raw.lines[key], f"unit_costs.{key}", f"must be a number >= 0, got {value!r}"
            )
        costs[key] = float(value)
    return costs


def _internal(r: _Reader, doc: _Node) -> tuple[Network, ...]:
    if "internal" not in doc:
        return tuple(ipaddress.ip_network(n) for n in DEFAULT_INTERNAL)
    networks: list[Network] = []
    for i, (line, cidr) in enumerate(r.items(doc, "internal")):
        try:
            networks.append(ipaddress.ip_network(str(cidr), strict=False))
        except ValueError as e:
            raise r.error(line, f"internal[{i}]", f"{cidr!r} is not a network") from e
    return tuple(networks)


def _watch(r: _Reader, doc: _Node) -> dict[str, object]:
    raw = doc.get("watch")
    if raw is None:
        return {}
    node = r.mapping(raw, "watch", _WATCH, doc.lines["watch"])
    for key, value in node.items():
        line = node.lines[key]
        if key in _WATCH_LISTS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise r.error(line, f"watch.{key}", "must be a list of text")
        elif key == "digest":
            if not isinstance(value, bool):
                raise r.error(line, "watch.digest", f"must be true or false, got {value!r}")
        elif not isinstance(value, str):
            raise r.error(line, f"watch.{key}", f"must be text, got {value!r}")
    if "every" in node:
        from coverwatch.durations import parse_duration
        from coverwatch.errors import InputError

        try:
            parse_duration(str(node["every"]))
        except InputError as e:
            raise r.error(node.lines["every"], "watch.every", str(e)) from e
    return _plain(node)  # type: ignore[no-any-return]


def parse_policy(text: str, label: str) -> Policy:
    """Validate a policy document; raises PolicyError naming file, line and field."""
    r = _Reader(label)
    try:
        doc = yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else 0
        raise r.error(line, "yaml", str(e.problem or e).splitlines()[0]) from e
    except yaml.YAMLError as e:
        raise r.error(0, "yaml", str(e).splitlines()[0]) from e
    if doc is None:
        doc = _Node()
        doc.lines = {}
        doc.line = 1
    doc = r.mapping(doc, "", _TOP, 1)
    zones = _zones(r, doc)
    rules = _rules(r, doc)
    waivers = _waivers(r, doc, {rule.id for rule in rules}, {z.name for z in zones})
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    declared = r.text(doc, "version", "", False) or "unversioned"
    return Policy(
        r.text(doc, "name", "", False) or Path(label).stem,
        f"{declared}+{digest}",
        label,
        zones,
        rules,
        waivers,
        _unit_costs(r, doc),
        _internal(r, doc),
        _watch(r, doc),
    )


def _default_text() -> str:
    return (resources.files("coverwatch.policy") / "default.yaml").read_text(encoding="utf-8")


@cache
def _default_rules() -> tuple[RuleConfig, ...]:
    return parse_policy(_default_text(), DEFAULT_POLICY).rules


def load_policy(path: str | None) -> Policy:
    """The policy in ``path``, or the shipped default. Rules missing from a file are the
    default rules, so a site policy can just add zones and waivers."""
    load_knowledge()  # fail early on a broken knowledge base, not in the middle of an audit
    if path is None:
        return parse_policy(_default_text(), DEFAULT_POLICY)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyError(f"{path}: cannot read policy: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise PolicyError(f"{path}: not UTF-8 text") from e
    return parse_policy(text, path)

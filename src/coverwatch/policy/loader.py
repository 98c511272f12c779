"""Reading a policy file: YAML with line numbers, validated field by field.

Every error names the file, the line and the field, and the bad value, e.g.
``site.yaml:12: zones[1].cidrs[0]: '10.0.0.0/33' is not a network``.

A policy may come from anyone (``POST /api/v1/policy/check`` takes one from any viewer), so
reading it is bounded: file size, nesting depth, scalar length, aliases and the number of nodes
the document stands for once aliases are expanded (a "billion laughs" alias bomb is refused
while composing, before anything is built), and optionally a deadline.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from itertools import chain
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from coverwatch.identify.knowledge import load_knowledge
from coverwatch.policy.interface import PolicyError
from coverwatch.policy.model import Network, Policy, RuleConfig, Severity, Waiver, Zone

DEFAULT_POLICY = "<default>"
MAX_POLICY_BYTES = 2 * 1024 * 1024
"""Larger policy files are refused unread (the shipped policy is 7 KB)."""
MAX_DEPTH = 32
"""Deepest nesting of mappings and lists (a policy needs 5)."""
MAX_NODES = 500_000
"""Most YAML nodes a document may stand for, counting each alias as the nodes it repeats."""
MAX_ALIASES = 10_000
"""Most aliases (``*name``) in one document."""
MAX_SCALAR = 10_000
"""Longest single value, in characters."""

_TOP = {
    "name",
    "version",
    "zones",
    "rules",
    "waivers",
    "unit_costs",
    "internal",
    "watch",
    "currency",
}
_WATCH = {
    "targets",
    "site",
    "every",
    "digest",
    "webhook",
    "webhook_format",
    "webhook_headers",
    "syslog",
    "syslog_format",
    "email",
    "smtp",
    "smtp_security",
    "smtp_user",
    "tls_ca",
    "from",
}
_WATCH_LISTS = {"targets", "webhook", "webhook_headers", "syslog", "email"}
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


class _Refused(Exception):
    """A value or document over a bound, or a value YAML cannot build (line, field, why)."""

    def __init__(self, line: int, path: list[str], message: str) -> None:
        super().__init__(message)
        self.line = line
        self.path = path
        self.message = message

    @property
    def where(self) -> str:
        """The dotted field, e.g. ``waivers[0].expires`` (``yaml`` for the whole document)."""
        path = [p for p in self.path if p]
        parts = [p if p.startswith("[") else f".{p}" for p in path[:8]]
        return ("".join(parts).lstrip(".") + ("..." if len(path) > 8 else "")) or "yaml"


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that keeps line numbers on mappings and sequences, and refuses documents
    over the bounds while composing (before any value is built)."""

    deadline: float | None = None

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[str] = []
        self._size: dict[int, int] = {}
        self._aliases = 0
        self._composed = 0

    def _refuse(self, node_or_mark: Any, message: str) -> _Refused:
        mark = getattr(node_or_mark, "start_mark", node_or_mark)
        return _Refused(mark.line + 1 if mark else 0, list(self._path), message)

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        """Compose one node, tracking its field path and what it expands to."""
        if isinstance(parent, SequenceNode):
            self._path.append(f"[{index}]")
        elif isinstance(parent, MappingNode) and isinstance(index, ScalarNode):
            self._path.append(str(index.value)[:100])
        else:
            self._path.append("")
        try:
            return self._compose_bounded(parent, index)
        finally:
            self._path.pop()

    def _late(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def _compose_bounded(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if len(self._path) > MAX_DEPTH + 1:
            raise self._refuse(event.start_mark, f"nested deeper than {MAX_DEPTH}")
        alias = isinstance(event, yaml.AliasEvent)
        if alias:
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise self._refuse(event.start_mark, f"more than {MAX_ALIASES} aliases")
        node = super().compose_node(parent, index)
        if node is None:  # NOTE: only at the end of the stream, never inside a document
            raise self._refuse(event.start_mark, "no value")
        if alias:
            if id(node) not in self._size:
                raise self._refuse(node, "an alias to itself (a recursive value)")
            size = self._size[id(node)]
        elif isinstance(node, ScalarNode):
            if len(node.value) > MAX_SCALAR:
                raise self._refuse(node, f"a value of over {MAX_SCALAR} characters")
            size = 1
        else:
            children = node.value if isinstance(node, SequenceNode) else chain(*node.value)
            size = 1 + sum(self._size[id(child)] for child in children)
        if size > MAX_NODES:
            why = " (aliases repeat values: an alias bomb?)" if self._aliases else ""
            raise self._refuse(node, f"stands for over {MAX_NODES} values{why}")
        self._size[id(node)] = size
        self._composed += 1
        if self._composed % 512 == 0 and self._late():
            raise self._refuse(node, "took too long to read")
        return node


#: What a YAML tag's values are called in errors.
_KINDS = {"timestamp": "date", "int": "integer", "float": "number"}


def _construct(loader: _LineLoader, node: Node, segment: str) -> Any:
    """Build one child value; a value YAML cannot build (2026-02-30, an int of 5000 digits)
    becomes a _Refused naming its field."""
    try:
        return loader.construct_object(node, deep=True)
    except _Refused as e:
        if segment:
            e.path.insert(0, segment)
        raise
    except (ValueError, OverflowError) as e:
        kind = _KINDS.get(node.tag.rsplit(":", 1)[-1], "value")
        shown = repr(node.value[:40]) if isinstance(node, ScalarNode) else "this value"
        reason = str(e).split(";")[0]
        message = f"{shown} is not a valid {kind} ({reason})"
        raise _Refused(node.start_mark.line + 1, [segment] if segment else [], message) from e


def _mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Node:
    result = _Node()
    result.line = node.start_mark.line + 1
    result.lines = {}
    for key_node, value_node in node.value:
        key = str(_construct(loader, key_node, ""))
        result[key] = _construct(loader, value_node, key)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _List:
    result = _List(_construct(loader, child, f"[{i}]") for i, child in enumerate(node.value))
    result.line = node.start_mark.line + 1
    result.lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def _load_yaml(text: str, r: _Reader, deadline: float | None) -> Any:
    """The document, bounded; every YAML problem is a PolicyError naming line and field."""
    loader: _LineLoader | None = None
    try:
        loader = _LineLoader(text)  # NOTE: reads the stream head: may raise a ReaderError
        loader.deadline = deadline
        return loader.get_single_data()
    except _Refused as e:
        raise r.error(e.line, e.where, e.message) from None
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else 0
        raise r.error(line, "yaml", str(e.problem or e).splitlines()[0]) from e
    except yaml.YAMLError as e:
        raise r.error(0, "yaml", str(e).splitlines()[0]) from e
    except RecursionError as e:  # NOTE: belt and braces; MAX_DEPTH stops nesting long before
        raise r.error(0, "yaml", f"nested deeper than {MAX_DEPTH}") from e
    finally:
        if loader is not None:
            loader.dispose()


class _Reader:
    """Validation helpers that know the file name."""

    def __init__(self, label: str, deadline: float | None = None) -> None:
        self.label = label
        self.deadline = deadline
        self.problems: list[PolicyError] = []
        """Problems found so far; checking goes on to the next item after each."""
        self.expired = False

    @contextmanager
    def gather(self) -> Iterator[None]:
        """Record a problem in the block and go on after it, so one run reports every
        invalid zone, rule and waiver (not past the deadline: that stops the check)."""
        try:
            yield
        except PolicyError as e:
            if self.expired:
                raise
            self.problems.append(e)

    def verdict(self) -> None:
        """Raise the problems found, if any, as one PolicyError."""
        if not self.problems:
            return
        first = str(self.problems[0])
        more = len(self.problems) - 1
        message = f"{first} (and {more} more: see coverwatch policy check)" if more else first
        raise PolicyError(message, tuple(str(p) for p in self.problems))

    def error(self, line: int, where: str, message: str) -> PolicyError:
        # NOTE: a field path is made of the file's own keys, which may hold line breaks or
        # control characters; the error stays one line with those escaped.
        text = f"{self.label}:{line}: {where}: {message}"
        return PolicyError("".join(c if c.isprintable() else repr(c)[1:-1] for c in text))

    def tick(self, line: int, where: str) -> None:
        """Give up once past the deadline (a policy checked for someone else, in time)."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.expired = True
            raise self.error(line, where, "took too long to check")

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
            raise self.error(
                node.lines[key], f"{where}.{key}", f"must be text, got {_shown(value)}"
            )
        return str(value)

    def flag(self, node: _Node, key: str, where: str) -> bool:
        value = node.get(key, False)
        if not isinstance(value, bool):
            raise self.error(
                node.lines[key], f"{where}.{key}", f"must be true or false, got {_shown(value)}"
            )
        return value


def _zones(r: _Reader, doc: _Node) -> tuple[Zone, ...]:
    zones: list[Zone] = []
    seen: dict[str, int] = {}
    for index, (line, raw) in enumerate(r.items(doc, "zones")):
        with r.gather():
            _zone(r, raw, line, index, seen, zones)
    _check_overlaps(r, doc, zones)
    return tuple(zones)


def _zone(
    r: _Reader, raw: Any, line: int, index: int, seen: dict[str, int], zones: list[Zone]
) -> None:
    r.tick(line, f"zones[{index}]")
    where = f"zones[{index}]"
    node = r.mapping(raw, where, _ZONE, line)
    name = r.text(node, "name", where)
    assert name is not None
    if name in seen:
        raise r.error(node.lines["name"], f"{where}.name", f"zone {_shown(name)} is defined twice")
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
            raise r.error(
                cidr_line, f"{where}.cidrs[{i}]", f"{_shown(cidr)} is not a network"
            ) from e
    zones.append(
        Zone(
            name,
            tuple(networks),
            r.flag(node, "sensitive", where),
            r.flag(node, "core", where),
            r.text(node, "site", where, False),
        )
    )


def _check_overlaps(r: _Reader, doc: _Node, zones: list[Zone]) -> None:
    """Refuse zones that share addresses (unless bound to different sites).

    Two CIDR blocks are either disjoint or one contains the other, so one pass over the
    blocks sorted by start address, keeping the chain of blocks that contain the current one
    (at most 129 deep), finds every overlap in O(n log n): thousands of zones stay instant.
    """
    lines = [line for line, _ in r.items(doc, "zones")]
    blocks = sorted(
        (net.version, int(net.network_address), net.prefixlen, zi, ni, net)
        for zi, zone in enumerate(zones)
        for ni, net in enumerate(zone.networks)
    )
    chain: list[tuple[int, Network]] = []
    for _, _, _, zi, _, net in blocks:
        while chain and not (chain[-1][1].version == net.version and chain[-1][1].overlaps(net)):
            chain.pop()
        if chain and chain[-1] == (zi, net):
            continue  # the same block twice in one zone: harmless, and must not grow the chain
        for zj, outer in chain:
            i, j = min(zi, zj), max(zi, zj)
            sites = zones[i].site, zones[j].site
            if zi != zj and not (sites[0] and sites[1] and sites[0] != sites[1]):
                a, b = (outer, net) if zj < zi else (net, outer)
                raise r.error(
                    lines[j],
                    f"zones[{j}].cidrs",
                    f"{b} overlaps {a} of zone {_shown(zones[i].name)}: a device must "
                    "belong to one zone",
                )
        chain.append((zi, net))


def _rules(r: _Reader, doc: _Node) -> tuple[RuleConfig, ...]:
    from coverwatch.policy.rules import RULES, RuleKind

    if "rules" not in doc:
        return _default_rules()
    rules: list[RuleConfig] = []
    ids: set[str] = set()
    kinds = {k.value for k in RuleKind}
    for index, (line, raw) in enumerate(r.items(doc, "rules")):
        with r.gather():
            r.tick(line, f"rules[{index}]")
            where = f"rules[{index}]"
            node = r.mapping(raw, where, _RULE, line)
            rule_id = r.text(node, "id", where)
            kind = r.text(node, "kind", where)
            assert rule_id is not None and kind is not None
            if rule_id in ids:
                raise r.error(
                    node.lines["id"], f"{where}.id", f"rule {_shown(rule_id)} is defined twice"
                )
            ids.add(rule_id)
            if kind not in kinds:
                raise r.error(
                    node.lines["kind"],
                    f"{where}.kind",
                    f"unknown rule kind {_shown(kind)} (one of {', '.join(sorted(kinds))})",
                )
            severity_text = r.text(node, "severity", where)
            try:
                severity = Severity(severity_text)
            except ValueError as e:
                raise r.error(
                    node.lines["severity"],
                    f"{where}.severity",
                    f"unknown severity {_shown(severity_text)} (one of "
                    f"{', '.join(s.value for s in Severity)})",
                ) from e
            options = _options(r, node, where, RULES[RuleKind(kind)].OPTIONS, kind)
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
                    options,
                )
            )
    return tuple(rules)


def _options(
    r: _Reader, node: _Node, where: str, allowed: frozenset[str], kind: str
) -> dict[str, object]:
    """A rule's options, each checked against its kind's declared spec (rules/options.py)."""
    from coverwatch.policy.rules.options import OptionProblem, Options

    raw = node.get("options")
    if raw is None:
        return {}
    if not isinstance(raw, _Node):
        raise r.error(node.lines["options"], f"{where}.options", "must be a mapping")
    checked: dict[str, object] = {}
    for key, value in raw.items():
        field = f"{where}.options.{key}"
        if key not in allowed:
            raise r.error(
                raw.lines[key],
                field,
                f"unknown option for {kind} (expected one of "
                f"{', '.join(sorted(allowed)) or 'none'})",
            )
        if not isinstance(allowed, Options):  # NOTE: a kind that declares names only
            checked[key] = _plain(value)
            continue
        try:
            checked[key] = allowed.specs[key].check(_plain(value))
        except OptionProblem as e:
            line, at = raw.lines[key], ""
            if e.at is not None:
                at = f"[{e.at}]" if isinstance(e.at, int) else f".{e.at}"
                lines = getattr(value, "lines", None)
                if isinstance(lines, dict) and str(e.at) in lines:
                    line = lines[str(e.at)]
                elif isinstance(lines, list) and isinstance(e.at, int) and e.at < len(lines):
                    line = lines[e.at]
            raise r.error(line, field + at, str(e)) from None
    return checked


def _waivers(
    r: _Reader, doc: _Node, rule_ids: set[str], zone_names: set[str]
) -> tuple[Waiver, ...]:
    waivers: list[Waiver] = []
    for index, (line, raw) in enumerate(r.items(doc, "waivers")):
        with r.gather():
            r.tick(line, f"waivers[{index}]")
            where = f"waivers[{index}]"
            node = r.mapping(raw, where, _WAIVER, line)
            rule = r.text(node, "rule", where)
            assert rule is not None
            if rule != "*" and rule not in rule_ids:
                raise r.error(
                    node.lines["rule"], f"{where}.rule", f"no rule {_shown(rule)} in this policy"
                )
            expires = node.get("expires")
            # NOTE: YAML reads `2027-03-31 10:00` as a datetime, which does not compare with a date.
            if not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
                raise r.error(
                    node.lines.get("expires", node.line),
                    f"{where}.expires",
                    f"needs a date like 2027-03-31, got {_shown(expires)}",
                )
            devices: list[str] = []
            for i, (device_line, device) in enumerate(r.items(node, "devices")):
                try:
                    ipaddress.ip_network(str(device), strict=False)
                except ValueError as e:
                    raise r.error(
                        device_line,
                        f"{where}.devices[{i}]",
                        f"{_shown(device)} is not an address or network",
                    ) from e
                devices.append(str(device))
            zone = r.text(node, "zone", where, False)
            if zone is not None and zone not in zone_names:
                raise r.error(
                    node.lines["zone"], f"{where}.zone", f"no zone {_shown(zone)} in this policy"
                )
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


def _finite(value: Any) -> float | None:
    """A YAML number as a finite float; None for anything else (text, NaN, .inf, 1e400)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _shown(value: Any) -> str:
    """A bad value for an error message: repr, cut to one short line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unit_costs(r: _Reader, doc: _Node) -> dict[str, float]:
    raw = doc.get("unit_costs")
    if raw is None:
        return {}
    if not isinstance(raw, _Node):
        raise r.error(doc.lines["unit_costs"], "unit_costs", "must map device types to costs")
    costs: dict[str, float] = {}
    for key, value in raw.items():
        cost = _finite(value)
        if cost is None or cost < 0:
            raise r.error(
                raw.lines[key], f"unit_costs.{key}", f"must be a number >= 0, got {_shown(value)}"
            )
        costs[key] = cost
    return costs


def _currency(r: _Reader, doc: _Node) -> str | None:
    """The ISO 4217 code the unit costs are in (``GBP``, ``EUR``, ``USD``)."""
    text = r.text(doc, "currency", "", False)
    if text is not None and not (len(text) == 3 and text.isascii() and text.isupper()):
        raise r.error(
            doc.lines["currency"],
            "currency",
            f"must be an ISO 4217 code like GBP, got {_shown(text)}",
        )
    return text


def _internal(r: _Reader, doc: _Node) -> tuple[Network, ...]:
    if "internal" not in doc:
        return tuple(ipaddress.ip_network(n) for n in DEFAULT_INTERNAL)
    networks: list[Network] = []
    for i, (line, cidr) in enumerate(r.items(doc, "internal")):
        r.tick(line, f"internal[{i}]")
        try:
            networks.append(ipaddress.ip_network(str(cidr), strict=False))
        except ValueError as e:
            raise r.error(line, f"internal[{i}]", f"{_shown(cidr)} is not a network") from e
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
                raise r.error(line, "watch.digest", f"must be true or false, got {_shown(value)}")
        elif not isinstance(value, str):
            raise r.error(line, f"watch.{key}", f"must be text, got {_shown(value)}")
    if "every" in node:
        from coverwatch.durations import parse_duration
        from coverwatch.errors import InputError

        try:
            parse_duration(str(node["every"]))
        except InputError as e:
            raise r.error(node.lines["every"], "watch.every", str(e)) from e
    return _plain(node)  # type: ignore[no-any-return]


def parse_policy(text: str, label: str, deadline: float | None = None) -> Policy:
    """Validate a policy document; raises PolicyError naming file, line and field.

    ``deadline`` (a ``time.monotonic()`` value): give up with a PolicyError after it."""
    r = _Reader(label, deadline)
    doc = _load_yaml(text, r, deadline)
    if doc is None:
        doc = _Node()
        doc.lines = {}
        doc.line = 1
    with r.gather():
        r.mapping(doc, "", _TOP, 1)
    if not isinstance(doc, _Node):
        r.verdict()
    zones: tuple[Zone, ...] = ()
    rules: tuple[RuleConfig, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    costs: dict[str, float] = {}
    internal: tuple[Network, ...] = ()
    watch: dict[str, object] = {}
    name = declared = None
    with r.gather():
        zones = _zones(r, doc)
    with r.gather():
        rules = _rules(r, doc)
    with r.gather():
        waivers = _waivers(r, doc, {rule.id for rule in rules}, {z.name for z in zones})
    with r.gather():
        costs = _unit_costs(r, doc)
    currency = None
    with r.gather():
        currency = _currency(r, doc)
    with r.gather():
        internal = _internal(r, doc)
    with r.gather():
        watch = _watch(r, doc)
    with r.gather():
        name = r.text(doc, "name", "", False)
    with r.gather():
        declared = r.text(doc, "version", "", False)
    r.verdict()
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Policy(
        name or Path(label).stem,
        f"{declared or 'unversioned'}+{digest}",
        label,
        zones,
        rules,
        waivers,
        costs,
        currency,
        internal,
        watch,
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
        with Path(path).open("rb") as file:
            raw = file.read(MAX_POLICY_BYTES + 1)  # bounded: /dev/zero is a "file" too
    except OSError as e:
        raise PolicyError(f"{path}: cannot read policy: {e.strerror or e}") from e
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(f"{path}: over {MAX_POLICY_BYTES // 1024 // 1024} MB: not a policy")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PolicyError(f"{path}: not UTF-8 text (byte {e.start})") from e
    # Universal newlines, as Path.read_text gave (the policy version hashes the text).
    return parse_policy(text.replace("\r\n", "\n").replace("\r", "\n"), path)

"""Loading and validating the knowledge base (``coverwatch/knowledge``, see FORMAT.md there).

Every entry is checked on load; a bad one stops start-up with its file, entry and field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import yaml

from coverwatch.errors import KnowledgeError
from coverwatch.models import DeviceType
from coverwatch.signals import is_known

#: libyaml's parser when PyYAML was built with it (several times faster), else pure Python.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_FP_KEYS = {
    "id",
    "signals",
    "pattern",
    "maker",
    "brand",
    "component",
    "device_type",
    "weight",
    "source",
    "note",
}


@dataclass(frozen=True)
class Fingerprint:
    """A pattern over one or more signals and what a match says about the device."""

    id: str
    signals: tuple[str, ...]
    pattern: re.Pattern[str]
    maker: str | None
    brand: str | None
    device_type: DeviceType | None
    weight: float
    source: str
    component: str | None = None
    """Maker of a component (system-on-chip) the match points to, not the device's maker."""


@dataclass(frozen=True)
class OuiAlias:
    """Maps an IEEE registry organisation name to a maker and/or brand."""

    pattern: re.Pattern[str]
    maker: str | None
    brand: str | None
    weight: float
    source: str


@dataclass(frozen=True)
class OemBrand:
    """A brand sold on another maker's firmware (white label) or a maker's sub-brand."""

    brand: str
    aliases: tuple[str, ...]
    makers: tuple[str, ...]
    weight: float
    source: str
    white_label: bool
    """True for another company's brand on the maker's firmware; False for an owned sub-brand."""


@dataclass(frozen=True)
class CoveredEntity:
    """An entity on the FCC Covered List / NDAA 889, with the brands it owns."""

    name: str
    maker: str
    brands: tuple[str, ...]
    applies_to: frozenset[DeviceType]
    lists: tuple[str, ...]
    source: str
    components: tuple[str, ...] = ()
    """Component makers owned by the entity (HiSilicon for Huawei): evidence of their chips
    makes a device "covered component suspected", not covered."""


@dataclass(frozen=True)
class FirmwareDate:
    """How to read a build date out of one maker's firmware version strings."""

    maker: str
    pattern: re.Pattern[str]
    source: str

    def build_date(self, firmware: str) -> date | None:
        """The build date in ``firmware``, or None when it has none (or an impossible one)."""
        match = self.pattern.search(firmware)
        if match is None:
            return None
        parts = match.groupdict()
        year = int(parts["yyyy"]) if parts.get("yyyy") else 2000 + int(parts["yy"])
        try:
            return date(year, int(parts["mm"]), int(parts["dd"]))
        except ValueError:
            return None


@dataclass(frozen=True)
class Cve:
    """A vulnerability detectable from the firmware version a device reports."""

    id: str
    maker: str
    severity: str
    cvss: float
    kev: bool
    summary: str
    device_types: frozenset[DeviceType]
    models: re.Pattern[str] | None
    built_before: date
    built_after: date | None
    fixed_in: str
    source: str


@dataclass(frozen=True)
class MakerInfo:
    """Where a maker is headquartered (for the UK 2022 direction)."""

    name: str
    legal_name: str
    headquarters: str | None
    prc_national_intelligence_law: bool
    source: str
    aliases: tuple[str, ...] = ()
    """Other names the maker is known by (former names, trading names)."""
    default_type: DeviceType | None = None
    """What a device is when the maker's own firmware is seen but nothing says the type
    (a maker that only makes cameras and recorders: camera)."""


@dataclass(frozen=True)
class Knowledge:
    """The whole knowledge base, indexed for look-up by signal."""

    fingerprints: tuple[Fingerprint, ...]
    oui: tuple[OuiAlias, ...]
    oem: tuple[OemBrand, ...]
    covered: tuple[CoveredEntity, ...]
    _by_signal: dict[str, tuple[Fingerprint, ...]] = field(default_factory=dict, repr=False)
    _wildcards: tuple[tuple[str, Fingerprint], ...] = ()
    cves: tuple[Cve, ...] = ()
    firmware_dates: tuple[FirmwareDate, ...] = ()
    makers: tuple[MakerInfo, ...] = ()

    @classmethod
    def build(
        cls,
        fingerprints: Iterable[Fingerprint],
        oui: Iterable[OuiAlias],
        oem: Iterable[OemBrand],
        covered: Iterable[CoveredEntity],
        cves: Iterable[Cve] = (),
        firmware_dates: Iterable[FirmwareDate] = (),
        makers: Iterable[MakerInfo] = (),
    ) -> Knowledge:
        """Index fingerprints by exact signal key and by ``prefix.*`` wildcard."""
        fps = tuple(fingerprints)
        exact: dict[str, list[Fingerprint]] = {}
        wild: list[tuple[str, Fingerprint]] = []
        for fp in fps:
            for signal in fp.signals:
                if signal.endswith(".*"):
                    wild.append((signal[:-1], fp))
                else:
                    exact.setdefault(signal, []).append(fp)
        return cls(
            fps,
            tuple(oui),
            tuple(oem),
            tuple(covered),
            {k: tuple(v) for k, v in exact.items()},
            tuple(wild),
            tuple(cves),
            tuple(firmware_dates),
            tuple(makers),
        )

    def for_signal(self, signal: str) -> tuple[Fingerprint, ...]:
        """Fingerprints that apply to ``signal``."""
        found = self._by_signal.get(signal, ())
        wild = tuple(fp for prefix, fp in self._wildcards if signal.startswith(prefix))
        return found + wild if wild else found

    def oem_brand(self, brand: str) -> OemBrand | None:
        """The OEM entry for ``brand`` (by name or alias, case-insensitive)."""
        folded = brand.casefold()
        for entry in self.oem:
            if folded == entry.brand.casefold() or folded in (a.casefold() for a in entry.aliases):
                return entry
        return None

    def resolve_brand(self, name: str) -> tuple[str | None, str | None]:
        """``(maker, brand)`` a free-text brand name stands for (an asset register's "Make").

        A maker's own name (or legal name) is a maker claim and that maker's brand; a known
        white-label or sub-brand is a brand claim whose makers ``oem.yaml`` supplies; any other
        name stays a brand claim as written (say "Honeywell"), which firmware evidence may
        contradict.
        """
        folded = " ".join(name.split()).casefold()
        if not folded:
            return None, None
        makers = {m.name for m in self.makers} | {f.maker for f in self.fingerprints if f.maker}
        for maker in sorted(makers):
            info = self.maker_info(maker)
            legal = info.legal_name.casefold() if info else ""
            if folded == maker.casefold() or (legal and folded == legal):
                return maker, maker
        entry = self.oem_brand(folded)
        if entry is not None:
            return None, entry.brand
        return None, " ".join(name.split())[:64]

    def is_rebrand(self, maker: str | None, brand: str | None) -> bool:
        """True when ``brand`` is a white label on ``maker``'s firmware (not an owned sub-brand)."""
        if not maker or not brand or brand == maker:
            return False
        entry = self.oem_brand(brand)
        return entry is None or entry.white_label

    def maker_info(self, maker: str | None) -> MakerInfo | None:
        """Headquarters facts for ``maker``."""
        return next((m for m in self.makers if m.name == maker), None)

    def build_date(self, maker: str | None, firmware: str | None) -> date | None:
        """The build date in a firmware string, read the way ``maker`` writes it."""
        if not firmware:
            return None
        for entry in self.firmware_dates:
            if entry.maker == maker:
                found = entry.build_date(firmware)
                if found:
                    return found
        return None

    def covered_entity(self, maker: str | None, brand: str | None) -> CoveredEntity | None:
        """The covered entity that made a device of this maker (or owns this brand)."""
        for entity in self.covered:
            if maker == entity.maker or (brand is not None and brand in entity.brands):
                return entity
        return None


def _err(file: str, where: str, message: str) -> KnowledgeError:
    return KnowledgeError(f"knowledge {file}: {where}: {message}")


def _regex(file: str, where: str, raw: Any) -> re.Pattern[str]:
    if not isinstance(raw, str) or not raw:
        raise _err(file, where, "needs a non-empty regex string")
    try:
        return re.compile(raw, re.IGNORECASE)
    except re.error as e:
        raise _err(file, where, f"bad regex {raw!r}: {e}") from e


def _weight(file: str, where: str, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= 1:
        raise _err(file, f"{where}.weight", f"must be a number in (0, 1], got {raw!r}")
    return float(raw)


def _source(file: str, where: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _err(file, f"{where}.source", "every entry must name its public source")
    return raw.strip()


def _device_type(file: str, where: str, raw: Any, field: str = "device_type") -> DeviceType | None:
    if raw is None:
        return None
    try:
        return DeviceType(raw)
    except ValueError as e:
        raise _err(file, f"{where}.{field}", f"unknown device type {raw!r}") from e


def _check_keys(file: str, where: str, raw: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(raw) - allowed
    if unknown:
        raise _err(file, where, f"unknown key(s) {', '.join(sorted(unknown))}")


def parse_fingerprints(file: str, data: Any) -> list[Fingerprint]:
    """Validate one ``fingerprints/*.yaml`` document."""
    if not isinstance(data, dict) or not isinstance(data.get("fingerprints"), list):
        raise _err(file, "top level", "needs a 'fingerprints' list")
    result = []
    for index, raw in enumerate(data["fingerprints"]):
        where = f"fingerprints[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise _err(file, where, "needs a string 'id'")
        where = f"{where} ({raw['id']})"
        _check_keys(file, where, raw, _FP_KEYS)
        signals = raw.get("signals")
        if isinstance(signals, str):
            signals = [signals]
        if (
            not isinstance(signals, list)
            or not signals
            or not all(isinstance(s, str) for s in signals)
        ):
            raise _err(file, f"{where}.signals", "must be a list of signal keys")
        unknown = [s for s in signals if not is_known(s)]
        if unknown:
            raise _err(
                file,
                f"{where}.signals",
                f"unknown signal(s) {', '.join(unknown)} (see coverwatch/signals.py)",
            )
        pattern = _regex(file, f"{where}.pattern", raw.get("pattern"))
        device_type = _device_type(file, where, raw.get("device_type"))
        if not (
            raw.get("maker")
            or raw.get("brand")
            or raw.get("component")
            or device_type
            or {"model", "firmware", "brand"} & set(pattern.groupindex)
        ):
            raise _err(file, where, "claims nothing (no maker, brand, device_type or group)")
        result.append(
            Fingerprint(
                raw["id"],
                tuple(signals),
                pattern,
                raw.get("maker"),
                raw.get("brand"),
                device_type,
                _weight(file, where, raw.get("weight")),
                _source(file, where, raw.get("source")),
                raw.get("component"),
            )
        )
    return result


def parse_oui(file: str, data: Any) -> list[OuiAlias]:
    """Validate ``oui.yaml``."""
    entries = data.get("orgs") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise _err(file, "top level", "needs an 'orgs' list")
    result = []
    for index, raw in enumerate(entries):
        where = f"orgs[{index}]"
        if not isinstance(raw, dict) or not (raw.get("maker") or raw.get("brand")):
            raise _err(file, where, "needs a maker or a brand")
        _check_keys(file, where, raw, {"pattern", "maker", "brand", "weight", "source"})
        result.append(
            OuiAlias(
                _regex(file, f"{where}.pattern", raw.get("pattern")),
                raw.get("maker"),
                raw.get("brand"),
                _weight(file, where, raw.get("weight")),
                _source(file, where, raw.get("source")),
            )
        )
    return result


def parse_oem(file: str, data: Any) -> list[OemBrand]:
    """Validate ``oem.yaml``."""
    entries = data.get("brands") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise _err(file, "top level", "needs a 'brands' list")
    result = []
    for index, raw in enumerate(entries):
        where = f"brands[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("brand"), str):
            raise _err(file, where, "needs a string 'brand'")
        _check_keys(
            file, where, raw, {"brand", "aliases", "relation", "makers", "weight", "source"}
        )
        makers = raw.get("makers")
        if not isinstance(makers, list) or not makers:
            raise _err(file, f"{where}.makers", "needs a non-empty list of makers")
        relation = raw.get("relation")
        if relation not in ("sub-brand", "white-label"):
            raise _err(
                file, f"{where}.relation", f"must be sub-brand or white-label, got {relation!r}"
            )
        result.append(
            OemBrand(
                raw["brand"],
                tuple(raw.get("aliases") or ()),
                tuple(makers),
                _weight(file, where, raw.get("weight")),
                _source(file, where, raw.get("source")),
                relation == "white-label",
            )
        )
    return result


def parse_covered(file: str, data: Any) -> list[CoveredEntity]:
    """Validate ``covered.yaml``."""
    entries = data.get("entities") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise _err(file, "top level", "needs an 'entities' list")
    result = []
    for index, raw in enumerate(entries):
        where = f"entities[{index}]"
        if (
            not isinstance(raw, dict)
            or not isinstance(raw.get("name"), str)
            or not isinstance(raw.get("maker"), str)
        ):
            raise _err(file, where, "needs string 'name' and 'maker'")
        _check_keys(
            file,
            where,
            raw,
            {"name", "maker", "brands", "applies_to", "lists", "source", "components"},
        )
        applies = frozenset(
            t
            for t in (
                _device_type(file, where, v, "applies_to") for v in raw.get("applies_to") or ()
            )
            if t
        )
        result.append(
            CoveredEntity(
                raw["name"],
                raw["maker"],
                tuple(raw.get("brands") or ()),
                applies,
                tuple(raw.get("lists") or ()),
                _source(file, where, raw.get("source")),
                tuple(raw.get("components") or ()),
            )
        )
    return result


def _date(file: str, where: str, raw: Any, required: bool = True) -> date | None:
    if raw is None and not required:
        return None
    if not isinstance(raw, date):
        raise _err(file, where, f"needs a date like 2021-06-28, got {raw!r}")
    return raw


def parse_cves(file: str, data: Any) -> tuple[list[Cve], list[FirmwareDate]]:
    """Validate ``cves.yaml``: firmware build-date formats and version-detectable CVEs."""
    if not isinstance(data, dict) or not isinstance(data.get("cves"), list):
        raise _err(file, "top level", "needs a 'cves' list")
    dates = []
    for index, raw in enumerate(data.get("firmware_dates") or []):
        where = f"firmware_dates[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("maker"), str):
            raise _err(file, where, "needs a string 'maker'")
        _check_keys(file, where, raw, {"maker", "pattern", "source", "note"})
        pattern = _regex(file, f"{where}.pattern", raw.get("pattern"))
        if not {"mm", "dd"} <= set(pattern.groupindex) or not (
            {"yy", "yyyy"} & set(pattern.groupindex)
        ):
            raise _err(file, f"{where}.pattern", "needs groups (?P<yy>|yyyy), (?P<mm>), (?P<dd>)")
        dates.append(FirmwareDate(raw["maker"], pattern, _source(file, where, raw.get("source"))))
    cves = []
    allowed = {
        "id",
        "maker",
        "severity",
        "cvss",
        "kev",
        "summary",
        "device_types",
        "models",
        "built_before",
        "built_after",
        "fixed_in",
        "source",
        "note",
    }
    for index, raw in enumerate(data["cves"]):
        where = f"cves[{index}]"
        if not isinstance(raw, dict) or not re.fullmatch(r"CVE-\d{4}-\d{4,}", str(raw.get("id"))):
            raise _err(file, where, "needs an 'id' like CVE-2021-36260")
        where = f"{where} ({raw['id']})"
        _check_keys(file, where, raw, allowed)
        if raw.get("severity") not in ("critical", "high", "medium", "low"):
            raise _err(file, f"{where}.severity", f"unknown severity {raw.get('severity')!r}")
        types = frozenset(
            t
            for t in (
                _device_type(file, where, v, "device_types") for v in raw.get("device_types") or ()
            )
            if t
        )
        models = _regex(file, f"{where}.models", raw["models"]) if raw.get("models") else None
        before = _date(file, f"{where}.built_before", raw.get("built_before"))
        assert before is not None
        cves.append(
            Cve(
                str(raw["id"]),
                str(raw.get("maker")),
                raw["severity"],
                float(raw.get("cvss") or 0),
                bool(raw.get("kev")),
                str(raw.get("summary") or ""),
                types,
                models,
                before,
                _date(file, f"{where}.built_after", raw.get("built_after"), required=False),
                str(raw.get("fixed_in") or ""),
                _source(file, where, raw.get("source")),
            )
        )
    return cves, dates


def parse_makers(file: str, data: Any) -> list[MakerInfo]:
    """Validate ``makers.yaml``."""
    entries = data.get("makers") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise _err(file, "top level", "needs a 'makers' list")
    result = []
    for index, raw in enumerate(entries):
        where = f"makers[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise _err(file, where, "needs a string 'name'")
        _check_keys(
            file,
            where,
            raw,
            {
                "name",
                "legal_name",
                "headquarters",
                "prc_national_intelligence_law",
                "source",
                "note",
                "aliases",
                "default_type",
            },
        )
        flag = raw.get("prc_national_intelligence_law", False)
        if not isinstance(flag, bool):
            raise _err(file, f"{where}.prc_national_intelligence_law", "must be true or false")
        result.append(
            MakerInfo(
                raw["name"],
                str(raw.get("legal_name") or raw["name"]),
                raw.get("headquarters"),
                flag,
                _source(file, where, raw.get("source")),
                tuple(raw.get("aliases") or ()),
                _device_type(file, where, raw.get("default_type"), "default_type"),
            )
        )
    return result


def _yaml(entry: Traversable, label: str) -> Any:
    try:
        return yaml.load(entry.read_text(encoding="utf-8"), Loader=SafeLoader)
    except yaml.YAMLError as e:
        raise KnowledgeError(f"knowledge {label}: not valid YAML: {e}") from e


@cache
def load_knowledge() -> Knowledge:
    """The knowledge base shipped in ``coverwatch/knowledge``."""
    root = resources.files("coverwatch") / "knowledge"
    fingerprints: list[Fingerprint] = []
    for entry in sorted((root / "fingerprints").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            label = f"fingerprints/{entry.name}"
            fingerprints += parse_fingerprints(label, _yaml(entry, label))
    seen: set[str] = set()
    for fp in fingerprints:
        if fp.id in seen:
            raise KnowledgeError(f"knowledge fingerprints: id {fp.id!r} is used twice")
        seen.add(fp.id)
    cves, dates = parse_cves("cves.yaml", _yaml(root / "cves.yaml", "cves.yaml"))
    return Knowledge.build(
        fingerprints,
        parse_oui("oui.yaml", _yaml(root / "oui.yaml", "oui.yaml")),
        parse_oem("oem.yaml", _yaml(root / "oem.yaml", "oem.yaml")),
        parse_covered("covered.yaml", _yaml(root / "covered.yaml", "covered.yaml")),
        cves,
        dates,
        parse_makers("makers.yaml", _yaml(root / "makers.yaml", "makers.yaml")),
    )

"""Loading and validating the knowledge base (``coverwatch/knowledge``, see FORMAT.md there).

Every entry is checked on load; a bad one stops start-up with its file, entry and field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import yaml

from coverwatch.errors import KnowledgeError
from coverwatch.identify import schema
from coverwatch.identify.matcher import LiteralIndex, Regex
from coverwatch.identify.schema import SafeLoader
from coverwatch.models import DeviceType

__all__ = ["SafeLoader"]


@dataclass(frozen=True)
class Fingerprint:
    """A pattern over one or more signals and what a match says about the device."""

    id: str
    signals: tuple[str, ...]
    pattern: Regex
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

    pattern: Regex
    maker: str | None
    brand: str | None
    weight: float
    source: str
    component: str | None = None
    """A component (chip) maker's block: evidence of its chip inside, not of the maker."""


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
    named_in_text: bool = True
    """False when the brand's name inside a banner or title is no evidence: it is also an
    ordinary term ("LTS", long-term support, in every Ubuntu banner)."""


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
    pattern: Regex
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
    models: Regex | None
    built_before: date
    built_after: date | None
    fixed_in: str
    source: str


@dataclass(frozen=True)
class MakerInfo:
    """Where a maker is headquartered (for the UK 2022 direction)."""

    name: str
    legal_name: str | None
    headquarters: str | None
    prc_national_intelligence_law: bool
    source: str
    aliases: tuple[str, ...] = ()
    """Other names the maker is known by (former names, trading names)."""
    default_type: DeviceType | None = None
    """What a device is when the maker's own firmware is seen but nothing says the type
    (a maker that only makes cameras and recorders: camera)."""
    named_in_text: bool = True
    """False when the maker's name inside a banner or title is no evidence (an ordinary word,
    an operating system's name)."""
    case_sensitive: tuple[str, ...] = ()
    """Names that count in a banner or title only as written: an acronym that is also an
    ordinary word ("NICE", Dutch "een" for EEN)."""


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
    _index: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Look-up tables and per-signal literal indexes, built on first use."""

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
        kb = cls(
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
        names: dict[str, str] = {}
        for fp in fps:
            if fp.maker:
                names.setdefault(fp.maker.casefold(), fp.maker)
        for info in kb.makers:
            for name in (info.name, info.legal_name, *info.aliases):
                if name:
                    names[" ".join(name.split()).casefold()] = info.name
        brands: dict[str, OemBrand] = {}
        for entry in reversed(kb.oem):  # the first entry naming a brand wins
            for name in (entry.brand, *entry.aliases):
                brands[name.casefold()] = entry
        kb._index.update(
            makers=names,
            brands=brands,
            info={m.name: m for m in kb.makers},
        )
        return kb

    def named_in(self, text: str) -> list[tuple[str, str | None, str | None]]:
        """Makers and brands a device's own text names as whole words: ``(name as found,
        maker, brand)``; a brand's maker is left to the OEM map. Names of three or more
        characters only, and never those ``makers.yaml`` marks as ordinary words."""
        automaton = self._index.get("names_automaton")
        if automaton is None:
            automaton = self._index["names_automaton"] = _names_automaton(self)
        folded = text.lower()
        if len(folded) != len(text):  # "İ" lowers to two characters: keep offsets aligned
            folded = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        found: dict[str, tuple[str, str | None, str | None]] = {}
        for end, (length, maker, brand, exact) in automaton.iter(folded):
            start = end - length + 1
            before = folded[start - 1] if start > 0 else " "
            after = folded[end + 1] if end + 1 < len(folded) else " "
            if before.isalnum() or after.isalnum():
                continue  # part of a longer word ("acti" in "active")
            if exact is not None and text[start : end + 1] not in exact:
                continue  # an acronym written as the ordinary word it spells ("nice")
            key = maker or brand or ""
            if key not in found or length > len(found[key][0]):
                found[key] = (text[start : end + 1], maker, brand)
        return list(found.values())

    def for_signal(self, signal: str) -> tuple[Fingerprint, ...]:
        """Fingerprints that apply to ``signal``."""
        found = self._by_signal.get(signal, ())
        wild = tuple(fp for prefix, fp in self._wildcards if signal.startswith(prefix))
        return found + wild if wild else found

    def matches(self, signal: str, value: str) -> tuple[tuple[Fingerprint, dict[str, str]], ...]:
        """Every fingerprint of ``signal`` that matches ``value``, with its named groups.

        Patterns are prefiltered by their required literals (``identify.matcher``); the engine
        remembers what each (signal, value) said, so repeated strings are read once.
        """
        indexes: dict[str, LiteralIndex[Fingerprint]] = self._index.setdefault("signals", {})
        index = indexes.get(signal)
        if index is None:
            index = indexes[signal] = LiteralIndex(self.for_signal(signal))
        hits = []
        for fp in index.candidates(value):
            match = fp.pattern.search(value)
            if match is not None:
                hits.append((fp, {k: v for k, v in match.groupdict().items() if v}))
        return tuple(hits)

    def oui_alias(self, organisation: str) -> OuiAlias | None:
        """The first ``oui.yaml`` entry matching an IEEE registry organisation name."""
        known: dict[str, OuiAlias | None] = self._index.setdefault("orgs", {})
        if organisation not in known:
            known[organisation] = next(
                (a for a in self.oui if a.pattern.search(organisation)), None
            )
        return known[organisation]

    def oem_brand(self, brand: str) -> OemBrand | None:
        """The OEM entry for ``brand`` (by name or alias, case-insensitive)."""
        entry: OemBrand | None = self._index["brands"].get(" ".join(brand.split()).casefold())
        return entry

    def maker_named(self, name: str) -> str | None:
        """The maker a name stands for: its own name, legal name or an alias (any case)."""
        found: str | None = self._index["makers"].get(" ".join(name.split()).casefold())
        return found

    def resolve_brand(self, name: str) -> tuple[str | None, str | None]:
        """``(maker, brand)`` a free-text brand name stands for (an asset register's "Make").

        A maker's own name (legal name or alias) is a maker claim and that maker's brand; a
        known white-label or sub-brand is a brand claim whose makers ``oem.yaml`` supplies; any
        other name stays a brand claim as written (say "Honeywell"), which firmware evidence may
        contradict.
        """
        folded = " ".join(name.split())
        if not folded:
            return None, None
        entry = self.oem_brand(folded)
        if entry is not None:
            return None, entry.brand
        maker = self.maker_named(folded)
        if maker is not None:
            return maker, maker
        return None, folded[:64]

    def is_rebrand(self, maker: str | None, brand: str | None) -> bool:
        """True when ``brand`` is a white label on ``maker``'s firmware (not an owned sub-brand)."""
        if not maker or not brand or brand == maker:
            return False
        entry = self.oem_brand(brand)
        return entry is None or entry.white_label

    def maker_info(self, maker: str | None) -> MakerInfo | None:
        """Headquarters facts for ``maker``."""
        info: MakerInfo | None = self._index["info"].get(maker) if maker else None
        return info

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

    def component_owner(self, component: str) -> CoveredEntity | None:
        """The covered entity that owns a component maker (HiSilicon: Huawei), if any."""
        folded = component.casefold()
        for entity in self.covered:
            if any(folded == c.casefold() for c in entity.components):
                return entity
        return None


def _names_automaton(kb: Knowledge) -> Any:
    import ahocorasick

    # folded name -> (maker, brand, the exact spellings it counts in, or None for any case)
    words: dict[str, tuple[str | None, str | None, frozenset[str] | None]] = {}

    def add(name: str, maker: str | None, brand: str | None, as_written: bool = False) -> None:
        folded = " ".join(name.split()).lower()
        if len(folded) < 3 or (folded in words and words[folded][:2] != (maker, brand)):
            return  # too short, or a maker already holds it
        exact = frozenset({name}) if as_written else None
        if folded in words:
            known = words[folded][2]
            exact = None if known is None or exact is None else known | exact
        words[folded] = (maker, brand, exact)

    for info in kb.makers:
        if info.named_in_text:
            for name in (info.name, *info.aliases):
                add(name, info.name, None, name in info.case_sensitive)
    for entry in kb.oem:
        if entry.named_in_text:
            for name in (entry.brand, *entry.aliases):
                add(name, None, entry.brand)
    automaton = ahocorasick.Automaton()
    for folded, (maker, brand, exact) in words.items():
        automaton.add_word(folded, (len(folded), maker, brand, exact))
    automaton.make_automaton()
    return automaton


def _claims_something(values: dict[str, Any]) -> str | None:
    groups = {"model", "firmware", "brand", "mac"} & set(values["pattern"].groupindex)
    if values["maker"] or values["brand"] or values["component"] or values["device_type"]:
        return None
    return None if groups else "claims nothing (no maker, brand, component, device_type or group)"


def _mac_claims_through_the_registry(values: dict[str, Any]) -> str | None:
    if "mac" in values["pattern"].groupindex and (
        values["maker"] or values["brand"] or values["component"]
    ):
        return "a (?P<mac>...) entry claims through the IEEE registry: no maker, brand or component"
    return None


def _case_sensitive_names_are_its_names(values: dict[str, Any]) -> str | None:
    own = {values["name"], *values["aliases"]}
    stray = [name for name in values["case_sensitive"] if name not in own]
    return f"case_sensitive {stray[0]!r} is not its name or an alias" if stray else None


def _names_maker_or_brand(values: dict[str, Any]) -> str | None:
    if values["maker"] or values["brand"] or values["component"]:
        return None
    return "needs a maker, a brand or a component"


def _date_groups(values: dict[str, Any]) -> str | None:
    groups = set(values["pattern"].groupindex)
    if {"mm", "dd"} <= groups and {"yy", "yyyy"} & groups:
        return None
    return "pattern needs groups (?P<yy>|yyyy), (?P<mm>), (?P<dd>)"


def _optional(convert: schema.Converter) -> schema.Converter:
    return lambda raw: None if raw is None else convert(raw)


FINGERPRINTS: schema.Spec[Fingerprint] = schema.Spec(
    "fingerprints",
    Fingerprint,
    {
        "id": schema.text(),
        "signals": schema.signals,
        "pattern": schema.regex(),
        "maker": schema.text(required=False),
        "brand": schema.text(required=False),
        "component": schema.text(required=False),
        "device_type": schema.device_type,
        "weight": schema.weight,
        "source": schema.source,
    },
    label="id",
    checks=(_claims_something, _mac_claims_through_the_registry),
)
OUI: schema.Spec[OuiAlias] = schema.Spec(
    "orgs",
    OuiAlias,
    {
        "pattern": schema.regex(),
        "maker": schema.text(required=False),
        "brand": schema.text(required=False),
        "component": schema.text(required=False),
        "weight": schema.weight,
        "source": schema.source,
    },
    checks=(_names_maker_or_brand,),
)
OEM: schema.Spec[OemBrand] = schema.Spec(
    "brands",
    OemBrand,
    {
        "brand": schema.text(),
        "aliases": schema.names(),
        "makers": schema.texts(required=True),
        "weight": schema.weight,
        "source": schema.source,
        "relation": lambda raw: schema.choice("sub-brand", "white-label")(raw) == "white-label",
        "named_in_text": lambda raw: True if raw is None else schema.flag(raw),
    },
    rename={"relation": "white_label"},
    label="brand",
)
COVERED: schema.Spec[CoveredEntity] = schema.Spec(
    "entities",
    CoveredEntity,
    {
        "name": schema.text(),
        "maker": schema.text(),
        "brands": schema.texts(),
        "applies_to": schema.device_types,
        "lists": schema.texts(),
        "source": schema.source,
        "components": schema.texts(),
    },
)
FIRMWARE_DATES: schema.Spec[FirmwareDate] = schema.Spec(
    "firmware_dates",
    FirmwareDate,
    {"maker": schema.text(), "pattern": schema.regex(), "source": schema.source},
    checks=(_date_groups,),
    optional_list=True,
)
CVES: schema.Spec[Cve] = schema.Spec(
    "cves",
    Cve,
    {
        "id": schema.matching(r"CVE-\d{4}-\d{4,}", "an id like CVE-2021-36260"),
        "maker": schema.text(),
        "severity": schema.choice("critical", "high", "medium", "low"),
        "cvss": schema.number,
        "kev": schema.flag,
        "summary": schema.text(required=False, default=""),
        "device_types": schema.device_types,
        "models": schema.regex(required=False),
        "built_before": schema.day(),
        "built_after": schema.day(required=False),
        "fixed_in": schema.text(required=False, default=""),
        "source": schema.source,
    },
    label="id",
)
MAKERS: schema.Spec[MakerInfo] = schema.Spec(
    "makers",
    MakerInfo,
    {
        "name": schema.text(),
        "legal_name": schema.text(required=False),
        "headquarters": schema.text(required=False),
        "prc_national_intelligence_law": schema.flag,
        "source": schema.source,
        "aliases": schema.names(),
        "default_type": schema.device_type,
        "named_in_text": lambda raw: True if raw is None else schema.flag(raw),
        "case_sensitive": schema.texts(),
    },
    checks=(_case_sensitive_names_are_its_names,),
    label="name",
)


def parse_fingerprints(file: str, data: Any, text: str | None = None) -> list[Fingerprint]:
    """Validate one ``fingerprints/*.yaml`` document."""
    return schema.read_entries(FINGERPRINTS, file, data, text)


def parse_oui(file: str, data: Any, text: str | None = None) -> list[OuiAlias]:
    """Validate ``oui.yaml``."""
    return schema.read_entries(OUI, file, data, text)


def parse_oem(file: str, data: Any, text: str | None = None) -> list[OemBrand]:
    """Validate ``oem.yaml``."""
    return schema.read_entries(OEM, file, data, text)


def parse_covered(file: str, data: Any, text: str | None = None) -> list[CoveredEntity]:
    """Validate ``covered.yaml``."""
    return schema.read_entries(COVERED, file, data, text)


def parse_cves(
    file: str, data: Any, text: str | None = None
) -> tuple[list[Cve], list[FirmwareDate]]:
    """Validate ``cves.yaml``: firmware build-date formats and version-detectable CVEs."""
    return (
        schema.read_entries(CVES, file, data, text),
        schema.read_entries(FIRMWARE_DATES, file, data, text),
    )


def parse_makers(file: str, data: Any, text: str | None = None) -> list[MakerInfo]:
    """Validate ``makers.yaml``."""
    return schema.read_entries(MAKERS, file, data, text)


def _document(entry: Traversable, label: str) -> tuple[Any, str]:
    text = entry.read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=SafeLoader), text
    except yaml.YAMLError as e:
        raise KnowledgeError(f"knowledge {label}: not valid YAML: {e}") from e


@cache
def load_knowledge() -> Knowledge:
    """The knowledge base shipped in ``coverwatch/knowledge``, from the compiled cache when
    one was built from the same files by the same coverwatch (`identify.cache`)."""
    from coverwatch.identify import cache

    return cache.cached(resources.files("coverwatch") / "knowledge", build_knowledge)


def build_knowledge(root: Traversable) -> Knowledge:
    """Read and validate every knowledge file under ``root``."""
    fingerprints: list[Fingerprint] = []
    for entry in sorted((root / "fingerprints").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            label = f"fingerprints/{entry.name}"
            fingerprints += parse_fingerprints(label, *_document(entry, label))
    seen: set[str] = set()
    for fp in fingerprints:
        if fp.id in seen:
            raise KnowledgeError(f"knowledge fingerprints: id {fp.id!r} is used twice")
        seen.add(fp.id)

    def read(name: str) -> tuple[str, Any, str]:
        return (name, *_document(root / name, name))

    cves, dates = parse_cves(*read("cves.yaml"))
    return Knowledge.build(
        fingerprints,
        parse_oui(*read("oui.yaml")),
        parse_oem(*read("oem.yaml")),
        parse_covered(*read("covered.yaml")),
        cves,
        dates,
        parse_makers(*read("makers.yaml")),
    )

"""The knowledge base: the shipped data loads and is traceable; bad entries are named precisely."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest
import yaml

from coverwatch.errors import CoverwatchError, KnowledgeError
from coverwatch.identify.knowledge import (
    Knowledge,
    load_knowledge,
    parse_covered,
    parse_fingerprints,
    parse_makers,
    parse_oem,
    parse_oui,
)
from coverwatch.models import VIDEO_TYPES, DeviceType

KNOWLEDGE = load_knowledge()


def _makers_with_evidence() -> set[str]:
    """Makers that some fingerprint or OUI entry can attribute a device to."""
    return {fp.maker for fp in KNOWLEDGE.fingerprints if fp.maker} | {
        org.maker for org in KNOWLEDGE.oui if org.maker
    }


# --- the shipped knowledge base -----------------------------------------------------------------


def test_shipped_knowledge_loads() -> None:
    assert isinstance(KNOWLEDGE, Knowledge)
    assert KNOWLEDGE.fingerprints
    assert KNOWLEDGE.oui
    assert KNOWLEDGE.oem
    assert KNOWLEDGE.covered
    ids = [fp.id for fp in KNOWLEDGE.fingerprints]
    assert len(ids) == len(set(ids))


def _sources() -> list[tuple[str, str]]:
    return (
        [(f"fingerprint {fp.id}", fp.source) for fp in KNOWLEDGE.fingerprints]
        + [(f"oui {org.pattern.pattern}", org.source) for org in KNOWLEDGE.oui]
        + [(f"oem {brand.brand}", brand.source) for brand in KNOWLEDGE.oem]
        + [(f"covered {entity.name}", entity.source) for entity in KNOWLEDGE.covered]
    )


@pytest.mark.parametrize(("entry", "source"), _sources(), ids=[e for e, _ in _sources()])
def test_every_entry_names_its_public_source(entry: str, source: str) -> None:
    assert source.strip(), f"{entry} has no source"


def _data_files() -> list[str]:
    root = resources.files("coverwatch") / "knowledge"
    fingerprints = sorted(
        e.name for e in (root / "fingerprints").iterdir() if e.name.endswith(".yaml")
    )
    return ["oui.yaml", "oem.yaml", "covered.yaml", *(f"fingerprints/{n}" for n in fingerprints)]


@pytest.mark.parametrize("name", _data_files())
def test_every_data_file_carries_its_updated_date(name: str) -> None:
    entry = resources.files("coverwatch") / "knowledge"
    for part in name.split("/"):
        entry = entry / part
    data = yaml.safe_load(entry.read_text(encoding="utf-8"))
    assert isinstance(data.get("updated"), datetime.date), f"{name} has no 'updated:' date"


def test_capture_groups_are_only_model_firmware_brand_and_mac() -> None:
    groups = {name for fp in KNOWLEDGE.fingerprints for name in fp.pattern.groupindex}
    assert groups <= {"model", "firmware", "brand", "mac"}


@pytest.mark.parametrize("brand", KNOWLEDGE.oem, ids=[b.brand for b in KNOWLEDGE.oem])
def test_every_oem_maker_can_be_evidenced(brand: Any) -> None:
    assert set(brand.makers) <= _makers_with_evidence()


@pytest.mark.parametrize("entity", KNOWLEDGE.covered, ids=[e.maker for e in KNOWLEDGE.covered])
def test_every_covered_maker_can_be_evidenced(entity: Any) -> None:
    assert entity.maker in _makers_with_evidence()


def test_the_five_fcc_covered_entities_are_listed() -> None:
    makers = {entity.maker: entity for entity in KNOWLEDGE.covered}
    assert {"Huawei", "ZTE", "Hytera", "Hikvision", "Dahua"} <= set(makers)
    for entity in makers.values():
        assert any("FCC Covered List" in name for name in entity.lists), entity.name
    for maker in ("Hikvision", "Dahua"):
        assert makers[maker].applies_to >= VIDEO_TYPES
        assert DeviceType.PRINTER not in makers[maker].applies_to


@pytest.mark.parametrize(
    ("maker", "brand", "covered_maker"),
    [
        ("Hikvision", None, "Hikvision"),
        (None, "EZVIZ", "Hikvision"),
        ("Dahua", "Amcrest", "Dahua"),  # white label on Dahua firmware: still Dahua-made
        (None, "Imou", "Dahua"),
        ("Huawei", "HoloSens", "Huawei"),
        ("Axis", "Axis", None),
        (None, None, None),
    ],
)
def test_covered_entity_lookup(
    maker: str | None, brand: str | None, covered_maker: str | None
) -> None:
    entity = KNOWLEDGE.covered_entity(maker, brand)
    assert (entity.maker if entity else None) == covered_maker


def test_covered_brands_that_are_in_the_oem_map_point_at_their_owner() -> None:
    for entity in KNOWLEDGE.covered:
        for brand in entity.brands:
            oem = KNOWLEDGE.oem_brand(brand)
            if oem is not None:
                assert entity.maker in oem.makers, (entity.name, brand)


# --- validation ---------------------------------------------------------------------------------

DROP = object()

FINGERPRINT = {
    "id": "acme-server",
    "signals": ["http.server"],
    "pattern": "^Acme-Webs/",
    "maker": "Acme",
    "weight": 0.6,
    "source": "https://example.org/acme",
}
OUI = {"pattern": "Acme Video", "maker": "Acme", "weight": 0.5, "source": "IEEE MA-L"}
OEM = {
    "brand": "Roadrunner",
    "relation": "white-label",
    "makers": ["Acme"],
    "weight": 0.8,
    "source": "https://example.org/oem",
}
COVERED = {
    "name": "Acme Corporation",
    "maker": "Acme",
    "brands": ["Acme"],
    "applies_to": ["camera", "nvr"],
    "lists": ["FCC Covered List"],
    "source": "https://example.org/list",
}

Parser = Callable[[str, Any], list[Any]]
PARSERS: dict[str, tuple[Parser, str, str, dict[str, Any]]] = {
    # kind: (parser, file label, list key, a valid entry)
    "fingerprint": (parse_fingerprints, "fingerprints/acme.yaml", "fingerprints", FINGERPRINT),
    "oui": (parse_oui, "oui.yaml", "orgs", OUI),
    "oem": (parse_oem, "oem.yaml", "brands", OEM),
    "covered": (parse_covered, "covered.yaml", "entities", COVERED),
}
ENTRY = {
    "fingerprint": "fingerprints[1] (acme-server)",
    "oui": "orgs[1]",
    "oem": "brands[1] (Roadrunner)",
    "covered": "entities[1]",
}


def _document(kind: str, **changes: Any) -> dict[str, Any]:
    """A document whose second entry is the valid entry with ``changes`` (DROP removes a key)."""
    _parser, _file, key, valid = PARSERS[kind]
    first = copy.deepcopy(valid)
    if kind == "fingerprint":
        first["id"] = "acme-first"
    entry = copy.deepcopy(valid)
    for name, value in changes.items():
        if value is DROP:
            entry.pop(name, None)
        else:
            entry[name] = value
    return {"updated": datetime.date(2026, 1, 1), key: [first, entry]}


@pytest.mark.parametrize("kind", PARSERS)
def test_valid_entries_parse(kind: str) -> None:
    parser, file, _key, _valid = PARSERS[kind]
    assert len(parser(file, _document(kind))) == 2


BAD_WEIGHTS = [0, -0.1, 1.5, "high", None]

CASES: list[Any] = [
    # (kind, changes, field after the entry or None, words the message must contain)
    *[
        pytest.param(
            kind,
            {"pattern": "(unclosed"},
            "pattern",
            ["bad regex", "(unclosed"],
            id=f"{kind}-bad-regex",
        )
        for kind in ("fingerprint", "oui")
    ],
    *[
        pytest.param(kind, {"pattern": ""}, "pattern", ["regex"], id=f"{kind}-empty-regex")
        for kind in ("fingerprint", "oui")
    ],
    *[
        pytest.param(kind, {"weight": w}, "weight", ["(0, 1]", repr(w)], id=f"{kind}-weight-{w!r}")
        for kind in ("fingerprint", "oui", "oem")
        for w in BAD_WEIGHTS
    ],
    *[
        pytest.param(
            kind,
            {"weight": True},
            "weight",
            ["(0, 1]"],
            id=f"{kind}-weight-bool",
        )
        for kind in ("fingerprint", "oui", "oem")
    ],
    *[
        pytest.param(
            kind,
            {"source": value},
            "source",
            ["source"],
            id=f"{kind}-source-{'missing' if value is DROP else repr(value)}",
        )
        for kind in PARSERS
        for value in (DROP, "", "   ")
    ],
    pytest.param(
        "fingerprint",
        {"device_type": "fridge"},
        "device_type",
        ["'fridge'"],
        id="fingerprint-unknown-device-type",
    ),
    pytest.param(
        "covered",
        {"applies_to": ["camera", "fridge"]},
        "applies_to",
        ["'fridge'"],
        id="covered-unknown-device-type",
    ),
    *[
        pytest.param(
            kind,
            {"makr": "Acme"},
            None,
            ["makr"],
            id=f"{kind}-unknown-key",
        )
        for kind in PARSERS
    ],
    pytest.param(
        "fingerprint", {"maker": DROP}, None, ["claims nothing"], id="fingerprint-claims-nothing"
    ),
    pytest.param(
        "oui", {"maker": DROP}, None, ["a maker, a brand or a component"], id="oui-claims-nothing"
    ),
    pytest.param(
        "fingerprint",
        {"pattern": 'realm="(?P<mac>[0-9a-f]{12})"'},
        None,
        ["(?P<mac>...)", "registry"],
        id="fingerprint-mac-group-with-a-maker",
    ),
    pytest.param(
        "oem", {"relation": "reseller"}, "relation", ["'reseller'"], id="oem-bad-relation"
    ),
    pytest.param("oem", {"relation": DROP}, "relation", ["None"], id="oem-missing-relation"),
    pytest.param("oem", {"makers": []}, "makers", ["makers"], id="oem-no-makers"),
    pytest.param(
        "fingerprint", {"signals": []}, "signals", ["signal"], id="fingerprint-no-signals"
    ),
    pytest.param("covered", {"maker": DROP}, None, ["maker"], id="covered-no-maker"),
    # a YAML flow list splits an unquoted "Roadrunner Co., Ltd" at its comma: "Ltd" would
    # then name the brand wherever a device writes its own company's legal form
    pytest.param(
        "oem",
        {"aliases": ["Roadrunner Co.", "Ltd"]},
        "aliases",
        ["'Ltd'", "legal form", "quote"],
        id="oem-alias-split-at-a-comma",
    ),
]


@pytest.mark.parametrize(("kind", "changes", "field", "words"), CASES)
def test_bad_entry_error_names_file_entry_and_field(
    kind: str, changes: dict[str, Any], field: str | None, words: list[str]
) -> None:
    parser, file, _key, _valid = PARSERS[kind]
    with pytest.raises(KnowledgeError) as info:
        parser(file, _document(kind, **changes))
    message = str(info.value)
    assert isinstance(info.value, CoverwatchError)
    assert message.startswith(f"knowledge {file}: ")
    where = ENTRY[kind] + (f".{field}" if field else "")
    assert where in message, message
    for word in words:
        assert word in message, message
    assert "\n" not in message


def test_entry_without_id_is_named_by_index() -> None:
    document = _document("fingerprint", id=DROP)
    with pytest.raises(KnowledgeError, match=r"fingerprints/acme\.yaml: fingerprints\[1\]: "):
        parse_fingerprints("fingerprints/acme.yaml", document)


def test_fingerprint_with_only_a_model_group_claims_something() -> None:
    document = _document("fingerprint", maker=DROP, pattern=r"^Acme (?P<model>[A-Z0-9-]+)")
    (_first, entry) = parse_fingerprints("fingerprints/acme.yaml", document)
    assert entry.maker is None
    assert entry.pattern.search("acme X-100").group("model") == "X-100"  # case-insensitive


@pytest.mark.parametrize("kind", PARSERS)
@pytest.mark.parametrize("document", [None, [], {"other": []}, {"updated": "2026-01-01"}])
def test_document_without_its_list_is_refused(kind: str, document: Any) -> None:
    parser, file, key, _valid = PARSERS[kind]
    with pytest.raises(KnowledgeError) as info:
        parser(file, document)
    message = str(info.value)
    assert message.startswith(f"knowledge {file}: top level: ")
    assert f"'{key}' list" in message


def test_errors_in_a_file_name_the_line_of_the_bad_field() -> None:
    text = """updated: 2026-01-01
fingerprints:
  - id: acme-first
    signals: [http.server]
    pattern: '^Acme/'
    maker: Acme
    weight: 0.5
    source: "https://example.org/acme"
  - id: acme-second
    signals: [http.server]
    pattern: '^Acme-Webs/'
    maker: Acme
    weight: 1.5
    source: "https://example.org/acme"
"""
    with pytest.raises(KnowledgeError) as info:
        parse_fingerprints("fingerprints/acme.yaml", yaml.safe_load(text), text)
    assert str(info.value) == (
        "knowledge fingerprints/acme.yaml:13: fingerprints[1] (acme-second).weight: "
        "must be a number in (0, 1], got 1.5"
    )


@pytest.mark.parametrize("signal", ["http.servr", "snmp.sysdesc", "sadpx.*"])
def test_a_signal_no_source_emits_fails_loading(signal: str) -> None:
    document = _document("fingerprint", signals=["http.server", signal])
    with pytest.raises(KnowledgeError) as info:
        parse_fingerprints("fingerprints/acme.yaml", document)
    assert "fingerprints[1] (acme-server).signals" in str(info.value)
    assert signal in str(info.value)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"aliases": ["Acme Co.", "Ltd"]}, ["makers[0] (Acme).aliases", "'Ltd'", "legal form"]),
        ({"aliases": ["Acme", "Pty Ltd"]}, ["'Pty Ltd'", "legal form"]),
        ({"aliases": ["Acme", "GmbH & Co. KG"]}, ["'GmbH & Co. KG'", "legal form"]),
        ({"case_sensitive": ["ACM"]}, ["makers[0] (Acme)", "'ACM'", "not its name"]),
    ],
)
def test_a_makers_names_are_checked(changes: dict[str, Any], words: list[str]) -> None:
    maker = {"name": "Acme", "prc_national_intelligence_law": False, "source": "IEEE MA-L"}
    with pytest.raises(KnowledgeError) as info:
        parse_makers(
            "makers.yaml", {"updated": datetime.date(2026, 1, 1), "makers": [maker | changes]}
        )
    for word in words:
        assert word in str(info.value), str(info.value)


def test_no_name_points_at_two_companies() -> None:
    # A device's text names one company: a maker's name that is also another company's brand
    # would be read as whichever loads first. Brands of the maker itself are fine; Swann is a
    # maker whose some lines are Reolink-made (oem.yaml), on purpose.
    owners: dict[str, set[str]] = {}
    for maker in KNOWLEDGE.makers:
        for name in (maker.name, *maker.aliases):
            owners.setdefault(" ".join(name.split()).lower(), set()).add(maker.name)
    for entry in KNOWLEDGE.oem:
        for name in (entry.brand, *entry.aliases):
            folded = " ".join(name.split()).lower()
            if folded not in owners or not owners[folded] & set(entry.makers):
                owners.setdefault(folded, set()).add(f"brand {entry.brand}")
    shared = {name: who for name, who in owners.items() if len(who) > 1}
    assert shared.keys() <= {"swann", "swann communications"}, shared

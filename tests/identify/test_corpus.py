"""The real-device corpus (tests/corpus/): well-formed rows, and attribution accuracy on them.

The corpus holds strings third parties published about real devices (issue #9 part 6); it is
collected independently of the knowledge base and the lab, so its scores measure something.
"""

from __future__ import annotations

from functools import cache

import pytest
import yaml

from coverwatch.models import DeviceType
from coverwatch.signals import is_known
from tests.corpus.accuracy import (
    METRICS,
    CorpusError,
    CorpusRow,
    FamilyScore,
    cited_by_knowledge,
    corpus_files,
    load_corpus,
    measure,
    parse_rows,
    table,
)

#: Floors (``false_video``: a ceiling) at the level the shipped knowledge reaches, a few points
#: below it, so a change that loses real-world accuracy fails here; issue #9's targets are
#: typed >= 0.75, false video <= 0.02, maker >= 0.70, covered recall >= 0.90 at precision
#: >= 0.99 (held out, measured elsewhere). Only metrics a family exercises on five or more
#: rows are held; covered precision is held at 0.99 wherever it is measured.
THRESHOLDS: dict[str, dict[str, float]] = {
    "overall": {
        "video_typed": 0.73,
        "false_video": 0.02,
        "maker": 0.80,
        "covered_recall": 0.87,
        "covered_precision": 0.99,
    },
    "independent": {
        "video_typed": 0.72,
        "false_video": 0.02,
        "maker": 0.77,
        "covered_recall": 0.85,
        "covered_precision": 0.99,
    },
    "api": {"video_typed": 0.97, "maker": 0.97, "covered_recall": 0.97, "covered_precision": 0.99},
    "banners": {},
    "dhcp": {"false_video": 0.02},
    "http": {"video_typed": 0.82, "maker": 0.82, "covered_recall": 0.87},
    "mac": {
        "video_typed": 0.45,
        "false_video": 0.02,
        "maker": 0.77,
        "covered_recall": 0.85,
        "covered_precision": 0.99,
    },
    "mdns": {"false_video": 0.02, "maker": 0.68},
    "nmap": {"video_typed": 0.49, "maker": 0.47},
    "onvif": {"video_typed": 0.94, "maker": 0.93, "covered_recall": 0.97},
    "rtsp": {"video_typed": 0.97, "maker": 0.71, "covered_recall": 0.86},
    "snmp": {
        "video_typed": 0.97,
        "false_video": 0.02,
        "maker": 0.87,
        "covered_recall": 0.92,
        "covered_precision": 0.99,
    },
    "tls": {},
    "upnp": {"false_video": 0.02, "maker": 0.89, "covered_recall": 0.80},
}

#: Canonical maker names (issue #9 brief); a row naming another spelling is a typo.
CANONICAL_MAKERS = frozenset(
    {
        *("Hikvision", "Dahua", "Huawei", "ZTE", "Hytera", "Uniview", "Tiandy", "Kedacom"),
        *("Sunell", "TVT", "Xiongmai", "Jovision", "Milesight", "Axis", "Hanwha Vision"),
        *("Bosch", "Avigilon", "Motorola Solutions", "Pelco", "Mobotix", "Vivotek", "i-PRO"),
        *("Sony", "Canon", "Teledyne FLIR", "Honeywell", "GeoVision", "AVTECH", "ACTi"),
        *("Vicon", "IQinVision", "Arecont Vision", "March Networks", "Genetec", "IDIS"),
        *("Digital Watchdog", "Verkada", "Cisco Meraki", "Ubiquiti", "Eagle Eye Networks"),
        *("Nuuo", "Merit LILIN", "Grandstream", "2N", "Vaddio", "Haivision", "VBrick"),
        *("Reolink", "Foscam", "D-Link", "TP-Link", "Edimax", "TRENDnet", "Wyze", "Ring"),
        *("Arlo", "Blink", "Google", "Eufy", "Swann", "Night Owl", "Q-See", "Zmodo"),
        *("Vstarcam", "Ednet", "HP", "Cisco", "Juniper", "Aruba", "Fortinet", "Synology"),
        *("QNAP", "Microsoft", "Debian", "Ubuntu", "Netatmo", "Aqara", "Xiaomi"),
    }
)
COVERED_MAKERS = frozenset({"Hikvision", "Dahua", "Huawei", "ZTE", "Hytera"})
DEVICE_TYPES = frozenset(t.value for t in DeviceType)

ROWS = load_corpus()

#: Rows from a page a knowledge file also cites, from before the rule was checked: the knowledge
#: base learned from those pages, so they measure nothing (``independent`` leaves them out).
#: New rows may not add to them; remove a row or re-source its fact to lower the number.
SHARED_SOURCE_ROWS = 94


@cache
def scores() -> dict[str, FamilyScore]:
    """The corpus scored once per session with the shipped knowledge base."""
    return measure()


def test_corpus_is_large_and_covers_every_family() -> None:
    assert len(ROWS) >= 150
    families = {path.stem for path in corpus_files()}
    assert families == set(THRESHOLDS) - {"overall", "independent"}
    assert {row.family for row in ROWS} == families


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.label)
def test_row_is_well_formed(row: CorpusRow) -> None:
    for signal, value in row.signals:
        assert is_known(signal), f"{row.label}: {signal!r} is not in coverwatch.signals"
        assert value.strip(), f"{row.label}: empty value for {signal}"
    expect = row.expect
    maker, brand = expect.get("maker"), expect.get("brand")
    device_type, covered = expect.get("device_type"), expect.get("covered")
    assert maker is None or maker in CANONICAL_MAKERS, f"{row.label}: maker {maker!r}"
    assert brand is None or (isinstance(brand, str) and brand)
    assert device_type is None or device_type in DEVICE_TYPES, f"{row.label}: {device_type!r}"
    assert covered is None or isinstance(covered, bool)
    if maker is not None and covered is not None:
        assert covered == (maker in COVERED_MAKERS), f"{row.label}: covered contradicts maker"
    assert " (" in row.source, f"{row.label}: say what the page shows after the URL"


def test_no_duplicated_rows() -> None:
    seen: dict[frozenset[tuple[str, str]], str] = {}
    for row in ROWS:
        key = frozenset(row.signals)
        assert key not in seen, f"{row.label} repeats {seen[key]}"
        seen[key] = row.label


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{}", "must hold a list"),
        ("- {signals: {http.server: x}, expect: {maker: Axis}}", "exactly signals"),
        ("- {signals: {}, expect: {maker: Axis}, source: 'https://x (y)'}", "non-empty"),
        ("- {signals: {a: x}, expect: {vendor: Axis}, source: 'https://x (y)'}", "'expect'"),
        ("- {signals: {a: x}, expect: {maker: Axis}, source: 'lab profile'}", "'source'"),
        ("- {signals: {a: ''}, expect: {maker: Axis}, source: 'https://x (y)'}", "bad value"),
    ],
)
def test_bad_rows_are_named(text: str, message: str) -> None:
    with pytest.raises(CorpusError, match=message) as caught:
        parse_rows("http", yaml.safe_load(text))
    assert str(caught.value).startswith("http")


def test_list_values_become_one_pair_each() -> None:
    text = "- {signals: {tcp.port: [80, 554]}, expect: {device_type: camera}, source: 'https://x'}"
    (row,) = parse_rows("nmap", yaml.safe_load(text))
    assert row.signals == (("tcp.port", "80"), ("tcp.port", "554"))


def test_table_lists_every_family_and_metric() -> None:
    markdown = table(scores())
    assert all(metric in markdown.splitlines()[0] for metric, _ in METRICS)
    assert markdown.splitlines()[-2].startswith("| overall |")
    assert markdown.splitlines()[-1].startswith("| independent |")


THRESHOLD_CASES = [
    (family, metric, limit)
    for family, limits in THRESHOLDS.items()
    for metric, limit in limits.items()
]


@pytest.mark.parametrize(("family", "metric", "limit"), THRESHOLD_CASES)
def test_accuracy_meets_threshold(family: str, metric: str, limit: float) -> None:
    ratio = scores().get(family, FamilyScore())[metric]
    if ratio.rate is None:
        pytest.skip(f"no {family} row exercises {metric}")
    if dict(METRICS)[metric]:
        assert ratio.rate >= limit, f"{family} {metric}: {ratio} < {limit:.0%}"
    else:
        assert ratio.rate <= limit, f"{family} {metric}: {ratio} > {limit:.0%}"


def test_no_new_row_comes_from_a_page_the_knowledge_base_cites() -> None:
    shared = [row.label for row in ROWS if cited_by_knowledge(row)]
    assert len(shared) <= SHARED_SOURCE_ROWS, shared


@pytest.mark.parametrize(
    ("source", "cited"),
    [
        ("https://github.com/librenms/librenms/issues/8126 (a Dahua NVR's walk)", True),
        ("http://www.github.com/librenms/librenms/issues/8126", True),
        (
            "https://github.com/librenms/librenms/issues/812 (a shorter number is another page)",
            False,
        ),
        (
            "https://github.com/FantasticFiasco/axis-discovery-ssdp-js/blob/"
            "8c583f66a43de1cbc47d32d4bafee38fd831fb99/test/root-descriptions/RootDescription.mock.ts",
            False,
        ),
    ],
)
def test_a_row_is_independent_unless_the_knowledge_base_cites_its_page(
    source: str, cited: bool
) -> None:
    row = CorpusRow("http", 0, (("http.server", "x"),), {"covered": False}, source)
    assert cited_by_knowledge(row) is cited

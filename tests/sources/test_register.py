"""Asset-register import: CSV and XLSX with a column mapping, bad rows, and fusion with evidence."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import Workbook

from coverwatch.errors import InputError
from coverwatch.identify import identify_host
from coverwatch.models import Attribution, SourceKind
from coverwatch.observer import NULL_OBSERVER
from coverwatch.sources import SOURCES, SourceName
from coverwatch.sources.nmap import read_nmap
from coverwatch.sources.register import RegisterSource, parse_mapping, read_register

ASSETS = Path(__file__).parent.parent / "assets" / "nmap"
MAP = "ip=IP Address,mac=MAC,brand=Make,model=Model,site=Location"
ROWS = [
    ["Asset", "IP Address", "MAC", "Make", "Model", "Location"],
    ["CAM-001", "192.0.2.10", "44-19-B6-12-34-56", "Honeywell", "HC30W45R3", "Lobby"],
    ["CAM-002", "192.0.2.11", "", "Amcrest", "IP4M-1051", "Car park"],
    ["CAM-003", "192.0.2.300", "", "Axis", "P3245", "Roof"],
    ["", "", "", "", "", ""],
    ["CAM-004", "192.0.2.14", "zz:zz", "Bosch", "", "Plant room"],
    ["CAM-005", " 192.0.2.15 ", "", "HIKVISION", "DS-2CD2143G2-I", "Gate"],
]


def _csv(tmp_path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    path = tmp_path / "register.csv"
    lines = [delimiter.join(f'"{c}"' if "," in c else c for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _xlsx(tmp_path: Path, rows: list[list[str]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    path = tmp_path / "register.xlsx"
    workbook.save(path)
    return path


@pytest.mark.parametrize("make", [_csv, _xlsx])
def test_register_rows_become_register_observations(tmp_path: Path, make: object) -> None:
    path = make(tmp_path, ROWS)  # type: ignore[operator]
    result = read_register(path, parse_mapping(MAP))
    assert result.read == 5  # the blank row is not counted
    assert [(b.row, b.reason) for b in result.bad_rows] == [
        (4, "column 'IP Address': '192.0.2.300' is not an IP address"),
        (6, "column 'MAC': 'zz:zz' is not a MAC address"),
    ]
    assert str(result.bad_rows[0]).startswith(f"{path}: row 4: ")
    assert list(result.observations) == ["192.0.2.10", "192.0.2.11", "192.0.2.15"]
    first = result.observations["192.0.2.10"]
    assert {(o.signal, o.value) for o in first} == {
        ("mac", "44:19:b6:12:34:56"),
        ("register.brand", "Honeywell"),
        ("register.model", "HC30W45R3"),
        ("register.site", "Lobby"),
    }
    assert {(o.source, o.protocol) for o in first} == {(SourceKind.REGISTER, "register")}


def test_semicolon_csv_and_case_insensitive_headers(tmp_path: Path) -> None:
    rows = [["ip address", "make"], ["10.1.2.3", "Dahua"]]
    path = _csv(tmp_path, rows, ";")
    result = read_register(path, parse_mapping("ip=IP Address, brand=Make"))
    assert [o.value for o in result.observations["10.1.2.3"]] == ["Dahua"]


def test_a_register_alone_names_no_maker() -> None:
    # A claim to verify: a maker's own name gives a weak claim, below the threshold.
    from coverwatch.identify.engine import attribute

    attribution = attribute([("register.brand", "Hikvision")])
    assert attribution.maker is None and attribution.confidence == 0
    assert attribute([("register.brand", "Honeywell")]).brand == "Honeywell"


def test_register_with_wrong_brands_is_flagged_against_device_evidence(tmp_path: Path) -> None:
    """Honeywell on Hikvision firmware, Dahua on Hikvision: disagreement is shown, not hidden."""
    rows = [
        ["IP Address", "Make"],
        ["192.0.2.10", "Honeywell"],  # wrong: the device is Hikvision (OUI, App-webs, nmap)
        ["192.0.2.11", "Amcrest"],  # right: Amcrest is a Dahua white label
        ["192.0.2.14", "Hikvision"],  # the device evidence names no maker: nothing to contradict
    ]
    register = read_register(_csv(tmp_path, rows), parse_mapping("ip=IP Address,brand=Make"))
    scanned = read_nmap(ASSETS / "lan_scan.xml").observations

    def fused(ip: str) -> tuple[Attribution, Attribution]:
        return identify_host(scanned[ip]), identify_host(scanned[ip] + register.observations[ip])

    alone, with_register = fused("192.0.2.10")
    assert with_register.maker == "Hikvision"  # the register never outweighs the device
    assert with_register.brand != "Honeywell"
    flagged = [e for e in with_register.evidence if e.conflicts]
    assert [(e.signal, e.brand) for e in flagged] == [("register.brand", "Honeywell")]
    assert with_register.confidence < alone.confidence

    alone, with_register = fused("192.0.2.11")
    assert (with_register.maker, with_register.brand) == ("Dahua", "Amcrest")
    assert not any(e.conflicts for e in with_register.evidence)
    assert with_register.confidence >= alone.confidence

    # A wrong maker (not just a brand) is flagged the same way.
    claim = replace(register.observations["192.0.2.14"][0], ip="192.0.2.10", value="Dahua")
    hik = identify_host([*scanned["192.0.2.10"], claim])
    assert hik.maker == "Hikvision"
    assert [(e.signal, e.maker) for e in hik.evidence if e.conflicts] == [
        ("register.brand", "Dahua")
    ]


def test_a_register_model_number_never_outweighs_the_device() -> None:
    """A register row whose model a maker's entry knows ("AXIS P3245-LV Network Camera", 0.75)
    names that maker while the device says nothing, but loses to what the device surely says
    of itself: a register listing a Hikvision camera as an Axis one must not clear its covered
    finding."""
    from coverwatch.identify.engine import attribute

    row = ("register.model", "AXIS P3245-LV Network Camera")
    assert attribute([row]).maker == "Axis"
    camera = attribute([("http.server", "App-webs/"), row])  # Hikvision's web server (0.7)
    assert (camera.maker, camera.covered) == (
        "Hikvision",
        "Hangzhou Hikvision Digital Technology Company",
    )
    assert [(e.signal, e.maker) for e in camera.evidence if e.conflicts] == [
        ("register.model", "Axis")
    ]
    assert camera.confidence < attribute([("http.server", "App-webs/")]).confidence


@pytest.mark.parametrize(
    ("signals", "maker", "brand"),
    [
        # A white label's model in the register (LTS, Lorex) against another maker's open
        # ports: the ports are a lead, weaker than the register; the covered maker stands.
        (
            [
                ("register.model", "CMIP8242WB"),
                *(("tcp.port", p) for p in ("554", "34567", "9530")),
            ],
            "Hikvision",
            "LTS",
        ),
        (
            [("register.model", "E891AB"), ("tcp.port", "554"), ("tcp.port", "34567")],
            "Dahua",
            "Lorex",
        ),
        # The device answering the register's model itself: its own answer, not the register's.
        (
            [
                ("register.model", "E891AB"),
                ("upnp.model_name", "E891AB"),
                ("tcp.port", "554"),
                ("tcp.port", "34567"),
            ],
            "Dahua",
            "Lorex",
        ),
        # One word naming another maker (0.45) does not overrule the register either.
        ([("register.model", "CMIP8242WB"), ("http.title", "Axis camera")], "Hikvision", "LTS"),
        # What the device surely says of itself does: an Axis VAPIX path in its page (0.5),
        # even against a register naming the white label three times (LTS's Hikvision, 0.6).
        (
            [
                ("register.model", "CMIP8242WB"),
                ("register.brand", "LTS"),
                ("register.maker", "LTS"),
                ("http.body", '<img src="/axis-cgi/jpg/image.cgi">'),
            ],
            "Axis",
            None,
        ),
        # Axis's realm carries its MAC (0.8).
        (
            [
                ("register.model", "CMIP8242WB"),
                ("http.www_authenticate", 'Digest realm="AXIS_ACCC8E012345"'),
            ],
            "Axis",
            "Axis",
        ),
    ],
)
def test_the_device_overrules_a_register_only_when_it_is_sure(
    signals: list[tuple[str, str]], maker: str, brand: str | None
) -> None:
    from coverwatch.identify.engine import attribute

    attribution = attribute(signals)
    assert (attribution.maker, attribution.brand) == (maker, brand)


def test_registry_and_collect(tmp_path: Path) -> None:
    assert SOURCES[SourceName.REGISTER] is RegisterSource
    source = RegisterSource(_csv(tmp_path, ROWS), parse_mapping(MAP))
    assert set(source.collect(NULL_OBSERVER)) == {"192.0.2.10", "192.0.2.11", "192.0.2.15"}
    assert len(source.result.bad_rows) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mac=MAC", "needs ip="),
        ("ip=IP,colour=Colour", "unknown field 'colour'"),
        ("ip=IP,ip=Address", "mapped twice"),
        ("ip", "must look like field=Column Name"),
    ],
)
def test_bad_mapping(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_mapping(text)


def test_missing_column_names_file_and_columns(tmp_path: Path) -> None:
    path = _csv(tmp_path, ROWS)
    with pytest.raises(InputError, match=r"row 1: no column named 'Vendor'") as caught:
        read_register(path, parse_mapping("ip=IP Address,brand=Vendor"))
    assert str(path) in str(caught.value) and "'Make'" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("scan.xml", b'<?xml version="1.0"?><nmaprun/>', "looks like XML"),
        ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "not a CSV or XLSX file"),
        ("fake.xlsx", b"PK\x03\x04 not really a zip", "not a readable XLSX workbook"),
        ("empty.csv", b"", "empty file"),
    ],
)
def test_not_a_register_is_one_clear_error(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        read_register(path, parse_mapping("ip=IP Address"))
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def _workbook(tmp_path: Path, sheets: dict[str, list[list[str]]]) -> Path:
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    workbook.remove(first)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    path = tmp_path / "register.xlsx"
    workbook.save(path)
    return path


TITLED = [
    ["North Council - CCTV asset register"],
    ["Exported 2026-11-30 by Facilities", "", "Confidential"],
    [],
    *ROWS,
]
"""A register as councils keep them: title rows, then the header in row 4."""


def test_header_below_title_rows_on_a_later_sheet_is_found(tmp_path: Path) -> None:
    notes = [["How to use this workbook"], ["Columns", "IP Address is the camera's address"]]
    path = _workbook(tmp_path, {"Notes": notes, "Cameras": TITLED})
    result = read_register(path, parse_mapping(MAP))
    assert list(result.observations) == ["192.0.2.10", "192.0.2.11", "192.0.2.15"]
    # rows are numbered as the spreadsheet shows them, and the sheet is named
    assert [str(b).split(": column")[0] for b in result.bad_rows] == [
        f"{path} [Cameras]: row 7",
        f"{path} [Cameras]: row 9",
    ]


def test_csv_with_title_lines_is_read_from_its_header(tmp_path: Path) -> None:
    path = _csv(tmp_path, [["CCTV register, exported 2026-11-30"], [], *ROWS])
    result = read_register(path, parse_mapping(MAP))
    assert list(result.observations) == ["192.0.2.10", "192.0.2.11", "192.0.2.15"]
    assert [b.row for b in result.bad_rows] == [6, 8]


def test_sheet_and_header_row_chosen_by_the_user(tmp_path: Path) -> None:
    other = [["IP Address", "Make"], ["198.51.100.7", "Axis"]]
    path = _workbook(tmp_path, {"Old": other, "Cameras": TITLED})
    mapping = parse_mapping(MAP)
    assert list(read_register(path, parse_mapping("ip=IP Address")).observations) == [
        "198.51.100.7"
    ]
    for sheet in ("Cameras", "cameras", "2"):
        chosen = read_register(path, mapping, sheet=sheet, header_row=4)
        assert "192.0.2.10" in chosen.observations and "198.51.100.7" not in chosen.observations
    with pytest.raises(InputError, match=r"no sheet 'Roof' \(sheets: 'Old', 'Cameras'\)"):
        read_register(path, mapping, sheet="Roof")
    with pytest.raises(InputError, match=r"\[Cameras\]: row 2: no column named 'IP Address'"):
        read_register(path, mapping, sheet="Cameras", header_row=2)
    with pytest.raises(InputError, match="--sheet applies to XLSX"):
        read_register(_csv(tmp_path, ROWS), mapping, sheet="1")


def test_no_header_in_the_first_rows_is_one_error_naming_the_search(tmp_path: Path) -> None:
    rows = [[f"note {n}"] for n in range(60)] + ROWS
    with pytest.raises(InputError, match=r"row 1: no column named .*first 50 rows"):
        read_register(_csv(tmp_path, rows), parse_mapping(MAP))

"""Issue #11: hostile asset registers. Malformed XLSX and CSV give one line naming the file (or
a counted bad row), never a traceback; reading is streaming and bounded; fuzzed CSV input lets
no other exception escape."""

from __future__ import annotations

import datetime
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from coverwatch.errors import InputError
from coverwatch.sources.register import parse_mapping, read_register
from tests.conftest import Cli

MAP = parse_mapping("ip=IP Address,brand=Make,model=Model")
MAKE = parse_mapping("ip=IP Address,brand=Make")


def workbook(path: Path, sheet_xml: str | None = None, **extra: bytes) -> Path:
    """A real workbook (openpyxl) of two camera rows; ``sheet_xml`` edits its sheet XML
    (``{rows}`` stands for the original ``<sheetData>`` content), ``extra`` adds zip parts."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["IP Address", "Make", "Model"])
    sheet.append(["192.0.2.1", "Axis", datetime.datetime(2024, 1, 2)])
    sheet.append(["192.0.2.2", "=A1", 5.0])
    book.save(path)
    if sheet_xml is None and not extra:
        return path
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    if sheet_xml is not None:
        original = parts["xl/worksheets/sheet1.xml"].decode()
        start = original.index("<sheetData>") + len("<sheetData>")
        rows = original[start : original.index("</sheetData>")]
        parts["xl/worksheets/sheet1.xml"] = sheet_xml.replace("{rows}", rows).encode()
    parts.update(extra)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def test_cells_of_every_type_become_text(tmp_path: Path) -> None:
    """Dates, numbers, formulas (no cached value) and booleans are read, not crashed on."""
    path = workbook(tmp_path / "r.xlsx")
    result = read_register(path, MAP)
    values = {ip: {o.signal: o.value for o in obs} for ip, obs in result.observations.items()}
    assert values["192.0.2.1"]["register.model"] == "2024-01-02T00:00:00"
    assert values["192.0.2.2"]["register.model"] == "5"  # not "5.0"
    assert "register.brand" not in values["192.0.2.2"]  # a formula without a cached value
    assert not result.bad_rows


def test_absurd_dimension_is_ignored(tmp_path: Path) -> None:
    """<dimension ref="A1:XFD1048576"/> must not make every row 16,384 cells or the sheet
    a million rows."""
    dimension = '<dimension ref="A1:XFD1048576"/>'
    sheet = f"<worksheet {NS}>{dimension}<sheetData>{{rows}}</sheetData></worksheet>"
    path = workbook(tmp_path / "r.xlsx", sheet)
    started = time.monotonic()
    result = read_register(path, MAP)
    assert time.monotonic() - started < 5
    assert set(result.observations) == {"192.0.2.1", "192.0.2.2"} and result.read == 2


def test_cell_far_to_the_right_and_row_far_below(tmp_path: Path) -> None:
    far = (
        '<row r="4"><c r="A4" t="inlineStr"><is><t>192.0.2.4</t></is></c>'
        '<c r="XFD4" t="inlineStr"><is><t>x</t></is></c></row>'
        '<row r="900000"><c r="A900000" t="inlineStr"><is><t>192.0.2.9</t></is></c></row>'
    )
    sheet = f"<worksheet {NS}><sheetData>{{rows}}{far}</sheetData></worksheet>"
    result = read_register(workbook(tmp_path / "r.xlsx", sheet), MAP)
    assert {"192.0.2.4", "192.0.2.9"} <= set(result.observations)


@pytest.mark.parametrize(
    ("cell", "row"),
    [
        ('<c r="A4" t="n"><v>not a number</v></c>', 4),
        ('<c r="A4" t="s"><v>99999</v></c>', 4),  # a shared string that does not exist
        ('<c r="A4" s="1" t="n"><v>1e308</v></c>', 4),  # a date style on an absurd number
        ('<c r="A4" t="d"><v>2026-02-30</v></c>', 4),
        ('<c r="A4" s="999" t="n"><v>1</v></c>', None),  # a style that does not exist
    ],
)
def test_unconvertible_cells_are_one_line(tmp_path: Path, cell: str, row: int | None) -> None:
    sheet = f'<worksheet {NS}><sheetData>{{rows}}<row r="4">{cell}</row></sheetData></worksheet>'
    path = workbook(tmp_path / "r.xlsx", sheet)
    try:
        result = read_register(path, MAP)
    except InputError as e:
        message = str(e)
        assert str(path) in message and "\n" not in message
        if row is not None:
            assert f"row {row}" in message
    else:  # openpyxl may read it as text: then it is a bad row, counted
        assert result.read == 3 and len(result.bad_rows) == 1


@pytest.mark.parametrize(
    "damage",
    [
        {"xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row><c"},  # cut off
        {"xl/workbook.xml": b"not xml at all"},
        {"xl/styles.xml": b"<styleSheet/>"},
        {"[Content_Types].xml": b"<Types/>"},
        {"xl/_rels/workbook.xml.rels": b"<Relationships/>"},
    ],
)
def test_damaged_workbook_parts_are_one_line(tmp_path: Path, damage: dict[str, bytes]) -> None:
    path = workbook(tmp_path / "r.xlsx", None, **damage)
    try:
        read_register(path, MAP)
    except InputError as e:
        assert str(path) in str(e) and "\n" not in str(e)


def test_a_zip_that_is_not_a_workbook(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("holiday.jpg", b"\xff\xd8\xff\xe0 not really")
    result = cli("import", "csv", str(path), "--map", "ip=IP Address")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "photos.xlsx" in line and "not a readable XLSX workbook" in line


def test_shared_strings_bomb_is_refused_before_opening(tmp_path: Path) -> None:
    bomb = b"<sst>" + b" " * (65 << 20) + b"</sst>"
    path = workbook(tmp_path / "r.xlsx", None, **{"xl/sharedStrings.xml": bomb})
    with pytest.raises(InputError, match="shared strings unpack to more than 64 MiB"):
        read_register(path, MAP)


def test_csv_line_beyond_the_bound_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("IP Address,Make\n192.0.2.1,Axis\n192.0.2.2," + "x" * (2 << 20) + "\n")
    with pytest.raises(InputError, match=r"r\.csv: line 3: longer than"):
        read_register(path, MAKE)


def test_csv_cell_beyond_the_field_limit_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    cell = '"' + "x\n" * 70_000 + '"'  # one quoted cell over many short lines
    path.write_text(f"IP Address,Make\n192.0.2.1,{cell}\n")
    with pytest.raises(InputError, match=r"r\.csv: line \d+: not readable as CSV"):
        read_register(path, MAKE)


def test_csv_with_nul_bytes_and_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    filler = b"192.0.2.3,Bosch\n" * 400  # past the first 4 KiB, which must look like text
    path.write_bytes(b"IP Address,Make\n" + filler + b"192.0.2.1,Axis\x00\n192.0.2.2,Caf\xe9 Cam\n")
    result = read_register(path, MAKE)
    values = {ip: {o.signal: o.value for o in obs} for ip, obs in result.observations.items()}
    assert values["192.0.2.1"]["register.brand"] == "Axis"
    assert values["192.0.2.2"]["register.brand"] == "Café Cam"


def test_csv_sniffing_is_bounded_in_time(tmp_path: Path) -> None:
    """csv.Sniffer is quadratic on some inputs (18 s on 64 KiB of ',"a')."""
    path = tmp_path / "r.csv"
    path.write_text("IP Address,Make\n" + ',"a' * 200_000 + "\n")
    started = time.monotonic()
    result = read_register(path, MAKE)
    assert time.monotonic() - started < 5
    assert result.read == 1 and len(result.bad_rows) == 1


def test_row_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import coverwatch.sources.register as register

    monkeypatch.setattr(register, "MAX_ROWS", 10)
    path = tmp_path / "r.csv"
    path.write_text("IP Address,Make\n" + "192.0.2.1,Axis\n" * 20)
    with pytest.raises(InputError, match="more than 10 rows"):
        read_register(path, MAKE)


_PEAK_RSS = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from coverwatch.sources.register import parse_mapping, read_register
    result = read_register(sys.argv[1], parse_mapping("ip=IP Address,brand=Make"))
    assert result.read == 200_000 and len(result.observations) == 200_000, result.read
    # NOTE: VmHWM, not getrusage's ru_maxrss: that one starts from the forking parent's peak
    # (Linux keeps it across exec), and the parent here is pytest.
    status = Path("/proc/self/status").read_text()
    peak = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")]
    print(int(peak[0]) // 1024)
    """
)


def _peak_mib(path: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return int(done.stdout.strip())


def test_csv_register_is_read_as_a_stream(tmp_path: Path) -> None:
    """200,000 rows with a long unmapped notes column (150 MB): memory follows what is kept,
    not the file size (the whole-file read took three copies of it, over 700 MB)."""
    path = tmp_path / "big.csv"
    notes = "n" * 700
    with path.open("w") as handle:
        handle.write("IP Address,Make,Notes\n")
        for i in range(200_000):
            handle.write(f"10.{i >> 16}.{i >> 8 & 255}.{i & 255},Axis,{notes}\n")
    assert _peak_mib(path) < 300


@pytest.mark.slow
def test_xlsx_register_of_200000_rows_stays_bounded(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["IP Address", "Make", "Notes"])
    for i in range(200_000):
        sheet.append([f"10.{i >> 16}.{i >> 8 & 255}.{i & 255}", "Axis", "n" * 200])
    book.save(path)
    assert _peak_mib(path) < 300


_CELLS = st.text(alphabet=st.sampled_from(list("ab1.9,;\t|\"'\n\r\x00 é:-")), max_size=40)


@settings(
    max_examples=300,
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    header=st.sampled_from(["IP Address,Make,Model\n", "IP Address;Make\n", '"IP Address"\n']),
    body=st.lists(_CELLS, max_size=12),
    raw=st.binary(max_size=200),
)
def test_fuzzed_csv_registers(tmp_path: Path, header: str, body: list[str], raw: bytes) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(header.encode() + "\n".join(body).encode() + raw)
    try:
        result = read_register(path, MAKE)
    except InputError as e:
        assert "\n" not in str(e)
    else:
        assert result.read >= 0


_XML_PIECES = st.sampled_from(
    [
        '<c r="A2" t="s"><v>7</v></c>',
        '<c r="ZZZZ9" t="n"><v>1e999</v></c>',
        '<c r="A2" t="b"><v>maybe</v></c>',
        '<c r="A2" t="e"><v>#N/A</v></c>',
        '<c r="A2" s="1"><v>-1e20</v></c>',
        '<c r="A2" t="str"><f>1/0</f><v>#DIV/0!</v></c>',
        '<row r="-3">',
        '<row r="99999999999">',
        "</row>",
        "<c>",
        "&bogus;",
        "<![CDATA[x]]>",
        "\x00",
        "é",
    ]
)


@settings(
    max_examples=100,
    deadline=3000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=2000), st.integers(0, 40), _XML_PIECES),
        min_size=1,
        max_size=5,
    )
)
def test_fuzzed_xlsx_sheets(tmp_path: Path, edits: list[tuple[int, int, str]]) -> None:
    """Mutated sheet XML inside a real workbook: a register, a bad row or one InputError."""
    base = tmp_path / "base.xlsx"
    if not base.exists():
        workbook(base)
    with zipfile.ZipFile(base) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    for at, length, piece in edits:
        at %= len(xml)
        xml = xml[:at] + piece + xml[at + length :]
    path = workbook(tmp_path / "fuzz.xlsx", xml)
    try:
        read_register(path, MAP)
    except InputError as e:
        assert str(path) in str(e) and "\n" not in str(e)

"""Asset-register import: a CSV or XLSX inventory with a column mapping, as claims to verify.

``--map ip=IP Address,mac=MAC,brand=Make,model=Model,site=Location`` names which column holds
which field. Each row becomes observations of its own source kind (``SourceKind.REGISTER``):
``register.brand``, ``register.maker``, ``register.model``, ``register.site``,
``register.serial``, ``register.hostname`` and ``mac`` (normalised). The knowledge base gives
register claims a low weight (``fingerprints/register.yaml``): they never outweigh what the
device itself says, and a brand the device's maker does not make is flagged as conflicting.

XLSX is read with openpyxl (read-only; it parses the workbook's XML with defusedxml when that is
installed, as it is here). Rows are numbered as a spreadsheet shows them.

The header is the first row, among the first ``HEADER_SEARCH_ROWS``, that holds every mapped
column name (title rows and notes above it are skipped), on the first sheet that has one;
``sheet`` (a name or a 1-based number) and ``header_row`` (1-based) choose them instead.

Both formats are read as a stream, row by row (issue #11): memory grows with the observations
kept, not with the file. Bounds, each a one-line InputError naming the file and row or line:
at most ``MAX_ROWS`` rows, CSV lines of at most ``MAX_LINE`` characters and cells of at most
``csv.field_size_limit()`` characters (131,072 by default); an XLSX whose parts would unpack to
more than ``MAX_XLSX_UNPACKED`` bytes (or its shared strings to more than
``MAX_SHARED_STRINGS``) is refused before it is opened. A workbook openpyxl cannot read (not
a workbook, damaged XML, a cell whose value does not convert) is one such error too, never a
traceback. Cells of any type become text: numbers without a spurious ``.0``, dates in ISO 8601;
formulas give their cached value (``data_only``), or nothing when the file has none.

The site column (``site=Location``) says where each row's device is (issue #10):
`read_register_sites` groups the hosts by it, so ``import csv`` records each row in its own
site, and one address listed at two sites stays two devices.
"""

from __future__ import annotations

import codecs
import csv
import ipaddress
import logging
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, TextIO

from coverwatch.errors import InputError
from coverwatch.identity import normalise_mac
from coverwatch.models import Observation, ObsStatus, SourceKind
from coverwatch.observer import Observer
from coverwatch.probes.http import clean_text
from coverwatch.sources.imports import BadRow, ImportResult, file_head, skip, sniff
from coverwatch.sources.interface import Source

logger = logging.getLogger(__name__)

#: Fields a column can be mapped to; ``ip`` is required.
FIELDS = ("ip", "mac", "brand", "maker", "model", "site", "serial", "hostname")
_MAX_CELL = 128
#: Most rows read from one register (header and blank rows included).
MAX_ROWS = 1_000_000
#: Longest CSV line, in characters.
MAX_LINE = 1 << 20
#: Most bytes the parts of an XLSX may unpack to, by the sizes its zip directory declares
#: (Python's zipfile never unpacks more than the declared size).
MAX_XLSX_UNPACKED = 4 << 30
#: Most bytes the shared-string part may unpack to: openpyxl keeps that table in memory.
MAX_SHARED_STRINGS = 64 << 20
#: Longest cell text kept from a workbook (Excel's own limit is 32,767 characters).
_MAX_XLSX_CELL = 32_767
_CHUNK = 1 << 20
#: How many rows from the top a header is looked for in when its row is not given.
HEADER_SEARCH_ROWS = 50
_SNIFF_CHARS = 8192


def parse_mapping(text: str) -> dict[str, str]:
    """``{"ip": "IP Address", ...}`` from ``ip=IP Address,mac=MAC``; InputError names the fault."""
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        field, sep, column = part.partition("=")
        field, column = field.strip().lower(), column.strip()
        if not sep or not column:
            raise InputError(f"--map: {part.strip()!r} must look like field=Column Name")
        if field not in FIELDS:
            raise InputError(f"--map: unknown field {field!r} (known: {', '.join(FIELDS)})")
        if field in mapping:
            raise InputError(f"--map: field {field!r} is mapped twice")
        mapping[field] = column
    if "ip" not in mapping:
        raise InputError("--map: needs ip=<column holding the IP address>")
    return mapping


def _encoding(path: Path, label: str) -> str:
    """``utf-8-sig`` when the whole file is valid UTF-8, else ``cp1252``; read in chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"  # NOTE: Excel's "CSV" on Windows is cp1252
    except OSError as e:
        raise InputError(f"cannot read {label}: {e.strerror or e}") from e
    return "utf-8-sig"


def _lines(handle: TextIO, label: str) -> Iterator[str]:
    """The lines of a CSV file, each at most ``MAX_LINE`` characters (InputError beyond)."""
    number = 0
    while line := handle.readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE and not line.endswith("\n"):
            raise InputError(f"{label}: line {number}: longer than {MAX_LINE} characters")
        # NOTE: the csv module refuses NUL characters; in a register they are damage, dropped
        yield line.replace("\x00", "")


def _csv_rows(path: Path, label: str) -> Iterator[list[str]]:
    encoding = _encoding(path, label)
    try:
        with path.open(encoding=encoding, errors="replace", newline="") as handle:
            # NOTE: csv.Sniffer's regular expressions take quadratic time on some inputs
            # (18 s for 64 KiB of ',"a' repeated); 8 KiB of whole lines bounds that to ~0.5 s.
            sample = handle.read(_SNIFF_CHARS)
            sample = sample[: sample.rfind("\n") + 1] or sample
            try:
                dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
            except csv.Error:
                dialect = csv.excel
            handle.seek(0)
            reader = csv.reader(_lines(handle, label), dialect)
            try:
                yield from reader
            except csv.Error as e:
                raise InputError(
                    f"{label}: line {reader.line_num}: not readable as CSV ({e})"
                ) from e
    except OSError as e:
        raise InputError(f"cannot read {label}: {e.strerror or e}") from e


def _check_zip(path: Path, label: str) -> None:
    """Refuse a workbook whose parts would unpack beyond the bounds (a zip bomb)."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as e:
        raise InputError(f"{label}: not a readable XLSX workbook (damaged zip: {e})") from e
    except OSError as e:
        raise InputError(f"cannot read {label}: {e.strerror or e}") from e
    if sum(p.file_size for p in parts) > MAX_XLSX_UNPACKED:
        raise InputError(f"{label}: workbook unpacks to more than {MAX_XLSX_UNPACKED >> 30} GiB")
    for part in parts:
        name = part.filename.lower()
        if name.endswith("sharedstrings.xml") and part.file_size > MAX_SHARED_STRINGS:
            raise InputError(
                f"{label}: shared strings unpack to more than "
                f"{MAX_SHARED_STRINGS >> 20} MiB; save the register as CSV"
            )


def _cell_text(value: object) -> str:
    """A cell's value as text: numbers without a spurious ``.0``, dates in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:_MAX_XLSX_CELL]
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)[:_MAX_XLSX_CELL]


def _workbook(path: Path, label: str) -> Any:
    """The workbook, opened read-only with cached formula values; InputError when unreadable."""
    # imported here: only XLSX imports need it (openpyxl ships no type hints)
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    _check_zip(path, label)
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # any failure of the library on this file is bad input
        logger.debug("openpyxl failed on %s", label, exc_info=True)
        raise InputError(f"{label}: not a readable XLSX workbook ({_reason(e)})") from e


def _worksheets(workbook: Any, label: str, sheet: str | None) -> Iterator[tuple[str, Any]]:
    """(label, worksheet) of the chosen sheet, or of every sheet in order when none is."""
    names = list(workbook.sheetnames)
    for name in names if sheet is None else [_sheet_name(names, sheet, label)]:
        try:
            worksheet = workbook[name]
            # NOTE: the <dimension> a file declares may be absurd (A1:XFD1048576) or wrong;
            # read only the rows and cells that exist instead of padding every row to it.
            worksheet.reset_dimensions()
        except Exception as e:
            logger.debug("openpyxl failed on %s sheet %s", label, name, exc_info=True)
            raise InputError(f"{label}: not a readable XLSX workbook ({_reason(e)})") from e
        yield (label if len(names) == 1 else f"{label} [{clean_text(name, 40)}]"), worksheet


def _sheet_name(names: list[str], sheet: str, label: str) -> str:
    """The sheet ``--sheet`` names: by name (ignoring case) or by 1-based number."""
    wanted = sheet.strip().casefold()
    for name in names:
        if name.casefold() == wanted:
            return name
    if wanted.isdigit() and 1 <= int(wanted) <= len(names):
        return names[int(wanted) - 1]
    shown = ", ".join(repr(clean_text(n, 40)) for n in names[:20])
    raise InputError(f"{label}: no sheet {clean_text(sheet, 40)!r} (sheets: {shown})")


def _sheet_rows(worksheet: Any, label: str) -> Iterator[list[str]]:
    number = 0
    try:
        for values in worksheet.iter_rows(values_only=True):
            number += 1
            yield [_cell_text(v) for v in values]
    except Exception as e:  # a cell openpyxl cannot convert, damaged XML, ...
        logger.debug("openpyxl failed on %s after row %d", label, number, exc_info=True)
        raise InputError(f"{label}: row {number + 1}: unreadable cell or row ({_reason(e)})") from e


def _reason(error: BaseException) -> str:
    """A short, one-line description of a library error."""
    text = " ".join(str(error).split())[:120]
    return f"{error.__class__.__name__}: {text}" if text else error.__class__.__name__


@dataclass
class _Table:
    """One sheet (or CSV file) positioned after its header row."""

    label: str
    """The file, and the sheet when the workbook has several."""
    rows: Iterator[list[str]]
    """The rows after the header."""
    number: int
    """The header's row number."""
    columns: dict[str, int]
    """Mapped field -> column index."""
    close: Callable[[], None] = lambda: None
    """Releases the workbook."""


def _open_table(
    path: Path, label: str, mapping: dict[str, str], sheet: str | None, header_row: int | None
) -> _Table:
    """The register's table, its header located; InputError when no header holds the columns."""
    kind = sniff(file_head(path))
    if kind == "xml":
        raise InputError(f"{label}: looks like XML, not CSV/XLSX (nmap output? use import nmap)")
    if kind == "csv":
        if sheet is not None:
            raise InputError(f"{label}: --sheet applies to XLSX workbooks; this is CSV")
        return _find_header(iter([(label, _csv_rows(path, label))]), label, mapping, header_row)
    if kind != "xlsx":
        raise InputError(f"{label}: not a CSV or XLSX file")
    workbook = _workbook(path, label)
    try:
        sheets = ((n, _sheet_rows(ws, n)) for n, ws in _worksheets(workbook, label, sheet))
        return replace(_find_header(sheets, label, mapping, header_row), close=workbook.close)
    except BaseException:
        workbook.close()
        raise


def _find_header(
    sheets: Iterator[tuple[str, Iterator[list[str]]]],
    label: str,
    mapping: dict[str, str],
    header_row: int | None,
) -> _Table:
    """The first row (at ``header_row``, else among the first ``HEADER_SEARCH_ROWS`` of each
    sheet) that holds every mapped column."""
    first: tuple[str, int, list[str]] | None = None
    for name, rows in sheets:
        for number, row in enumerate(rows, start=1):
            if header_row is not None and number < header_row:
                continue
            if first is None and (header_row is not None or any(c.strip() for c in row)):
                first = (name, number, row)
            columns = _columns(row, mapping)
            if isinstance(columns, dict):
                return _Table(name, rows, number, columns)
            if header_row is not None or number >= HEADER_SEARCH_ROWS:
                break
    if first is None:
        where = f"no row {header_row}" if header_row else "no header row"
        raise InputError(f"{label}: empty file ({where})")
    name, number, row = first
    missing = ", ".join(map(repr, _columns(row, mapping)))
    shown = ", ".join(repr(clean_text(h, 40)) for h in row[:20])
    searched = "" if header_row else f" (nor has any of the first {HEADER_SEARCH_ROWS} rows)"
    raise InputError(
        f"{name}: row {number}: no column named {missing}{searched} (columns: {shown})"
    )


def _columns(header: list[str], mapping: dict[str, str]) -> dict[str, int] | list[str]:
    """Mapped field -> column index, or the mapped column names the row lacks."""
    folded = {" ".join(h.split()).casefold(): i for i, h in reversed(list(enumerate(header)))}
    columns: dict[str, int] = {}
    missing = []
    for field, name in mapping.items():
        index = folded.get(" ".join(name.split()).casefold())
        if index is None:
            missing.append(name)
        else:
            columns[field] = index
    return missing or columns


def row_observations(
    cells: dict[str, str], at: datetime, mapping: dict[str, str]
) -> tuple[str, list[Observation]]:
    """The address and observations of one row; ValueError names the bad column and value."""
    raw_ip = cells.get("ip", "")
    try:
        ip = str(ipaddress.ip_address(raw_ip.strip()))
    except ValueError as e:
        shown = clean_text(raw_ip, 40)
        raise ValueError(f"column {mapping['ip']!r}: {shown!r} is not an IP address") from e
    found: list[Observation] = []

    def add(signal: str, value: str) -> None:
        found.append(
            Observation(ip, signal, value, None, "register", ObsStatus.OK, SourceKind.REGISTER, at)
        )

    for field in FIELDS[1:]:
        value = clean_text(cells.get(field, ""), _MAX_CELL)
        if not value:
            continue
        if field == "mac":
            mac = normalise_mac(value)
            if mac is None:
                raise ValueError(f"column {mapping['mac']!r}: {value[:40]!r} is not a MAC address")
            add("mac", mac)
        else:
            add(f"register.{field}", value)
    return ip, found


#: One row's site cell (None: none), address and observations.
RegisterRow = tuple[str | None, str, list[Observation]]


def register_rows(
    path: str | Path,
    mapping: dict[str, str],
    bad: list[BadRow],
    counts: dict[str, int],
    sheet: str | None = None,
    header_row: int | None = None,
) -> Iterator[RegisterRow]:
    """A register's rows one at a time, read as they are needed (a large register never sits
    in memory): each row's site cell, address and observations. Bad rows are appended to
    ``bad``; ``counts["read"]`` counts the non-blank rows read so far.

    ``sheet`` and ``header_row`` choose the XLSX sheet and the header's row; by default the
    first row holding every mapped column, on the first sheet that has one.

    Raises InputError, before the first row, when the file is not CSV/XLSX or no header holds
    the mapped columns; and when it has more than ``MAX_ROWS`` rows.
    """
    label, target = str(path), Path(path)
    if header_row is not None and not 1 <= header_row <= MAX_ROWS:
        raise InputError(f"--header-row: {header_row} is not a row number (1 to {MAX_ROWS})")
    table = _open_table(target, label, mapping, sheet, header_row)
    counts["read"] = 0
    return _register_rows(table, mapping, label, datetime.now(UTC), bad, counts)


def _register_rows(
    table: _Table,
    mapping: dict[str, str],
    label: str,
    at: datetime,
    bad: list[BadRow],
    counts: dict[str, int],
) -> Iterator[RegisterRow]:
    try:
        for number, row in enumerate(table.rows, start=table.number + 1):
            if number > MAX_ROWS:
                raise InputError(f"{label}: more than {MAX_ROWS} rows; split the register")
            if not any(cell.strip() for cell in row):
                continue  # blank lines between blocks are common in hand-kept registers
            counts["read"] += 1
            cells = {f: row[i] if i < len(row) else "" for f, i in table.columns.items()}
            try:
                ip, observations = row_observations(cells, at, mapping)
            except ValueError as e:
                skip(bad, BadRow(table.label, number, str(e)))
                continue
            yield clean_text(cells.get("site", ""), _MAX_CELL) or None, ip, observations
    finally:
        table.close()


#: Observations per host address, grouped by the site a row names (None: no site cell).
SiteGroups = dict[str | None, dict[str, list[Observation]]]


def read_register_sites(
    path: str | Path,
    mapping: dict[str, str],
    sheet: str | None = None,
    header_row: int | None = None,
) -> tuple[SiteGroups, tuple[BadRow, ...], int]:
    """A register's hosts grouped by their row's site cell (``site=Column`` in the mapping),
    its bad rows and the rows read. One address may be listed once per site: addresses are
    reused from site to site, and each such row is a device of its own.

    ``sheet`` and ``header_row`` choose the XLSX sheet and the header's row; by default the
    first row holding every mapped column, on the first sheet that has one.

    Raises InputError when the file is not CSV/XLSX or no header holds the mapped columns.
    """
    groups: SiteGroups = {}
    bad: list[BadRow] = []
    counts: dict[str, int] = {}
    for site, ip, observations in register_rows(path, mapping, bad, counts, sheet, header_row):
        groups.setdefault(site, {}).setdefault(ip, []).extend(observations)
    return groups, tuple(bad), counts["read"]


def read_register(
    path: str | Path,
    mapping: dict[str, str],
    sheet: str | None = None,
    header_row: int | None = None,
) -> ImportResult:
    """Observations per host from a CSV/XLSX asset register; bad rows are skipped and listed.
    Sites are not told apart here (see `read_register_sites`, which also explains ``sheet``
    and ``header_row``).

    Raises InputError when the file is not CSV/XLSX or no header holds the mapped columns.
    """
    groups, bad, read = read_register_sites(path, mapping, sheet, header_row)
    hosts: dict[str, list[Observation]] = {}
    for group in groups.values():
        for ip, observations in group.items():
            hosts.setdefault(ip, []).extend(observations)
    return ImportResult(hosts, bad, read)


class RegisterSource(Source):
    """An asset register as a source; ``result`` keeps the bad rows after ``collect``."""

    def __init__(
        self,
        path: str | Path,
        mapping: dict[str, str],
        sheet: str | None = None,
        header_row: int | None = None,
    ) -> None:
        self.path = path
        self.mapping = mapping
        self.sheet = sheet
        self.header_row = header_row
        self.result = ImportResult({})

    def collect(self, observer: Observer) -> dict[str, list[Observation]]:
        """Read the register."""
        observer.stage("import", 1)
        self.result = read_register(self.path, self.mapping, self.sheet, self.header_row)
        observer.advance()
        observer.done()
        return self.result.observations

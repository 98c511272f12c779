"""Asset-register import: a CSV or XLSX inventory with a column mapping, as claims to verify.

``--map ip=IP Address,mac=MAC,brand=Make,model=Model,site=Location`` names which column holds
which field. Each row becomes observations of its own source kind (``SourceKind.REGISTER``):
``register.brand``, ``register.maker``, ``register.model``, ``register.site``,
``register.serial``, ``register.hostname`` and ``mac`` (normalised). The knowledge base gives
register claims a low weight (``fingerprints/register.yaml``): they never outweigh what the
device itself says, and a brand the device's maker does not make is flagged as conflicting.

XLSX is read with openpyxl (read-only; it parses the workbook's XML with defusedxml when that is
installed, as it is here). Rows are numbered as a spreadsheet shows them (header = row 1).
"""

from __future__ import annotations

import csv
import io
import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

from coverwatch.errors import InputError
from coverwatch.identify.engine import normalise_mac
from coverwatch.models import Observation, ObsStatus, SourceKind
from coverwatch.observer import Observer
from coverwatch.probes.http import clean_text
from coverwatch.sources.imports import BadRow, ImportResult, file_head, skip, sniff
from coverwatch.sources.interface import Source

#: Fields a column can be mapped to; ``ip`` is required.
FIELDS = ("ip", "mac", "brand", "maker", "model", "site", "serial", "hostname")
_MAX_CELL = 128
_MAX_ROWS = 1_000_000


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


def _csv_rows(path: Path, label: str) -> Iterator[list[str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", "replace")  # NOTE: Excel's "CSV" on Windows is cp1252
    try:
        dialect: Any = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        yield from csv.reader(io.StringIO(text, newline=""), dialect)
    except csv.Error as e:
        raise InputError(f"{label}: not a readable CSV file ({e})") from e


def _xlsx_rows(path: Path, label: str) -> Iterator[list[str]]:
    # imported here: only XLSX imports need it (openpyxl ships no type hints)
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, KeyError, ValueError, OSError) as e:
        raise InputError(f"{label}: not a readable XLSX workbook ({e.__class__.__name__})") from e
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield ["" if v is None else str(v) for v in values]
    finally:
        workbook.close()


def _rows(path: Path, label: str) -> Iterator[list[str]]:
    kind = sniff(file_head(path))
    if kind == "xlsx":
        return _xlsx_rows(path, label)
    if kind == "csv":
        return _csv_rows(path, label)
    if kind == "xml":
        raise InputError(f"{label}: looks like XML, not CSV/XLSX (nmap output? use import nmap)")
    raise InputError(f"{label}: not a CSV or XLSX file")


def _columns(header: list[str], mapping: dict[str, str], label: str) -> dict[str, int]:
    folded = {" ".join(h.split()).casefold(): i for i, h in reversed(list(enumerate(header)))}
    columns: dict[str, int] = {}
    missing = []
    for field, name in mapping.items():
        index = folded.get(" ".join(name.split()).casefold())
        if index is None:
            missing.append(name)
        else:
            columns[field] = index
    if missing:
        shown = ", ".join(repr(clean_text(h, 40)) for h in header[:20])
        raise InputError(
            f"{label}: row 1: no column named {', '.join(map(repr, missing))} (columns: {shown})"
        )
    return columns


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


def read_register(path: str | Path, mapping: dict[str, str]) -> ImportResult:
    """Observations per host from a CSV/XLSX asset register; bad rows are skipped and listed.

    Raises InputError when the file is not CSV/XLSX or lacks a mapped column.
    """
    label, target = str(path), Path(path)
    at = datetime.now(UTC)
    hosts: dict[str, list[Observation]] = {}
    bad: list[BadRow] = []
    rows = _rows(target, label)
    header = next(rows, None)
    if header is None:
        raise InputError(f"{label}: empty file (no header row)")
    columns = _columns(header, mapping, label)
    read = 0
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines between blocks are common in hand-kept registers
        if read >= _MAX_ROWS:
            raise InputError(f"{label}: more than {_MAX_ROWS} rows; split the register")
        read += 1
        cells = {f: row[i] if i < len(row) else "" for f, i in columns.items()}
        try:
            ip, observations = row_observations(cells, at, mapping)
        except ValueError as e:
            skip(bad, BadRow(label, number, str(e)))
            continue
        hosts.setdefault(ip, []).extend(observations)
    return ImportResult(hosts, tuple(bad), read)


class RegisterSource(Source):
    """An asset register as a source; ``result`` keeps the bad rows after ``collect``."""

    def __init__(self, path: str | Path, mapping: dict[str, str]) -> None:
        self.path = path
        self.mapping = mapping
        self.result = ImportResult({})

    def collect(self, observer: Observer) -> dict[str, list[Observation]]:
        """Read the register."""
        observer.stage("import", 1)
        self.result = read_register(self.path, self.mapping)
        observer.advance()
        observer.done()
        return self.result.observations

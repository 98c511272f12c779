"""What the file imports (nmap XML, asset registers) share: results, bad rows, format sniffing.

An import never stops at a bad row: the row is logged, counted and skipped, and the result says
how many were read and which were not (STYLE.md, "Bad rows"). A file that is not what it claims
to be is one clear InputError naming the file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from coverwatch.errors import InputError
from coverwatch.models import Observation

logger = logging.getLogger(__name__)

#: Largest import file read (nmap XML of a /16 with -sV stays well below this).
MAX_IMPORT_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class BadRow:
    """One skipped row (CSV/XLSX) or host (nmap XML), and why."""

    file: str
    """The file it came from."""
    row: int
    """1-based: the spreadsheet row number (header = 1) or the nmap ``<host>`` number."""
    reason: str
    """What is wrong with it, in one line."""
    unit: str = "row"
    """``row`` for registers, ``host`` for nmap XML."""

    def __str__(self) -> str:
        return f"{self.file}: {self.unit} {self.row}: {self.reason}"


@dataclass(frozen=True)
class ImportResult:
    """Per-host observations from one file, plus what was skipped."""

    observations: dict[str, list[Observation]]
    """Observations keyed by host address, in file order."""
    bad_rows: tuple[BadRow, ...] = ()
    """Rows (or hosts) that were skipped, each naming file and row."""
    read: int = 0
    """Rows (or hosts) read, good and bad."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    """File-level remarks (e.g. the XML ended early: partial result)."""


def skip(bad: list[BadRow], row: BadRow) -> None:
    """Keep a bad row for the caller to report (never its full content: registers can hold
    personal data); logged at debug level only, so the user sees each warning once."""
    logger.debug("skipped %s", row)
    bad.append(row)


def file_head(path: str | Path, size: int = 4096) -> bytes:
    """The first ``size`` bytes of an import file; InputError when it cannot be read."""
    target = Path(path)
    try:
        if target.stat().st_size > MAX_IMPORT_BYTES:
            raise InputError(f"{path}: larger than {MAX_IMPORT_BYTES // 2**20} MiB; split it")
        with target.open("rb") as handle:
            return handle.read(size)
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from e


def sniff(head: bytes) -> str:
    """``xml``, ``xlsx``, ``csv`` or ``binary``: what the first bytes of a file look like."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return "xml"
    if b"\x00" in head:
        return "binary"
    return "csv"

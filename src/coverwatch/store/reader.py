"""Listing a SQLite inventory's devices and sites with the standard library's sqlite3 alone.

A listing of a small inventory is over before SQLAlchemy has finished importing (most of a
command's start-up), so ``store.open_reader`` reads a SQLite file of this version's schema here,
opened read-only, and leaves everything else (creating, upgrading, PostgreSQL) to
``SqlInventory``. The rows become records as ``SqlInventory``'s do (``store.rows``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol

from coverwatch.errors import StoreError
from coverwatch.models import DeviceRecord
from coverwatch.store.rows import SCHEMA_VERSION, devices_of


class DeviceReader(Protocol):
    """What listing the inventory's devices needs (an ``Inventory`` is one too)."""

    def devices(self, site: str | None = None) -> list[DeviceRecord]: ...

    def sites(self) -> list[str]: ...

    def close(self) -> None: ...


class SqliteReader:
    """A read-only sqlite3 connection to an inventory of this version's schema."""

    def __init__(self, conn: sqlite3.Connection, label: str) -> None:
        self.conn = conn
        self.label = label

    def _read(self, query: str, parameters: tuple[str, ...], action: str) -> list[sqlite3.Row]:
        try:
            return self.conn.execute(query, parameters).fetchall()
        except sqlite3.Error as e:
            raise StoreError(f"{self.label}: cannot {action}: {e}") from e

    def devices(self, site: str | None = None) -> list[DeviceRecord]:
        where, parameters = (" WHERE d.site = ?", (site,)) if site is not None else ("", ())
        held = self._read(
            "SELECT a.* FROM addresses a JOIN devices d ON d.id = a.device_id"
            f"{where} ORDER BY a.first_seen, a.id",
            parameters,
            "read devices",
        )
        rows = self._read(f"SELECT d.* FROM devices d{where}", parameters, "read devices")
        return devices_of(rows, held)

    def sites(self) -> list[str]:
        rows = self._read(
            "SELECT site FROM devices UNION SELECT site FROM scans", (), "read the sites"
        )
        return sorted(str(r["site"]) for r in rows)

    def close(self) -> None:
        self.conn.close()


def open_sqlite_reader(db: str) -> SqliteReader | None:
    """A reader of the SQLite inventory at ``db`` (a path or ``sqlite:///`` URL), or None where
    this reader does not apply: another database, no such file yet, another schema version,
    anything sqlite3 will not open."""
    if "://" in db and not db.startswith("sqlite:///"):
        return None
    path = Path(db.removeprefix("sqlite:///")).expanduser()
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except (sqlite3.Error, ValueError):
        return None
    try:
        version = conn.execute(
            "SELECT value FROM coverwatch_meta WHERE key = 'schema_version'"
        ).fetchone()
    except sqlite3.Error:
        version = None
    if version != (str(SCHEMA_VERSION),):
        conn.close()
        return None
    conn.row_factory = sqlite3.Row
    return SqliteReader(conn, db)

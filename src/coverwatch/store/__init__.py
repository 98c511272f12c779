"""The inventory: devices, scans and observation history in a SQL database.

SQLite by default; PostgreSQL by URL (``--db postgresql+psycopg://...``) when many sensors
feed one inventory. SQLAlchemy is imported when an inventory is opened, not with this package:
listing a small inventory (``open_reader``) needs only the standard library.
"""

from __future__ import annotations

from coverwatch.store.interface import DeviceRecord, HostResult, Inventory, ScanRecord, StoreError
from coverwatch.store.reader import DeviceReader

__all__ = [
    "DeviceReader",
    "DeviceRecord",
    "HostResult",
    "Inventory",
    "ScanRecord",
    "StoreError",
    "default_db",
    "open_inventory",
    "open_reader",
]


def default_db() -> str:
    """The default inventory file under the user's data directory."""
    from platformdirs import user_data_path

    return str(user_data_path("coverwatch") / "inventory.db")


def open_inventory(db: str | None) -> Inventory:
    """Open (creating or upgrading if needed) the inventory at a path or URL."""
    from coverwatch.store.sql import SqlInventory

    return SqlInventory(db or default_db())


def open_reader(db: str | None) -> DeviceReader:
    """The inventory at a path or URL, to list its devices and sites: a SQLite file of this
    version's schema read with the standard library alone, anything else (a URL, a file to
    create or upgrade) opened as ``open_inventory`` opens it."""
    from coverwatch.store.reader import open_sqlite_reader

    return open_sqlite_reader(db or default_db()) or open_inventory(db)

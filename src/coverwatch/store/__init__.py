"""The inventory: devices, scans and observation history in a SQL database.

SQLite by default; PostgreSQL by URL (``--db postgresql+psycopg://...``) when many sensors
feed one inventory. A backend is one module and one line in ``BACKENDS``.
"""

from __future__ import annotations

from enum import Enum

from platformdirs import user_data_path

from coverwatch.store.interface import DeviceRecord, HostResult, Inventory, ScanRecord, StoreError
from coverwatch.store.sql import SqlInventory, database_url

__all__ = [
    "BACKENDS",
    "Backend",
    "DeviceRecord",
    "HostResult",
    "Inventory",
    "ScanRecord",
    "StoreError",
    "default_db",
    "open_inventory",
]


class Backend(str, Enum):
    """Inventory implementations."""

    SQL = "sql"


BACKENDS: dict[Backend, type[Inventory]] = {Backend.SQL: SqlInventory}


def default_db() -> str:
    """The default inventory file under the user's data directory."""
    return str(user_data_path("coverwatch") / "inventory.db")


def open_inventory(db: str | None) -> Inventory:
    """Open (creating if needed) the inventory at a path or URL."""
    return SqlInventory(db or default_db())


__all__ += ["database_url"]

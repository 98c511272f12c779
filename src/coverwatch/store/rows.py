"""What the inventory's rows become: devices with their attribution and address history.

Kept free of SQLAlchemy so that a read which needs no more than the standard library's sqlite3
(``store.reader``) shares it with ``SqlInventory``. A row is anything indexable by column name
(a SQLAlchemy ``RowMapping``, a ``sqlite3.Row``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from coverwatch.models import Address, Attribution, DeviceRecord, DeviceType, Evidence
from coverwatch.targets import ip_key

#: The inventory schema this coverwatch writes (one Alembic revision each: ``store.migrations``).
SCHEMA_VERSION = 9


def aware(value: datetime | str | None) -> datetime | None:
    """A time read back from the database, in UTC (SQLite drops the zone and, read without
    SQLAlchemy, gives the text it stored; only UTC is stored)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def evidence_from_json(text: str) -> tuple[Evidence, ...]:
    """The evidence of an attribution, from its JSON column."""
    return tuple(
        Evidence(
            i["signal"],
            i["value"],
            i["matched"],
            i["source"],
            i.get("maker"),
            i.get("brand"),
            float(i.get("weight", 0)),
            bool(i.get("conflicts", False)),
            i.get("component"),
        )
        for i in json.loads(text or "[]")
    )


def attribution_of(row: Any) -> Attribution:
    """The attribution columns of a device or sighting row."""
    return Attribution(
        row["maker"],
        row["brand"],
        row["model"],
        row["firmware"],
        DeviceType(row["device_type"]) if row["device_type"] else None,
        row["covered"],
        float(row["confidence"]),
        evidence_from_json(row["evidence"]),
        row["covered_component"],
    )


def device_of(row: Any, held: tuple[Address, ...] = ()) -> DeviceRecord:
    """A device row, with the addresses it has held."""
    return DeviceRecord(
        row["ip"],
        row["mac"],
        row["site"],
        attribution_of(row),
        json.loads(row["open_ports"]),
        aware(row["first_seen"]),
        aware(row["last_seen"]),
        row["serial"],
        held,
        tuple(json.loads(row["sources"] or "[]")),
        int(row["id"]),
    )


def devices_of(device_rows: Iterable[Any], address_rows: Iterable[Any]) -> list[DeviceRecord]:
    """Devices from their rows and their ``addresses`` rows (oldest first), by site, address."""
    history: dict[int, list[Address]] = {}
    for r in address_rows:
        history.setdefault(int(r["device_id"]), []).append(
            Address(r["ip"], aware(r["first_seen"]), aware(r["last_seen"]))
        )
    records = [device_of(r, tuple(history.get(int(r["id"]), ()))) for r in device_rows]
    return sorted(records, key=lambda d: (d.site, ip_key(d.ip), d.id or 0))

"""Inventories as coverwatch releases created them, for the upgrade tests: each schema
version's DDL from tests/assets/store (see its README), with a few rows in it."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

ASSETS = Path(__file__).parent.parent / "assets" / "store"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: The clear text of the admin token an old inventory holds (from version 3).
TOKEN = "cw_" + "t" * 43


def _table(name: str, *columns: str) -> sa.TableClause:
    return sa.table(name, *(sa.column(c) for c in columns))


def old_inventory(engine: sa.Engine | str, version: int) -> None:
    """An inventory of schema ``version`` as that release created it, holding a scan, a device
    (its MAC in a vendor's spelling before version 7), an observation, and from version 3 a
    waiver and an API token. ``engine`` may be a SQLite file's path."""
    if isinstance(engine, str):
        file = sa.create_engine(f"sqlite:///{engine}")
        old_inventory(file, version)
        file.dispose()
        return
    ddl = (ASSETS / f"schema-v{version}.{engine.dialect.name}.sql").read_text()
    device = {
        "id": 1,
        "site": "hq",
        "ip": "10.0.0.5",
        "mac": "C0-56-E3-00-00-01" if version < 7 else "c0:56:e3:00:00:01",
        "maker": "Hikvision",
        "confidence": 0.9,
        "evidence": "[]",
        "open_ports": "[554]",
        "first_seen": T0,
        "last_seen": T0,
        "last_scan_id": 1,
    }
    if version >= 5:
        device["sources"] = '["scan"]'
    with engine.begin() as conn:
        for statement in ddl.split(";\n"):
            if statement.strip():
                conn.execute(sa.text(statement))
        conn.execute(
            _table("coverwatch_meta", "key", "value").insert(),
            {"key": "schema_version", "value": str(version)},
        )
        scan = {"id": 1, "started_at": T0, "site": "hq", "targets": "[]", "options": "{}"}
        conn.execute(_table("scans", *scan, "hosts_found").insert(), {**scan, "hosts_found": 1})
        conn.execute(_table("devices", *device).insert(), device)
        if version >= 5:
            address = {"device_id": 1, "ip": "10.0.0.5", "first_seen": T0, "last_seen": T0}
            conn.execute(_table("addresses", *address).insert(), address)
        seen = {
            "scan_id": 1,
            "device_id": 1,
            "port": 554,
            "protocol": "rtsp",
            "signal": "rtsp.server",
            "value": "Hikvision RTSP",
            "status": "ok",
            "source": "scan",
            "observed_at": T0,
        }
        conn.execute(_table("observations", *seen).insert(), seen)
        if version >= 3:
            waiver = {
                "rule": "covered-vendor",
                "device": "10.0.0.5",
                "site": "hq",
                "reason": "replaced in Q1",
                "approver": "CISO",
                "expires": date(2027, 1, 31),
                "created_at": T0,
            }
            conn.execute(_table("waivers", *waiver).insert(), waiver)
            token = {
                "name": "ops",
                "role": "admin",
                "token_hash": hashlib.sha256(TOKEN.encode()).hexdigest(),
                "created_at": T0,
                "revoked": False,
            }
            conn.execute(_table("tokens", *token).insert(), token)


def markers(engine: sa.Engine) -> tuple[str, list[str]]:
    """The inventory's schema version and its Alembic revisions."""
    with engine.connect() as conn:
        version = conn.execute(sa.text("SELECT value FROM coverwatch_meta")).scalar_one()
        revisions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
        return version, list(revisions)

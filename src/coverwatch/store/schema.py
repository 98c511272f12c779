"""The inventory's tables, and the forward-only migrations between schema versions.

Version 1: scans, devices, observations. Version 2 adds sightings (each device as each scan
saw it: the basis of diffs and trends), audits and findings. Version 3 adds API tokens
(stored as SHA-256 hashes, never in clear) and waivers granted in the web dashboard. Version 4
adds each attribution's covered component (a covered entity's chip suspected inside a device).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

SCHEMA_VERSION = 4

metadata = sa.MetaData()

meta = sa.Table(
    "coverwatch_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)
scans = sa.Table(
    "scans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("site", sa.String(128), nullable=False),
    sa.Column("targets", sa.Text, nullable=False),
    sa.Column("options", sa.Text, nullable=False),
    sa.Column("hosts_found", sa.Integer, nullable=False, default=0),
)
devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("site", sa.String(128), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("mac", sa.String(32)),
    sa.Column("maker", sa.String(128)),
    sa.Column("brand", sa.String(128)),
    sa.Column("model", sa.String(256)),
    sa.Column("firmware", sa.String(256)),
    sa.Column("device_type", sa.String(32)),
    sa.Column("covered", sa.String(256)),
    sa.Column("covered_component", sa.String(256)),
    sa.Column("confidence", sa.Float, nullable=False, default=0.0),
    sa.Column("evidence", sa.Text, nullable=False, default="[]"),
    sa.Column("open_ports", sa.Text, nullable=False, default="[]"),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_scan_id", sa.Integer, sa.ForeignKey("scans.id")),
    sa.UniqueConstraint("site", "ip", name="uq_devices_site_ip"),
)
observations = sa.Table(
    "observations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), nullable=False, index=True),
    sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id"), nullable=False, index=True),
    sa.Column("port", sa.Integer),
    sa.Column("protocol", sa.String(32), nullable=False),
    sa.Column("signal", sa.String(128), nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("observed_at", sa.DateTime(timezone=True)),
)


sightings = sa.Table(
    "sightings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), nullable=False, index=True),
    sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id"), nullable=False, index=True),
    sa.Column("maker", sa.String(128)),
    sa.Column("brand", sa.String(128)),
    sa.Column("model", sa.String(256)),
    sa.Column("firmware", sa.String(256)),
    sa.Column("device_type", sa.String(32)),
    sa.Column("covered", sa.String(256)),
    sa.Column("covered_component", sa.String(256)),
    sa.Column("confidence", sa.Float, nullable=False, default=0.0),
    sa.Column("evidence", sa.Text, nullable=False, default="[]"),
    sa.Column("open_ports", sa.Text, nullable=False, default="[]"),
)
audits = sa.Table(
    "audits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("site", sa.String(128)),
    sa.Column("policy_name", sa.String(256), nullable=False),
    sa.Column("policy_version", sa.String(128), nullable=False),
    sa.Column("policy_source", sa.Text, nullable=False),
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id")),
)
findings = sa.Table(
    "findings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("audit_id", sa.Integer, sa.ForeignKey("audits.id"), nullable=False, index=True),
    sa.Column("site", sa.String(128), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("rule", sa.String(128), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
)

waivers = sa.Table(
    "waivers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rule", sa.String(128), nullable=False),
    sa.Column("device", sa.String(64), nullable=False),
    sa.Column("site", sa.String(128)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("approver", sa.String(256), nullable=False),
    sa.Column("expires", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


def migrate(conn: Connection, version: int) -> None:
    """Bring a schema of ``version`` up to SCHEMA_VERSION (forward only, in one transaction)."""
    if version < 2:
        for table in (sightings, audits, findings):
            table.create(conn)
    if version < 3:
        tokens.create(conn)
        waivers.create(conn)
    if version < 4:
        inspector = sa.inspect(conn)
        for name in ("devices", "sightings"):
            # NOTE: tables created above from today's metadata already have the column.
            if "covered_component" not in {c["name"] for c in inspector.get_columns(name)}:
                conn.execute(
                    sa.text(f"ALTER TABLE {name} ADD COLUMN covered_component VARCHAR(256)")
                )
    conn.execute(
        meta.update().where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION))
    )

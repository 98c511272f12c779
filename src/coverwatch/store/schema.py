"""The inventory's tables at this coverwatch's schema version (``rows.SCHEMA_VERSION``).

How each version came about (one Alembic revision each, in ``store.migrations``):

Version 1: scans, devices, observations. Version 2 adds sightings (each device as each scan
saw it: the basis of diffs and trends), audits and findings. Version 3 adds API tokens
(stored as SHA-256 hashes, never in clear) and waivers granted in the web dashboard. Version 4
adds each attribution's covered component (a covered entity's chip suspected inside a device).
Version 5 makes a device one row whatever its address (issue #10): devices gain their serial and
the kinds of run that saw them, an address is no longer unique within a site (a device that left
an address keeps its record), and ``addresses`` keeps every address each device has held.
Version 6 gives stored waivers an audit trail (issue #14): who granted each (``author``), and
when and by whom it was revoked (``revoked_at``, ``revoked_by``; a revoked waiver is kept).
Version 7 stores every device's MAC in the one spelling identity compares (``aa:bb:cc:dd:ee:ff``),
so that a run finds the devices it meets by MAC in SQL.
Version 8 adds site sensors (issue #15): a token may be bound to the sites it may write
(``tokens.sites``, a JSON list; NULL for viewer and admin tokens), and ``ingests`` keeps each
sensor batch's idempotency key with the run it became, so a retried batch is recorded once.
Version 9 adds ``ingest_parts``: the parts of a sensor run too large for one batch wait there
until the last arrives, and the run is then recorded whole.
"""

from __future__ import annotations

import sqlalchemy as sa

from coverwatch.store.rows import SCHEMA_VERSION

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
    sa.Column("serial", sa.String(128)),
    sa.Column("sources", sa.Text, nullable=False, default="[]"),
    sa.Index("ix_devices_site_ip", "site", "ip"),
    sa.Index("ix_devices_site_mac", "site", "mac"),
    sa.Index("ix_devices_serial", "serial"),
)
addresses = sa.Table(
    "addresses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("device_id", "ip", name="uq_addresses_device_ip"),
)
observations = sa.Table(
    "observations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), nullable=False, index=True),
    sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id"), nullable=False, index=True),
    sa.Column("ip", sa.String(64)),  # the address it came from (NULL before schema 5)
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
    sa.Column("ip", sa.String(64)),  # where the run saw it (NULL before schema 5)
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
    sa.Column("sites", sa.Text),  # JSON list of the sites a sensor token may write (schema 8)
)

ingests = sa.Table(
    "ingests",
    metadata,
    sa.Column("batch_key", sa.String(64), primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("scans.id"), nullable=False),
    sa.Column("site", sa.String(128), nullable=False),
    sa.Column("sensor", sa.String(128), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

#: Parts of a sensor run sent in several batches, waiting for the last part (schema 9).
ingest_parts = sa.Table(
    "ingest_parts",
    metadata,
    sa.Column("run_key", sa.String(64), primary_key=True),
    sa.Column("part", sa.Integer, primary_key=True),
    sa.Column("parts", sa.Integer, nullable=False),
    sa.Column("site", sa.String(128), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
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
    sa.Column("author", sa.String(128)),  # NULL for waivers granted before schema 6
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_by", sa.String(128)),
)


#: Alembic's marker of the revision a database is at, as Alembic itself creates it. Declared
#: here so that a new inventory is created at head without importing Alembic (a scan into a
#: new file must start fast); upgrades go through Alembic (``store.versioning``).
alembic_version = sa.Table(
    "alembic_version",
    sa.MetaData(),
    sa.Column("version_num", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def revision_of(version: int) -> str:
    """The Alembic revision that brings the schema to ``version`` (one revision per version)."""
    return f"{version:04d}"


#: The revision of the tables above.
HEAD = revision_of(SCHEMA_VERSION)

"""The inventory's tables, and the forward-only migrations between schema versions.

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
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

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


def migrate(conn: Connection, version: int) -> None:
    """Bring a schema of ``version`` up to SCHEMA_VERSION (forward only, in one transaction)."""
    if version < 2:
        for table in (sightings, audits, findings):
            table.create(conn)
    if version < 3:
        tokens.create(conn)
        waivers.create(conn)
    if version < 4:
        for name in ("devices", "sightings"):
            _add_column(conn, name, "covered_component VARCHAR(256)")
    if version < 5:
        _one_row_per_device(conn)
    if version < 6:
        _add_column(conn, "waivers", "author VARCHAR(128)")
        _add_column(conn, "waivers", "revoked_at TIMESTAMP WITH TIME ZONE")
        _add_column(conn, "waivers", "revoked_by VARCHAR(128)")
    if version < 7:
        _macs_in_one_spelling(conn)
    if version < 8:
        _add_column(conn, "tokens", "sites TEXT")
        ingests.create(conn, checkfirst=True)
    conn.execute(
        meta.update().where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION))
    )


def _add_column(conn: Connection, table: str, definition: str) -> None:
    """Add a column unless the table has it (tables created during this migration, from
    today's metadata, already do)."""
    name = definition.split()[0]
    if name not in {c["name"] for c in sa.inspect(conn).get_columns(table)}:
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {definition}"))


_V5_COPIED = (
    "id, site, ip, mac, maker, brand, model, firmware, device_type, covered, covered_component, "
    "confidence, evidence, open_ports, first_seen, last_seen, last_scan_id"
)


def _one_row_per_device(conn: Connection) -> None:
    """Version 5: drop the one-device-per-address constraint, add serials, sources and the
    address history (seeded with each device's current address)."""
    if conn.dialect.name == "sqlite":
        # SQLite cannot drop a table constraint: rebuild the table (its ids kept, so every
        # observation, sighting and finding still points at its device). NOTE: the new table
        # is renamed into place, not the old one away: renaming the old table would make
        # SQLite repoint the other tables' foreign keys at it.
        rebuilt = sa.MetaData()
        scans.to_metadata(rebuilt)  # the table devices refer to
        table = devices.to_metadata(rebuilt, name="devices_v5")
        table.indexes.clear()  # created below, once the table has its final name
        table.create(conn)
        conn.execute(
            sa.text(
                f"INSERT INTO devices_v5 ({_V5_COPIED}, sources) "
                f"SELECT {_V5_COPIED}, '[]' FROM devices"
            )
        )
        conn.execute(sa.text("DROP TABLE devices"))
        conn.execute(sa.text("ALTER TABLE devices_v5 RENAME TO devices"))
    else:
        conn.execute(sa.text("ALTER TABLE devices DROP CONSTRAINT IF EXISTS uq_devices_site_ip"))
        _add_column(conn, "devices", "serial VARCHAR(128)")
        _add_column(conn, "devices", "sources TEXT NOT NULL DEFAULT '[]'")
    for index in devices.indexes:
        index.create(conn, checkfirst=True)
    for name in ("observations", "sightings"):
        _add_column(conn, name, "ip VARCHAR(64)")
    addresses.create(conn, checkfirst=True)
    conn.execute(
        addresses.insert().from_select(
            ["device_id", "ip", "first_seen", "last_seen"],
            sa.select(devices.c.id, devices.c.ip, devices.c.first_seen, devices.c.last_seen).where(
                ~sa.exists().where(addresses.c.device_id == devices.c.id)
            ),
        )
    )
    kinds: dict[int, list[str]] = {}
    for device_id, source in conn.execute(
        sa.select(observations.c.device_id, observations.c.source).distinct()
    ):
        kinds.setdefault(device_id, []).append(source)
    if kinds:
        conn.execute(
            devices.update().where(devices.c.id == sa.bindparam("b_id")),
            [
                {"b_id": device_id, "sources": json.dumps(sorted(found))}
                for device_id, found in kinds.items()
            ],
        )


def _macs_in_one_spelling(conn: Connection) -> None:
    """Version 7: devices' MACs as ``identity.normalise_mac`` spells them (anything that is not
    a MAC is kept as it was)."""
    from coverwatch.identity import normalise_mac

    changed = [
        {"b_id": device_id, "mac": spelt}
        for device_id, mac in conn.execute(
            sa.select(devices.c.id, devices.c.mac).where(devices.c.mac.is_not(None))
        )
        for spelt in (normalise_mac(mac),)
        if spelt and spelt != mac
    ]
    if changed:
        conn.execute(
            devices.update()
            .where(devices.c.id == sa.bindparam("b_id"))
            .values(mac=sa.bindparam("mac")),
            changed,
        )

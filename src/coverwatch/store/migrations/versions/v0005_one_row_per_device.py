"""Version 5: a device is one row whatever its address (issue #10).

Devices gain their serial and the kinds of run that saw them; an address is no longer unique
within a site (a device that left an address keeps its record); ``addresses`` keeps every
address each device has held, seeded with each device's current one.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from coverwatch.store.migrations import online, set_version

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)

#: devices at version 4, what SQLite's table rebuild copies from (no reflection needed, so
#: the rebuild can also be written out as SQL).
_DEVICES_V4 = sa.Table(
    "devices",
    sa.MetaData(),
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
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),
    sa.Column("open_ports", sa.Text, nullable=False),
    sa.Column("first_seen", _WHEN, nullable=False),
    sa.Column("last_seen", _WHEN, nullable=False),
    sa.Column("last_scan_id", sa.Integer, sa.ForeignKey("scans.id")),
    sa.Column("covered_component", sa.String(256)),
    sa.UniqueConstraint("site", "ip", name="uq_devices_site_ip"),
)

_devices = sa.table(
    "devices",
    sa.column("id", sa.Integer),
    sa.column("ip", sa.String),
    sa.column("first_seen", _WHEN),
    sa.column("last_seen", _WHEN),
    sa.column("sources", sa.Text),
)
_addresses = sa.table(
    "addresses",
    sa.column("device_id", sa.Integer),
    sa.column("ip", sa.String),
    sa.column("first_seen", _WHEN),
    sa.column("last_seen", _WHEN),
)
_observations = sa.table(
    "observations", sa.column("device_id", sa.Integer), sa.column("source", sa.String)
)


def upgrade() -> None:
    """Drop the one-device-per-address constraint; add serials, sources, the address history."""
    serial = sa.Column("serial", sa.String(128))
    sources = sa.Column("sources", sa.Text, nullable=False, server_default="[]")
    if op.get_context().dialect.name == "sqlite":
        # SQLite cannot drop a table constraint: Alembic's batch mode rebuilds the table with
        # its ids kept, so every observation, sighting and finding still points at its device.
        with op.batch_alter_table("devices", recreate="always", copy_from=_DEVICES_V4) as batch:
            batch.drop_constraint("uq_devices_site_ip", type_="unique")
            batch.add_column(serial)
            batch.add_column(sources)
    else:
        op.drop_constraint("uq_devices_site_ip", "devices", type_="unique")
        op.add_column("devices", serial)
        op.add_column("devices", sources)
    op.create_index("ix_devices_site_ip", "devices", ["site", "ip"])
    op.create_index("ix_devices_site_mac", "devices", ["site", "mac"])
    op.create_index("ix_devices_serial", "devices", ["serial"])
    for table in ("observations", "sightings"):
        op.add_column(table, sa.Column("ip", sa.String(64)))
    op.create_table(
        "addresses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("first_seen", _WHEN, nullable=False),
        sa.Column("last_seen", _WHEN, nullable=False),
        sa.UniqueConstraint("device_id", "ip", name="uq_addresses_device_ip"),
    )
    op.execute(
        _addresses.insert().from_select(
            ["device_id", "ip", "first_seen", "last_seen"],
            sa.select(_devices.c.id, _devices.c.ip, _devices.c.first_seen, _devices.c.last_seen),
        )
    )
    _record_sources()
    set_version(5)


def _record_sources() -> None:
    """Each device's sources: the kinds of run its observations came from."""
    if not online():
        op.execute(
            "-- devices.sources stays '[]' here: "
            "`coverwatch db upgrade` online fills it from the observations"
        )
        return
    kinds: dict[int, list[str]] = {}
    found = sa.select(_observations.c.device_id, _observations.c.source).distinct()
    for device_id, source in op.get_bind().execute(found):
        kinds.setdefault(device_id, []).append(source)
    if kinds:
        op.get_bind().execute(
            _devices.update()
            .where(_devices.c.id == sa.bindparam("b_id"))
            .values(sources=sa.bindparam("b_sources")),
            [
                {"b_id": device_id, "b_sources": json.dumps(sorted(seen))}
                for device_id, seen in kinds.items()
            ],
        )

"""Version 1: scans, devices (one per address within a site) and their observations.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the version 1 tables and record the version."""
    meta = op.create_table(
        "coverwatch_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.create_table(
        "scans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", _WHEN, nullable=False),
        sa.Column("finished_at", _WHEN),
        sa.Column("site", sa.String(128), nullable=False),
        sa.Column("targets", sa.Text, nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("hosts_found", sa.Integer, nullable=False),
    )
    op.create_table(
        "devices",
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
        sa.UniqueConstraint("site", "ip", name="uq_devices_site_ip"),
    )
    op.create_table(
        "observations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), nullable=False),
        sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("port", sa.Integer),
        sa.Column("protocol", sa.String(32), nullable=False),
        sa.Column("signal", sa.String(128), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("observed_at", _WHEN),
    )
    op.create_index("ix_observations_device_id", "observations", ["device_id"])
    op.create_index("ix_observations_scan_id", "observations", ["scan_id"])
    op.bulk_insert(meta, [{"key": "schema_version", "value": "1"}])

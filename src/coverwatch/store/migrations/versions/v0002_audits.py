"""Version 2: sightings (each device as each scan saw it), audits and their findings.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coverwatch.store.migrations import set_version

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create sightings, audits and findings."""
    op.create_table(
        "sightings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), nullable=False),
        sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("maker", sa.String(128)),
        sa.Column("brand", sa.String(128)),
        sa.Column("model", sa.String(256)),
        sa.Column("firmware", sa.String(256)),
        sa.Column("device_type", sa.String(32)),
        sa.Column("covered", sa.String(256)),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("open_ports", sa.Text, nullable=False),
    )
    op.create_index("ix_sightings_device_id", "sightings", ["device_id"])
    op.create_index("ix_sightings_scan_id", "sightings", ["scan_id"])
    op.create_table(
        "audits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("site", sa.String(128)),
        sa.Column("policy_name", sa.String(256), nullable=False),
        sa.Column("policy_version", sa.String(128), nullable=False),
        sa.Column("policy_source", sa.Text, nullable=False),
        sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id")),
    )
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("audit_id", sa.Integer, sa.ForeignKey("audits.id"), nullable=False),
        sa.Column("site", sa.String(128), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("ix_findings_audit_id", "findings", ["audit_id"])
    set_version(2)

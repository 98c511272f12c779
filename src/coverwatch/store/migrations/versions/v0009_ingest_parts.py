"""Version 9: a sensor run too large for one batch arrives in parts (issue #15); the parts wait
in ``ingest_parts`` until the last one is in, and the run is then recorded whole, once.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coverwatch.store.migrations import set_version

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ingest_parts."""
    op.create_table(
        "ingest_parts",
        sa.Column("run_key", sa.String(64), primary_key=True),
        sa.Column("part", sa.Integer, primary_key=True),
        sa.Column("parts", sa.Integer, nullable=False),
        sa.Column("site", sa.String(128), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    set_version(9)

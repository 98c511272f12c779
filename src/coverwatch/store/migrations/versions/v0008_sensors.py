"""Version 8: site sensors (issue #15): the sites a token may write, and each sensor batch's
idempotency key with the run it became (a retried batch is recorded once).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coverwatch.store.migrations import set_version

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add tokens.sites (a JSON list; NULL for viewer and admin tokens) and ingests."""
    op.add_column("tokens", sa.Column("sites", sa.Text))
    op.create_table(
        "ingests",
        sa.Column("batch_key", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("scans.id"), nullable=False),
        sa.Column("site", sa.String(128), nullable=False),
        sa.Column("sensor", sa.String(128), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    set_version(8)

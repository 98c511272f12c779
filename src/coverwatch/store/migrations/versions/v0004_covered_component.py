"""Version 4: each attribution's covered component (a covered entity's chip inside a device).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coverwatch.store.migrations import set_version

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add covered_component to devices and sightings."""
    for table in ("devices", "sightings"):
        op.add_column(table, sa.Column("covered_component", sa.String(256)))
    set_version(4)

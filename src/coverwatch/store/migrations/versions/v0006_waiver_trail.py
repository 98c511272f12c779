"""Version 6: stored waivers' audit trail (issue #14): who granted each, who revoked it, when.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coverwatch.store.migrations import set_version

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add author, revoked_at and revoked_by to waivers (NULL for the waivers already kept)."""
    op.add_column("waivers", sa.Column("author", sa.String(128)))
    op.add_column("waivers", sa.Column("revoked_at", sa.DateTime(timezone=True)))
    op.add_column("waivers", sa.Column("revoked_by", sa.String(128)))
    set_version(6)

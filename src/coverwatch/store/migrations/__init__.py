"""The inventory's schema revisions, run by Alembic (``store.versioning`` drives them).

One revision per schema version: revision ``0005`` brings a version 4 inventory to version 5,
and every revision also sets ``coverwatch_meta.schema_version`` to its number, so the version
the stdlib reader (``store.reader``) and older coverwatch releases check keeps its meaning. A
change to a table in ``store.schema`` needs a new revision here (a test compares a database
built by the chain with the tables and fails otherwise) and a higher ``SCHEMA_VERSION``.

Revisions describe the tables as they were at their version, never today's ``store.schema``
objects, so an old step does the same thing whatever the tables later become. They only go
forward (no ``downgrade``): going back is restoring the backup taken before upgrading.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_meta = sa.table("coverwatch_meta", sa.column("key", sa.String), sa.column("value", sa.String))


def set_version(version: int) -> None:
    """Record ``version`` as the inventory's schema version (the marker coverwatch reads)."""
    op.execute(
        _meta.update()
        .where(_meta.c.key == op.inline_literal("schema_version"))
        .values(value=op.inline_literal(str(version)))
    )


def online() -> bool:
    """Whether this upgrade runs against a database (False when it writes SQL for a DBA)."""
    from alembic import context

    return not context.is_offline_mode()

"""Alembic's environment for the inventory: the connection (or, for ``--sql``, the URL) comes
from ``store.versioning``; no alembic.ini is involved."""

from __future__ import annotations

from alembic import context

from coverwatch.store.schema import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is None:  # offline: SQL for the dialect of the URL, nothing connects
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
else:  # online, inside the caller's transaction (which holds the schema lock)
    context.configure(connection=connection, target_metadata=metadata)

with context.begin_transaction():
    context.run_migrations()

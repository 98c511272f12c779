"""The inventory's schema: which version it is at, and upgrading it (``coverwatch db``)."""

from __future__ import annotations

import click

from coverwatch.cli.base import _db, cli, say


@cli.group("db")
def db_group() -> None:
    """The inventory's schema version, and upgrading it after installing a newer coverwatch.

    Any command that opens an older inventory upgrades it first (as it always has), in one
    transaction; `db upgrade` does it on its own, e.g. before starting several `serve`
    workers, and `db upgrade --sql` prints the SQL for a DBA to review or apply instead. Back
    the database up first. An inventory newer than this coverwatch is refused (exit 2) and
    left untouched.
    """


def _named(version: int, revision: str | None) -> str:
    return f"{revision or 'none'} (schema {version})"


@db_group.command("version")
@click.pass_context
def db_version(ctx: click.Context) -> None:
    """Show the inventory's schema revision and this coverwatch's (head); changes nothing."""
    from coverwatch.store.rows import SCHEMA_VERSION
    from coverwatch.store.schema import HEAD
    from coverwatch.store.versioning import stored_schema

    stored = stored_schema(_db(ctx))
    current = "empty (created at first use)" if stored is None else _named(*stored)
    click.echo(f"current: {current}")
    click.echo(f"head:    {_named(SCHEMA_VERSION, HEAD)}")
    if stored is not None and not stored.at_head:
        say("Upgrade with `coverwatch db upgrade` (back the inventory up first).")


@db_group.command("upgrade")
@click.option(
    "--sql",
    "as_sql",
    is_flag=True,
    help="Print the SQL the upgrade would run (for the inventory's dialect, from its current "
    "revision) and change nothing.",
)
@click.pass_context
def db_upgrade(ctx: click.Context, as_sql: bool) -> None:
    """Create or upgrade the inventory to this coverwatch's schema, in one transaction.

    The transaction holds a lock (PostgreSQL: an advisory lock; SQLite: the write lock), so
    workers starting at once upgrade once; a failed upgrade leaves the inventory as it was.

    \b
    Example: coverwatch --db postgresql+psycopg://coverwatch@db/cw db upgrade --sql > up.sql
    """
    from coverwatch.store.schema import HEAD

    db = _db(ctx)
    if as_sql:
        from coverwatch.store.sql import database_url
        from coverwatch.store.versioning import stored_schema, upgrade_sql

        stored = stored_schema(db)
        if stored is not None and stored.at_head:
            say(f"{db}: already at {HEAD}; nothing to run.")
            return
        click.echo(upgrade_sql(database_url(db), stored), nl=False)
        return
    from coverwatch.store.sql import SqlInventory

    inventory = SqlInventory(db)
    inventory.close()
    before = inventory.upgraded_from
    if before is None:
        say(f"{db}: created at {HEAD}.")
    elif before.at_head:
        say(f"{db}: already at {HEAD}.")
    else:
        say(f"{db}: upgraded from {_named(*before)} to {HEAD}.")

"""Which schema an inventory is at, and bringing it to this coverwatch's (through Alembic).

An inventory carries two markers, always moved together: ``coverwatch_meta.schema_version``
(the number the stdlib reader and older coverwatch releases check: an older release refuses a
newer inventory by it) and Alembic's ``alembic_version`` (the revision, ``revision_of(n)``).
Inventories from before Alembic have only the first; their first upgrade stamps the second.

Opening an inventory at head reads both markers and imports nothing more. Anything else
(creating, upgrading) happens in one transaction holding a lock, so that several ``serve``
workers starting at once against one database create or upgrade it once: a PostgreSQL
advisory lock, SQLite's write lock (``BEGIN IMMEDIATE``). PostgreSQL and SQLite both roll
back DDL, so a failed upgrade leaves the inventory as it was. Alembic itself is imported only
to upgrade or to write an upgrade's SQL.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from coverwatch.store.interface import StoreError
from coverwatch.store.rows import SCHEMA_VERSION
from coverwatch.store.schema import HEAD, alembic_version, meta, metadata, revision_of

if TYPE_CHECKING:
    from alembic.config import Config

#: The PostgreSQL advisory lock held while a schema is created or upgraded ("cwschema").
SCHEMA_LOCK = int.from_bytes(b"cwschema", "big")

_KNOWN = {revision_of(n) for n in range(1, SCHEMA_VERSION + 1)}


class Stored(NamedTuple):
    """The schema an existing inventory is at."""

    version: int
    """``coverwatch_meta.schema_version``."""
    revision: str | None
    """Alembic's revision; None for an inventory from before coverwatch used Alembic."""

    @property
    def at_head(self) -> bool:
        """Whether this coverwatch's schema is what the inventory holds."""
        return self.version == SCHEMA_VERSION and self.revision == HEAD


def read_stored(conn: Connection, label: str) -> Stored | None:
    """The schema the database behind ``conn`` is at (None when it has no tables). Refuses a
    foreign database and one newer than this coverwatch (StoreError), changing nothing."""
    tables = set(sa.inspect(conn).get_table_names())
    if not tables:
        return None
    if meta.name not in tables:
        raise StoreError(f"{label}: is a database but not a coverwatch inventory")
    version = conn.execute(
        sa.select(meta.c.value).where(meta.c.key == "schema_version")
    ).scalar_one_or_none()
    revisions: list[str] = []
    if alembic_version.name in tables:
        revisions = list(conn.execute(sa.select(alembic_version.c.version_num)).scalars())
    if (
        version is None
        or not version.isdigit()
        or not 1 <= int(version) <= SCHEMA_VERSION
        or len(revisions) > 1
        or not set(revisions) <= _KNOWN
    ):
        marker = "/".join([str(version), *revisions])
        raise StoreError(
            f"{label}: inventory schema {marker} is newer than this coverwatch understands "
            f"({SCHEMA_VERSION}/{HEAD}); upgrade coverwatch"
        )
    revision = revisions[0] if revisions else None
    if revision is not None and revision != revision_of(int(version)):
        raise StoreError(
            f"{label}: inventory schema version {version} and Alembic revision {revision} "
            "disagree; restore it from a backup"
        )
    return Stored(int(version), revision)


def stored_schema(db: str) -> Stored | None:
    """The schema of the inventory at a path or URL, read without changing anything (None: no
    such file, or an empty database)."""
    from coverwatch.store.sql import database_url

    url = database_url(db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, sa.exc.SQLAlchemyError, ImportError) as e:
        raise StoreError(f"{db}: cannot open database: {e.__class__.__name__}") from e
    try:
        with engine.connect() as conn:
            return read_stored(conn, db)
    except sa.exc.SQLAlchemyError as e:
        detail = str(getattr(e, "orig", None) or e).splitlines() or [e.__class__.__name__]
        raise StoreError(f"{db}: cannot read its schema: {detail[0]}") from e
    finally:
        engine.dispose()


def prepare(engine: Engine, label: str) -> Stored | None:
    """Bring the database to this coverwatch's schema: create it when empty, upgrade it when
    older, refuse it when foreign or newer. Returns what it was before (None: created)."""
    with engine.connect() as conn:
        before = read_stored(conn, label)
    if before is not None and before.at_head:
        return before
    with schema_transaction(engine) as conn:
        before = read_stored(conn, label)  # again: another worker may have been first
        if before is None:
            metadata.create_all(conn)
            conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            alembic_version.create(conn)
            conn.execute(alembic_version.insert().values(version_num=HEAD))
        elif not before.at_head:
            _upgrade(conn, before)
    return before


@contextmanager
def schema_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction holding the database's schema lock (DDL included)."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SCHEMA_LOCK)))
            yield conn
        return
    # NOTE: Python's sqlite3 opens transactions only before DML, so DDL would run outside one;
    # SQLAlchemy's recipe hands transactions to the driver instead, and BEGIN IMMEDIATE takes
    # the write lock at once. https://docs.sqlalchemy.org/en/20/dialects/sqlite.html
    # ("Serializable isolation / Savepoints / Transactional DDL")
    locked = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)

    @sa.event.listens_for(locked, "connect")
    def _driver_autocommit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(locked, "begin")
    def _begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with locked.begin() as conn:
            yield conn
    finally:
        locked.dispose()


def alembic_config(output: io.StringIO | None = None) -> Config:
    """Alembic's configuration for the inventory's revisions (no alembic.ini), writing SQL to
    ``output``."""
    from alembic.config import Config

    config = Config(output_buffer=output)
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return config


def _upgrade(conn: Connection, before: Stored) -> None:
    """Alembic's chain from ``before`` to head, in the caller's transaction."""
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = conn
    if before.revision is None:  # from before Alembic: its version says which revision it is
        command.stamp(config, revision_of(before.version))
    command.upgrade(config, "head")


def upgrade_sql(url: str, before: Stored | None) -> str:
    """The SQL an upgrade from ``before`` (None: an empty database) to head would run, for
    the dialect of ``url``; nothing connects. Data steps that need coverwatch's code (v5's
    device sources, v7's MAC spellings) appear as comments."""
    from alembic import command

    output = io.StringIO()
    config = alembic_config(output)
    # NOTE: main options go through configparser interpolation, where "%" is special.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if before is None:
        command.upgrade(config, "head", sql=True)
    elif not before.at_head:
        if before.revision is None:
            command.stamp(config, revision_of(before.version), sql=True)
        command.upgrade(config, f"{revision_of(before.version)}:head", sql=True)
    return output.getvalue()

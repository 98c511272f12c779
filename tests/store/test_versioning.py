"""Schema versions through Alembic (issue #15): every released schema upgrades to head and keeps
its rows, head is exactly the tables the code uses, workers starting at once create one schema,
and a newer inventory is refused untouched. On SQLite and on PostgreSQL.

Old inventories are built from the DDL each release really created (``tests.store.released``),
not from the revisions under test.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from coverwatch.store import StoreError, open_inventory
from coverwatch.store.rows import SCHEMA_VERSION
from coverwatch.store.schema import HEAD, metadata, revision_of
from coverwatch.store.sql import SqlInventory, database_url
from coverwatch.store.versioning import Stored, alembic_config
from tests.conftest import Cli
from tests.store.released import TOKEN, markers, old_inventory


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database that does not exist yet (SQLite) or is empty (PostgreSQL)."""
    if request.param == "sqlite":
        return database_url(str(tmp_path / "inventory.db"))
    from tests.pg import fresh_database

    return fresh_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


def differences(engine: sa.Engine) -> list[object]:
    """What Alembic's autogenerate finds between the database and the code's tables."""
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION + 1))
def test_every_released_schema_upgrades_to_head_and_keeps_every_row(
    engine: sa.Engine, url: str, version: int
) -> None:
    old_inventory(engine, version)
    inventory = SqlInventory(url)
    try:
        assert inventory.upgraded_from == Stored(version, None)
        (device,) = inventory.devices("hq")
        assert (device.id, device.attribution.maker, device.open_ports) == (1, "Hikvision", [554])
        assert device.mac == "c0:56:e3:00:00:01"  # one spelling, as identity compares them
        assert [a.ip for a in device.addresses] == ["10.0.0.5"] and device.sources == ("scan",)
        assert [o.value for o in inventory.observations("10.0.0.5", "hq")] == ["Hikvision RTSP"]
        assert [s.site for s in inventory.scans()] == ["hq"]
        if version >= 3:
            (waiver,) = inventory.waivers()
            assert (waiver["reason"], waiver["author"], waiver["revoked_at"]) == (
                "replaced in Q1",
                None,
                None,
            )
            assert inventory.token_role(TOKEN) == "admin" and inventory.token_sites(TOKEN) == []
            assert inventory.revoke_waiver(waiver["id"], "auditor")
            assert inventory.waivers()[0]["revoked_by"] == "auditor"
        assert inventory.ingests() == [] and inventory.ingested("k" * 36) is None
        sensor = inventory.create_token("depot", "sensor", ("depot",))
        assert inventory.token_sites(sensor) == ["depot"]
    finally:
        inventory.close()
    assert markers(engine) == (str(SCHEMA_VERSION), [HEAD])
    assert differences(engine) == []
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []


def test_a_new_inventory_is_at_head_and_is_exactly_the_codes_tables(
    engine: sa.Engine, url: str
) -> None:
    # Fails when someone changes a table in store/schema.py without a revision.
    open_inventory(url).close()
    assert markers(engine) == (str(SCHEMA_VERSION), [HEAD])
    assert differences(engine) == []
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == (HEAD,)


def test_the_revision_chain_alone_builds_the_codes_tables(engine: sa.Engine) -> None:
    from alembic import command

    script = ScriptDirectory.from_config(alembic_config())
    chain = [s.revision for s in reversed(list(script.walk_revisions()))]
    assert chain == [revision_of(n) for n in range(1, SCHEMA_VERSION + 1)]
    assert script.get_heads() == [HEAD]
    with engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    assert markers(engine) == (str(SCHEMA_VERSION), [HEAD])
    assert differences(engine) == []


def test_workers_opening_one_new_database_at_once_create_one_schema(
    engine: sa.Engine, url: str
) -> None:
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            open_inventory(url).close()
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert markers(engine) == (str(SCHEMA_VERSION), [HEAD])
    assert differences(engine) == []


def test_two_processes_upgrading_one_new_database_at_once_create_it_once(
    engine: sa.Engine, url: str
) -> None:
    command = [sys.executable, "-m", "coverwatch", "--db", url, "db", "upgrade"]
    workers = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    said = sorted(w.communicate(timeout=120)[1] for w in workers)
    assert [w.returncode for w in workers] == [0, 0], said
    assert said == [f"{url}: already at {HEAD}.\n", f"{url}: created at {HEAD}.\n"]
    assert markers(engine) == (str(SCHEMA_VERSION), [HEAD])
    assert differences(engine) == []


def test_workers_opening_one_old_database_at_once_upgrade_it_once(
    engine: sa.Engine, url: str
) -> None:
    old_inventory(engine, 4)
    start = threading.Barrier(3)
    seen: list[object] = []

    def worker() -> None:
        start.wait()
        try:
            inventory = SqlInventory(url)
            seen.append(inventory.upgraded_from)
            inventory.close()
        except BaseException as e:  # reported below
            seen.append(e)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One worker upgraded from version 4; the others found head once the lock was theirs.
    assert sorted(map(str, seen)) == sorted(
        [str(Stored(4, None))] + [str(Stored(SCHEMA_VERSION, HEAD))] * 2
    )
    inventory = open_inventory(url)
    try:
        (device,) = inventory.devices("hq")
        assert [a.ip for a in device.addresses] == ["10.0.0.5"]
    finally:
        inventory.close()


def columns(conn: sa.Connection, table: str) -> list[str]:
    return [c["name"] for c in sa.inspect(conn).get_columns(table)]


def _dump(engine: sa.Engine) -> list[tuple[object, ...]]:
    """Every table with its columns and rows."""
    with engine.connect() as conn:
        names = sorted(sa.inspect(conn).get_table_names())
        return [(name, *columns(conn, name)) for name in names] + [
            (name, *row)
            for name in names
            for row in conn.execute(sa.text(f"SELECT * FROM {name}")).all()
        ]


def test_an_upgrade_failing_halfway_leaves_the_inventory_as_it_was(
    engine: sa.Engine, url: str
) -> None:
    # A real fault: a table of that name already in the way of version 8's second step, after
    # its first (tokens.sites) has run.
    old_inventory(engine, 7)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE ingests (note TEXT)"))
    before = _dump(engine)
    with pytest.raises(StoreError) as failed:
        open_inventory(url)
    assert str(failed.value).startswith(f"{url}: cannot open it as a database: ")
    assert len(str(failed.value).splitlines()) == 1
    assert _dump(engine) == before
    with engine.connect() as conn:
        assert "sites" not in columns(conn, "tokens")


@pytest.mark.parametrize(
    ("version", "revision"),
    [(SCHEMA_VERSION + 1, revision_of(SCHEMA_VERSION + 1)), (SCHEMA_VERSION, "0999")],
)
def test_an_inventory_newer_than_this_coverwatch_is_refused_untouched(
    engine: sa.Engine, url: str, cli: Cli, version: int, revision: str
) -> None:
    open_inventory(url).close()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE coverwatch_meta SET value = :v"), {"v": str(version)})
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    before = _dump(engine)
    with pytest.raises(StoreError, match="newer than this coverwatch") as refused:
        open_inventory(url)
    assert len(str(refused.value).splitlines()) == 1
    for command in (("db", "upgrade"), ("db", "version"), ("db", "upgrade", "--sql")):
        result = cli("--db", url, *command, db=False)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "upgrade coverwatch" in result.stderr
    assert _dump(engine) == before


def test_db_upgrade_sql_prints_the_ddl_and_changes_nothing(
    engine: sa.Engine, url: str, cli: Cli
) -> None:
    old_inventory(engine, 5)
    before = _dump(engine)
    result = cli("--db", url, "db", "upgrade", "--sql", db=False)
    assert result.returncode == 0, result.stderr
    sql = result.stdout
    # The steps after version 5, and the markers: Alembic's stamped, then moved with the version.
    assert "ALTER TABLE waivers ADD COLUMN author VARCHAR(128)" in sql
    assert "ALTER TABLE tokens ADD COLUMN sites TEXT" in sql
    assert "CREATE TABLE ingests" in sql and "CREATE TABLE alembic_version" in sql
    assert "CREATE TABLE ingest_parts" in sql
    assert "UPDATE coverwatch_meta SET value='8' WHERE coverwatch_meta." in sql
    assert "SET version_num='0008' WHERE alembic_version.version_num = '0007'" in sql
    if engine.dialect.name == "postgresql":
        assert sql.lstrip().startswith("BEGIN;") and sql.rstrip().endswith("COMMIT;")
    assert _dump(engine) == before
    shown = cli("--db", url, "db", "version", db=False)
    assert shown.stdout.splitlines() == [
        "current: none (schema 5)",
        f"head:    {HEAD} (schema {SCHEMA_VERSION})",
    ]


def test_db_upgrade_upgrades_then_has_nothing_left_to_do(
    engine: sa.Engine, url: str, cli: Cli
) -> None:
    old_inventory(engine, 6)
    upgraded = cli("--db", url, "db", "upgrade", db=False)
    assert (
        upgraded.returncode == 0 and f"upgraded from none (schema 6) to {HEAD}" in upgraded.stderr
    )
    assert markers(engine) == (str(SCHEMA_VERSION), [HEAD])
    again = cli("--db", url, "db", "upgrade", db=False)
    assert again.returncode == 0 and f"already at {HEAD}" in again.stderr
    nothing = cli("--db", url, "db", "upgrade", "--sql", db=False)
    assert nothing.returncode == 0 and nothing.stdout == ""
    shown = cli("--db", url, "db", "version", db=False)
    assert shown.stdout.splitlines()[0] == f"current: {HEAD} (schema {SCHEMA_VERSION})"


def test_db_upgrade_sql_for_a_new_database_is_the_whole_schema(tmp_path: Path, cli: Cli) -> None:
    missing = tmp_path / "new.db"
    result = cli("--db", str(missing), "db", "upgrade", "--sql", db=False)
    assert result.returncode == 0, result.stderr
    assert not missing.exists()
    conn = sqlite3.connect(":memory:")
    conn.executescript(result.stdout)  # what a DBA would apply: valid SQLite, a whole inventory
    tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert sorted(t for (t,) in tables) == sorted([*metadata.tables, "alembic_version"])
    assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
    assert conn.execute("SELECT value FROM coverwatch_meta").fetchall() == [(str(SCHEMA_VERSION),)]

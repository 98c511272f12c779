"""The flow store: Parquet files (one set per input file) plus a DuckDB database of views.

Layout under ``store_dir``::

    flows/<file-id>-<token>.parquet     one flow per row (schema ``FLOW_SCHEMA``)
    dns/<file-id>-<token>.parquet       address <- name pairs learned from DNS answers
    portmaps/<file-id>-<token>.parquet  UPnP port-mapping requests seen in captures
    manifest.json                       the Parquet files that make up the store
    .lock                               advisory lock held while the manifest is replaced
    flows.duckdb                        views ``flows``, ``dns``, ``portmaps`` over the files
                                        the manifest lists, table ``meta`` (schema_version)
                                        and ``ingests`` (per-file log)

Re-ingesting a file replaces its rows (the file id is a hash of its absolute path).

Imports are all-or-nothing (issue #11): a ``Staging`` writes every table of every file of one
import to hidden temporary files; ``Staging.commit`` renames them to new names and then
replaces ``manifest.json`` in one ``os.replace``, the single commit point. A crash or a
rejected file before it leaves the manifest, and so the store, as it was (the staged files
are dropped or become orphans that the next commit removes). Stores written before the
manifest existed are read from their ``<file-id>.parquet`` files, and adopted at the next
commit.
Times are UTC epoch seconds (DOUBLE); bytes are IP-level (IP header and payload), the unit
NetFlow and Zeek's ``*_ip_bytes`` use, so the three input paths agree.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from coverwatch.errors import InputError
from coverwatch.traffic.model import MAX_COUNT, MIN_RECORD_TIME

SCHEMA_VERSION = 1
DB_NAME = "flows.duckdb"
MANIFEST = "manifest.json"
BATCH_ROWS = 65_536

FLOW_SCHEMA = pa.schema(
    [
        ("first_ts", pa.float64()),
        ("last_ts", pa.float64()),
        ("proto", pa.string()),
        ("src_ip", pa.string()),
        ("src_port", pa.int32()),
        ("dst_ip", pa.string()),
        ("dst_port", pa.int32()),
        ("bytes_out", pa.int64()),
        ("packets_out", pa.int64()),
        ("bytes_in", pa.int64()),
        ("packets_in", pa.int64()),
        ("dns_name", pa.string()),
        ("source", pa.string()),
        ("file", pa.string()),
    ]
)
DNS_SCHEMA = pa.schema(
    [
        ("ts", pa.float64()),
        ("client", pa.string()),
        ("name", pa.string()),
        ("address", pa.string()),
        ("file", pa.string()),
    ]
)
PORTMAP_SCHEMA = pa.schema(
    [
        ("ts", pa.float64()),
        ("device_ip", pa.string()),
        ("router_ip", pa.string()),
        ("kind", pa.string()),
        ("external_port", pa.int32()),
        ("internal_port", pa.int32()),
        ("protocol", pa.string()),
        ("file", pa.string()),
    ]
)
TABLES = {"flows": FLOW_SCHEMA, "dns": DNS_SCHEMA, "portmaps": PORTMAP_SCHEMA}

#: Latest time a Python datetime can hold (9999-12-31T23:59:59Z).
_LAST_TIME = 253_402_300_799.0


def _time_sql(column: str) -> str:
    # NOTE: no isfinite(): NaN sorts above every number in DuckDB and in Spark SQL, so BETWEEN
    # two finite bounds already drops NaN and infinities, in the dialect both engines share.
    return f"({column} BETWEEN {MIN_RECORD_TIME} AND {_LAST_TIME})"


#: What every reader (DuckDB or Spark) sees of each table. Ingest rejects bad records before
#: they are written; this keeps a store written by an earlier version, before those checks,
#: usable (issue #11).
SANE = {
    "flows": " AND ".join(
        [
            _time_sql("first_ts"),
            _time_sql("last_ts"),
            *(
                f"{c} BETWEEN 0 AND {MAX_COUNT}"
                for c in ("bytes_out", "packets_out", "bytes_in", "packets_in")
            ),
        ]
    ),
    "dns": _time_sql("ts"),
    "portmaps": _time_sql("ts"),
}


def file_id(path: str) -> str:
    """Stable id of an input file in the store."""
    return hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:20]


class RowWriter:
    """Buffers rows of one table for one input file and writes them as Parquet row groups.

    Memory stays bounded by ``BATCH_ROWS`` rows whatever the input size.
    """

    def __init__(self, store_dir: str, table: str, fid: str) -> None:
        self.schema = TABLES[table]
        self.table = table
        self.fid = fid
        folder = Path(store_dir) / table
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{fid}-{uuid.uuid4().hex[:12]}"
        self.path = folder / f"{name}.parquet"
        self.tmp = folder / f".{name}.parquet.tmp"
        self.columns: list[list[Any]] = [[] for _ in self.schema.names]
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    def add(self, row: tuple[Any, ...]) -> None:
        """Append one row (values in schema order)."""
        for column, value in zip(self.columns, row, strict=True):
            column.append(value)
        self.rows += 1
        if len(self.columns[0]) >= BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self.columns[0]:
            return
        batch = pa.record_batch(
            [pa.array(c, type=f.type) for c, f in zip(self.columns, self.schema, strict=True)],
            schema=self.schema,
        )
        if self.writer is None:
            self.writer = pq.ParquetWriter(str(self.tmp), self.schema, compression="zstd")
        self.writer.write_batch(batch)
        self.columns = [[] for _ in self.schema.names]

    def close(self) -> None:
        """Finish the staged file (an empty table still gets one, replacing older rows).

        Nothing is visible in the store until ``Staging.commit``.
        """
        self._flush()
        if self.writer is None:
            pq.write_table(self.schema.empty_table(), str(self.tmp))
        else:
            self.writer.close()
            self.writer = None

    def abort(self) -> None:
        """Drop a half-written file."""
        if self.writer is not None:
            with contextlib.suppress(OSError, pa.ArrowException):  # dropped anyway
                self.writer.close()
            self.writer = None
        self.tmp.unlink(missing_ok=True)


class Staging:
    """The staged tables of one import, made visible together by ``commit`` or not at all."""

    def __init__(self, store_dir: str) -> None:
        self.root = Path(store_dir)
        self.writers: list[RowWriter] = []

    def writer(self, table: str, fid: str) -> RowWriter:
        """A writer for one table of one input file, staged in this import."""
        writer = RowWriter(str(self.root), table, fid)
        self.writers.append(writer)
        return writer

    def abort(self) -> None:
        """Drop everything staged; the store stays as it was."""
        for writer in self.writers:
            writer.abort()
        self.writers = []

    def commit(self) -> None:
        """Publish every staged (closed) file at once, replacing older rows of the same files."""
        try:
            with _locked(self.root):
                self._publish()
                # NOTE: safe: an import holds the store's DuckDB file, which DuckDB locks
                # against other processes, and ``replace_rows`` stages only under the lock,
                # so staged files other than ours are a killed import's leftovers.
                _drop_stale(self.root)
        except OSError as e:
            self.abort()
            raise InputError(f"{self.root}: cannot write the flow store: {e.strerror or e}") from e

    def _publish(self) -> None:
        """Rename the staged files into place and replace the manifest (under the lock)."""
        listed = read_manifest(self.root)
        for writer in self.writers:
            os.replace(writer.tmp, writer.path)
            listed.setdefault(writer.table, {})[writer.fid] = writer.path.name
        staged = self.root / f".{MANIFEST}.{uuid.uuid4().hex[:12]}.tmp"
        with staged.open("w", encoding="utf-8") as handle:
            json.dump({"schema_version": SCHEMA_VERSION, "tables": listed}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staged, self.root / MANIFEST)  # the commit point
        _drop_unlisted(self.root, listed)
        self.writers = []


def replace_rows(store_dir: str, fid: str, tables: dict[str, pa.Table]) -> None:
    """Make ``tables`` the rows of ``fid`` (replacing any it had) in one commit, written whole
    under the store's lock and without opening its DuckDB file: several processes (the central
    server's workers) may add rows to one store at the same time."""
    staging = Staging(store_dir)
    try:
        staging.root.mkdir(parents=True, exist_ok=True)
        with _locked(staging.root):
            for table, data in tables.items():
                pq.write_table(data, str(staging.writer(table, fid).tmp), compression="zstd")
            staging._publish()
    except OSError as e:
        staging.abort()
        raise InputError(f"{store_dir}: cannot write the flow store: {e.strerror or e}") from e


class _locked:
    """An exclusive advisory lock on the store for a manifest update (concurrent imports)."""

    def __init__(self, root: Path) -> None:
        self.path = root / ".lock"
        self.fd = -1

    def __enter__(self) -> None:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def read_manifest(root: Path) -> dict[str, dict[str, str]]:
    """``{table: {file_id: parquet file name}}``: the manifest, or the files of an older store.

    InputError when the manifest exists but is not one this version wrote.
    """
    path = root / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {t: {p.stem: p.name for p in (root / t).glob("*.parquet")} for t in TABLES}
    except OSError as e:
        raise InputError(f"{path}: unreadable flow store manifest ({e})") from e
    return parse_manifest(text, str(path))


def parse_manifest(text: str, path: str) -> dict[str, dict[str, str]]:
    """``{table: {file_id: parquet file name}}`` from a manifest's text (read from ``path``,
    a local file or a URL); InputError when it is not one this version wrote."""
    try:
        document = json.loads(text)
    except ValueError as e:
        raise InputError(f"{path}: unreadable flow store manifest ({e})") from e
    tables = document.get("tables") if isinstance(document, dict) else None
    if not isinstance(tables, dict) or not all(
        isinstance(v, dict) and all(isinstance(n, str) and "/" not in n for n in v.values())
        for v in tables.values()
    ):
        raise InputError(f"{path}: not a flow store manifest")
    return {t: dict(tables.get(t, {})) for t in TABLES}


def _drop_stale(root: Path) -> None:
    """Remove staged files a killed import left behind."""
    for table in TABLES:
        for path in (root / table).glob(".*.parquet.tmp"):
            path.unlink(missing_ok=True)
    for path in root.glob(f".{MANIFEST}.*.tmp"):
        path.unlink(missing_ok=True)


def _drop_unlisted(root: Path, listed: dict[str, dict[str, str]]) -> None:
    """Remove superseded and orphaned Parquet files (under the lock, after the commit)."""
    for table in TABLES:
        keep = set(listed.get(table, {}).values())
        for path in (root / table).glob("*.parquet"):
            if path.name not in keep:
                path.unlink(missing_ok=True)


def connect(store_dir: str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store's DuckDB database with current views over its Parquet files.

    ``read_only``: an in-memory database with the same views instead, which writes nothing
    and takes no lock, so any number of processes may read the store at once (the store's
    DuckDB file admits one process at a time); a store not written yet reads as empty."""
    root = Path(store_dir)
    if read_only:
        con = duckdb.connect()
        _views(con, root)
        return con
    try:
        root.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(root / DB_NAME))
    except (OSError, duckdb.Error) as e:
        raise InputError(f"{store_dir}: cannot open the flow store: {e}") from e
    con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    con.execute(
        "CREATE TABLE IF NOT EXISTS ingests (file_id VARCHAR PRIMARY KEY, path VARCHAR, "
        "kind VARCHAR, report VARCHAR, ingested_at TIMESTAMP DEFAULT current_timestamp)"
    )
    _views(con, root)
    return con


def _views(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """(Re)create the views ``flows``, ``dns`` and ``portmaps`` over the manifest's files."""
    manifest = read_manifest(root)
    for table, schema in TABLES.items():
        files = sorted(str(root / table / name) for name in manifest[table].values())
        if files:
            listed = ", ".join(_literal(f) for f in files)
            con.execute(
                f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet([{listed}]) "
                f"WHERE {SANE[table]}"
            )
        else:
            columns = ", ".join(f"CAST(NULL AS {_sql_type(f.type)}) AS {f.name}" for f in schema)
            con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT {columns} WHERE false")


def _literal(text: str) -> str:
    # NOTE: DuckDB does not take prepared parameters in CREATE VIEW; the paths are the store's
    # own file names, quoted as SQL string literals.
    return "'" + text.replace("'", "''") + "'"


def _sql_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_floating(arrow_type):
        return "DOUBLE"
    if pa.types.is_int32(arrow_type):
        return "INTEGER"
    if pa.types.is_integer(arrow_type):
        return "BIGINT"
    return "VARCHAR"


def record_ingest(con: duckdb.DuckDBPyConnection, fid: str, path: str, report: Any) -> None:
    """Log one file's ingest report in the database."""
    con.execute(
        "INSERT OR REPLACE INTO ingests (file_id, path, kind, report) VALUES (?, ?, ?, ?)",
        [fid, path, report["kind"], json.dumps(report)],
    )

"""The flow store: Parquet files (one set per input file) plus a DuckDB database of views.

Layout under ``store_dir``::

    flows/<file-id>.parquet      one flow per row (schema ``FLOW_SCHEMA``)
    dns/<file-id>.parquet        address <- name pairs learned from DNS answers
    portmaps/<file-id>.parquet   UPnP port-mapping requests seen in captures
    flows.duckdb                 views ``flows``, ``dns``, ``portmaps`` over those files,
                                 table ``meta`` (schema_version) and ``ingests`` (per-file log)

Re-ingesting a file replaces its rows (the file id is a hash of its absolute path).
Times are UTC epoch seconds (DOUBLE); bytes are IP-level (IP header and payload), the unit
NetFlow and Zeek's ``*_ip_bytes`` use, so the three input paths agree.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from coverwatch.errors import InputError

SCHEMA_VERSION = 1
DB_NAME = "flows.duckdb"
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


def file_id(path: str) -> str:
    """Stable id of an input file in the store."""
    return hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:20]


class RowWriter:
    """Buffers rows of one table for one input file and writes them as Parquet row groups.

    Memory stays bounded by ``BATCH_ROWS`` rows whatever the input size.
    """

    def __init__(self, store_dir: str, table: str, fid: str) -> None:
        self.schema = TABLES[table]
        folder = Path(store_dir) / table
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{fid}.parquet"
        self.tmp = folder / f".{fid}.parquet.tmp"
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
        """Finish the file (an empty table still gets a file, replacing older rows)."""
        self._flush()
        if self.writer is None:
            pq.write_table(self.schema.empty_table(), str(self.tmp))
        else:
            self.writer.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        """Drop a half-written file."""
        if self.writer is not None:
            self.writer.close()
        self.tmp.unlink(missing_ok=True)


def connect(store_dir: str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store's DuckDB database with current views over its Parquet files."""
    root = Path(store_dir)
    db = root / DB_NAME
    if read_only and not db.exists():
        raise InputError(f"{store_dir}: not a flow store (no {DB_NAME}); run traffic import first")
    try:
        root.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(db))
    except (OSError, duckdb.Error) as e:
        raise InputError(f"{store_dir}: cannot open the flow store: {e}") from e
    con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    con.execute(
        "CREATE TABLE IF NOT EXISTS ingests (file_id VARCHAR PRIMARY KEY, path VARCHAR, "
        "kind VARCHAR, report VARCHAR, ingested_at TIMESTAMP DEFAULT current_timestamp)"
    )
    for table, schema in TABLES.items():
        files = sorted(str(p) for p in (root / table).glob("*.parquet"))
        if files:
            listed = ", ".join(_literal(f) for f in files)
            con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet([{listed}])")
        else:
            columns = ", ".join(f"CAST(NULL AS {_sql_type(f.type)}) AS {f.name}" for f in schema)
            con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT {columns} WHERE false")
    return con


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

"""The egress aggregations in Spark SQL, over the same Parquet layout the store writes.

The store may be a local folder or any URL the user's Spark reads (``hdfs://``, ``s3a://``...):
the files are those ``manifest.json`` lists, as for DuckDB, with the same row filter. pyspark
is the optional ``spark`` extra, imported only here and only when Spark is chosen; it needs a
Java runtime.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pyarrow as pa

from coverwatch.errors import InputError
from coverwatch.traffic.engines.interface import (
    MAPPING_SITE_SQL,
    SITE_SQL,
    Aggregates,
    EgressQueries,
    FlowEngine,
    Held,
    Thresholds,
)
from coverwatch.traffic.table import MANIFEST, SANE, TABLES, parse_manifest, read_manifest

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_STATS = """
WITH spans AS (
    SELECT device, greatest(first_ts, :lo) AS b, least(last_ts + :gap, :hi) AS e
    FROM dflows
), ordered AS (
    SELECT device, b, e, max(e) OVER (PARTITION BY device ORDER BY b
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
    FROM spans
)
-- union length of sorted intervals: each adds what reaches past all earlier ones
SELECT device, count(*), sum(greatest(0, e - greatest(b, coalesce(reach, b))))
FROM ordered GROUP BY device
"""

_DESTINATIONS = """
WITH agg AS (
    SELECT /*+ BROADCAST(o) */ f.device, f.remote, f.proto, f.port, f.outbound, o.country,
           sum(CAST(f.sent AS DECIMAL(38, 0))) AS sent,
           sum(CAST(f.received AS DECIMAL(38, 0))) AS received,
           count(*) AS flows, min(f.first_ts) AS first_ts, max(f.last_ts) AS last_ts,
           max(f.dns_name) AS dns_name
    FROM dflows f JOIN outside o ON f.remote = o.addr
    GROUP BY f.device, f.remote, f.proto, f.port, f.outbound, o.country
), by_client AS (
    SELECT client, address, max_by(name, struct(ts, name)) AS name FROM dns
    GROUP BY client, address
), by_address AS (
    SELECT address, max_by(name, struct(ts, name)) AS name FROM dns GROUP BY address
)
SELECT a.device, a.remote, a.proto, a.port, a.outbound, a.country, a.sent, a.received,
       a.flows, a.first_ts, a.last_ts, coalesce(a.dns_name, c.name, n.name)
FROM agg a
LEFT JOIN by_client c ON c.client = a.device AND c.address = a.remote
LEFT JOIN by_address n ON n.address = a.remote
"""

_UPLOADS = """
SELECT /*+ BROADCAST(o) */ f.device, f.remote, max(f.dns_name), sum(CAST(f.sent AS DECIMAL(38, 0))),
       max(f.last_ts) - min(f.first_ts)
FROM dflows f JOIN outside o ON f.remote = o.addr
GROUP BY f.device, f.remote
HAVING max(f.last_ts) - min(f.first_ts) >= :min_seconds
   AND CAST(sum(f.sent) AS DOUBLE) * 8.0 / (max(f.last_ts) - min(f.first_ts)) >= :bps
"""

#: The master URLs spark-submit accepts (else it exits with a Java stack trace on stderr).
_MASTER = re.compile(r"local(\[[^\]\s]+\])?|local-cluster\[[^\]\s]+\]|yarn|(spark|mesos|k8s)://\S+")

#: Spark's driver log configuration: errors only (the progress bar is off too).
_LOG = (Path(__file__).parent / "log4j2.properties").as_uri()

_SPARK_TYPES = {
    pa.float64(): "DOUBLE",
    pa.int32(): "INT",
    pa.int64(): "BIGINT",
    pa.string(): "STRING",
}


def _ddl(schema: pa.Schema) -> str:
    return ", ".join(f"{f.name} {_SPARK_TYPES[f.type]}" for f in schema)


class SparkQueries(EgressQueries):
    """The aggregations in one Spark session of their own (temp views do not leak)."""

    def __init__(self, spark: SparkSession, store_dir: str) -> None:
        self.spark = spark
        self.store = store_dir
        self.dflows: DataFrame | None = None
        try:
            for table, files in _files(spark, store_dir).items():
                schema = _ddl(TABLES[table])
                frame = (
                    spark.read.schema(schema).parquet(*files)
                    if files
                    else spark.createDataFrame([], schema)
                )
                frame.where(SANE[table]).createOrReplaceTempView(table)
        except _errors() as e:
            _fail(store_dir, e)

    def span(self) -> tuple[float | None, float | None]:
        """First and last flow time in the store."""
        row = self._rows("SELECT min(first_ts), max(last_ts) FROM flows")[0]
        return row[0], row[1]

    def select(self, held: list[Held], start: float | None, end: float | None) -> list[str]:
        """Views ``devices`` and ``dflows`` (cached: every aggregation reads it)."""
        from pyspark import StorageLevel

        spark = self.spark
        rows = [tuple(h) for h in held]
        devices = spark.createDataFrame(rows, "addr STRING, ip STRING, site_file STRING")
        devices.distinct().createOrReplaceTempView("devices")
        window = "f.last_ts >= :start AND f.first_ts <= :end" if start is not None else "true"
        window += f" AND {SITE_SQL}"
        sql = f"""
            SELECT /*+ BROADCAST(d) */ d.ip AS device, f.first_ts, f.last_ts, true AS outbound,
                   f.dst_ip AS remote, f.proto, f.dst_port AS port, f.bytes_out AS sent,
                   f.bytes_in AS received, f.dns_name
            FROM flows f JOIN devices d ON f.src_ip = d.addr WHERE {window}
            UNION ALL
            SELECT /*+ BROADCAST(d) */ d.ip, f.first_ts, f.last_ts, false, f.src_ip, f.proto,
                   f.dst_port, f.bytes_in, f.bytes_out, f.dns_name
            FROM flows f JOIN devices d ON f.dst_ip = d.addr
            WHERE f.src_ip <> f.dst_ip AND {window}
        """
        try:
            args = {"start": start, "end": end} if start is not None else {}
            self.dflows = spark.sql(sql, args=args).persist(StorageLevel.MEMORY_AND_DISK)
            self.dflows.createOrReplaceTempView("dflows")
        except _errors() as e:
            _fail(self.store, e)
        return [r[0] for r in self._rows("SELECT DISTINCT remote FROM dflows")]

    def aggregate(
        self, outside: list[str], country: list[str | None], limits: Thresholds, windowed: bool
    ) -> Aggregates:
        """View ``outside``, then the four aggregations."""
        self.spark.createDataFrame(
            list(zip(outside, country, strict=True)), "addr STRING, country STRING"
        ).createOrReplaceTempView("outside")
        window = "p.ts BETWEEN :lo AND :hi" if windowed else "true"
        return Aggregates(
            stats=self._rows(_STATS, lo=limits.lo, hi=limits.hi, gap=limits.coverage_gap),
            destinations=self._rows(_DESTINATIONS),
            uploads=self._rows(
                _UPLOADS, min_seconds=limits.upload_min_seconds, bps=limits.upload_bps
            ),
            mappings=self._rows(
                f"""
                SELECT d.ip, p.router_ip, p.kind, p.ts, p.external_port, p.internal_port,
                       p.protocol
                FROM portmaps p JOIN devices d ON p.device_ip = d.addr
                WHERE {window} AND {MAPPING_SITE_SQL}
                """,
                **({"lo": limits.lo, "hi": limits.hi} if windowed else {}),
            ),
        )

    def close(self) -> None:
        """Drop the cached flows."""
        if self.dflows is not None:
            self.dflows.unpersist()
            self.dflows = None

    def _rows(self, sql: str, **args: Any) -> list[Any]:
        try:
            return [tuple(row) for row in self.spark.sql(sql, args=args).collect()]
        except _errors() as e:
            _fail(self.store, e)


def _files(spark: SparkSession, store_dir: str) -> dict[str, list[str]]:
    """The Parquet files of each table: those the manifest lists (a store written before the
    manifest: every ``*.parquet`` of the table's folder)."""
    if "://" not in store_dir:
        root = Path(store_dir).absolute()
        listed = read_manifest(root)
        # NOTE: file: explicitly, or a cluster whose default file system is HDFS would look
        # for the path there; as a string, not as_uri(): Hadoop does not decode %20.
        return {t: sorted(f"file://{root / t / n}" for n in listed[t].values()) for t in TABLES}
    base = store_dir.rstrip("/")
    try:
        rows = spark.read.text(f"{base}/{MANIFEST}", wholetext=True).collect()
    except _errors() as e:
        if "PATH_NOT_FOUND" not in str(e):
            _fail(store_dir, e)
        return {t: [f"{base}/{t}/*.parquet"] for t in TABLES}
    listed = parse_manifest(rows[0][0] if rows else "", f"{base}/{MANIFEST}")
    return {t: sorted(f"{base}/{t}/{n}" for n in listed[t].values()) for t in TABLES}


def _errors() -> tuple[type[Exception], ...]:
    """What Spark raises: its own errors, and the JVM's through py4j."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JError)


def _fail(where: str, e: Exception) -> NoReturn:
    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
    raise InputError(f"{where}: Spark could not run the egress analysis: {first}") from e


class SparkEngine(FlowEngine):
    """Spark, local or on a cluster: ``master`` is a Spark master URL (``local[*]``,
    ``spark://host:7077``, ``yarn``...); an active session (tests, notebooks) is reused."""

    def __init__(self, master: str | None = None) -> None:
        super().__init__(master or "local[*]")
        self.master: str = master or "local[*]"

    def open(self, store_dir: str) -> EgressQueries:
        """A session of its own on the shared Spark context."""
        return SparkQueries(self.session().newSession(), store_dir)

    def session(self) -> SparkSession:
        """The Spark session (started on first use; an active one is reused)."""
        made = builder(self.master)
        try:
            spark = made.getOrCreate()
        except _errors() as e:
            _fail(self.master, e)
        spark.sparkContext.setLogLevel("ERROR")
        return spark


def builder(master: str, **conf: str) -> SparkSession.Builder:
    """A session builder for ``master``, quiet (errors only, no progress bar, no web UI),
    with any further Spark settings in ``conf``. InputError when pyspark or Java is missing."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        raise InputError("--engine spark needs the spark extra: pip install -e '.[spark]'") from e
    if not _MASTER.fullmatch(master):
        raise InputError(
            f"--master {master!r} is not a Spark master URL: local[N], spark://host:7077, yarn, "
            "k8s://https://host:443 or mesos://host:5050"
        )
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise InputError(
            "--engine spark needs Java 17 or later: apt install openjdk-17-jre-headless"
        )
    made = (
        SparkSession.builder.master(master)
        .appName("coverwatch egress")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_LOG}")
    )
    for key, value in conf.items():
        made = made.config(key, value)
    return made

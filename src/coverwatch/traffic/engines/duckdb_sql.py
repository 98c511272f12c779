"""The egress aggregations in DuckDB SQL, over the store's views (``traffic.table.connect``)."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from coverwatch.traffic.engines.interface import (
    MAPPING_SITE_SQL,
    SITE_SQL,
    Aggregates,
    EgressQueries,
    FlowEngine,
    Held,
    Thresholds,
)
from coverwatch.traffic.table import connect

_STATS = """
WITH spans AS (
    SELECT device, greatest(first_ts, $lo) AS b, least(last_ts + $gap, $hi) AS e
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
    SELECT f.device, f.remote, f.proto, f.port, f.outbound, o.country,
           sum(f.sent)::HUGEINT AS sent, sum(f.received)::HUGEINT AS received,
           count(*) AS flows, min(f.first_ts) AS first_ts, max(f.last_ts) AS last_ts,
           max(f.dns_name) AS dns_name
    FROM dflows f JOIN outside o ON f.remote = o.addr
    GROUP BY ALL
), by_client AS (
    SELECT client, address, arg_max(name, (ts, name)) AS name FROM dns GROUP BY ALL
), by_address AS (
    SELECT address, arg_max(name, (ts, name)) AS name FROM dns GROUP BY ALL
)
SELECT a.device, a.remote, a.proto, a.port, a.outbound, a.country, a.sent, a.received,
       a.flows, a.first_ts, a.last_ts, coalesce(a.dns_name, c.name, n.name)
FROM agg a
LEFT JOIN by_client c ON c.client = a.device AND c.address = a.remote
LEFT JOIN by_address n ON n.address = a.remote
"""

_UPLOADS = """
SELECT f.device, f.remote, max(f.dns_name), sum(f.sent)::HUGEINT AS sent,
       max(f.last_ts) - min(f.first_ts) AS seconds
FROM dflows f JOIN outside o ON f.remote = o.addr
GROUP BY f.device, f.remote
HAVING seconds >= $min_seconds AND sent * 8.0 / seconds >= $bps
"""


class DuckDbQueries(EgressQueries):
    """The aggregations on one DuckDB connection to the store (temp tables, then rows)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def span(self) -> tuple[float | None, float | None]:
        """First and last flow time in the store."""
        rows = self.con.execute("SELECT min(first_ts), max(last_ts) FROM flows").fetchall()
        return (rows[0][0], rows[0][1]) if rows else (None, None)

    def select(self, held: list[Held], start: float | None, end: float | None) -> list[str]:
        """Temp tables ``devices`` and ``dflows``; the distinct remotes."""
        con = self.con
        columns = list(zip(*held, strict=True)) if held else [(), (), ()]
        con.register(
            "devices_arrow",
            pa.table(
                {
                    name: pa.array(values, pa.string())
                    for name, values in zip(("addr", "ip", "site_file"), columns, strict=True)
                }
            ),
        )
        con.execute(
            "CREATE TEMP TABLE devices AS SELECT DISTINCT addr, ip, site_file FROM devices_arrow"
        )
        window = "f.last_ts >= $start AND f.first_ts <= $end" if start is not None else "true"
        window += f" AND {SITE_SQL}"
        con.execute(
            f"""
            CREATE TEMP TABLE dflows AS
            SELECT d.ip AS device, f.first_ts, f.last_ts, true AS outbound, f.dst_ip AS remote,
                   f.proto, f.dst_port AS port, f.bytes_out AS sent, f.bytes_in AS received,
                   f.dns_name
            FROM flows f JOIN devices d ON f.src_ip = d.addr WHERE {window}
            UNION ALL
            SELECT d.ip, f.first_ts, f.last_ts, false, f.src_ip, f.proto, f.dst_port,
                   f.bytes_in, f.bytes_out, f.dns_name
            FROM flows f JOIN devices d ON f.dst_ip = d.addr
            WHERE f.src_ip <> f.dst_ip AND {window}
            """,
            {"start": start, "end": end} if start is not None else {},
        )
        return [r[0] for r in con.execute("SELECT DISTINCT remote FROM dflows").fetchall()]

    def aggregate(
        self, outside: list[str], country: list[str | None], limits: Thresholds, windowed: bool
    ) -> Aggregates:
        """Temp table ``outside``, then the four aggregations."""
        con = self.con
        con.register(
            "outside_arrow",
            pa.table(
                {"addr": pa.array(outside, pa.string()), "country": pa.array(country, pa.string())}
            ),
        )
        con.execute("CREATE TEMP TABLE outside AS SELECT * FROM outside_arrow")
        stats = con.execute(
            _STATS, {"lo": limits.lo, "hi": limits.hi, "gap": limits.coverage_gap}
        ).fetchall()
        uploads = con.execute(
            _UPLOADS, {"min_seconds": limits.upload_min_seconds, "bps": limits.upload_bps}
        ).fetchall()
        window = "p.ts BETWEEN $lo AND $hi" if windowed else "true"
        mappings = con.execute(
            f"""
            SELECT d.ip, p.router_ip, p.kind, p.ts, p.external_port, p.internal_port, p.protocol
            FROM portmaps p JOIN devices d ON p.device_ip = d.addr
            WHERE {window} AND {MAPPING_SITE_SQL}
            """,
            {"lo": limits.lo, "hi": limits.hi} if windowed else {},
        ).fetchall()
        return Aggregates(stats, con.execute(_DESTINATIONS).fetchall(), uploads, mappings)

    def close(self) -> None:
        """Close the connection (temp tables go with it)."""
        self.con.close()


class DuckDbEngine(FlowEngine):
    """DuckDB in this process: the default, for a store on this machine."""

    def open(self, store_dir: str) -> EgressQueries:
        """A connection with the store's views."""
        return DuckDbQueries(connect(store_dir, read_only=True))

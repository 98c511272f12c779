"""``traffic.linkage``: observed traffic between declared zones ("linked to a core network").

Each address of the flow table is placed in the zone with its most specific matching range
(Python, over distinct addresses); DuckDB then aggregates flows whose two ends are in
different zones, per (initiator zone, responder zone).
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from coverwatch.traffic.addresses import networks, zone_of
from coverwatch.traffic.model import ZoneLink
from coverwatch.traffic.table import connect

_TOP = 20


def linkage(
    store_dir: str,
    zones: list[tuple[str, list[str]]],
    window: tuple[datetime, datetime] | None = None,
) -> list[ZoneLink]:
    """Flows between zones, most bytes first; addresses in no zone are ignored."""
    parsed = [(name, networks(cidrs, f"zone {name}")) for name, cidrs in zones]
    con = connect(store_dir, read_only=True)
    try:
        where = "last_ts >= $start AND first_ts <= $end" if window else "true"
        params = {"start": window[0].timestamp(), "end": window[1].timestamp()} if window else {}
        addresses = [
            r[0]
            for r in con.execute(
                f"SELECT src_ip FROM flows WHERE {where} UNION SELECT dst_ip FROM flows "
                f"WHERE {where}",
                params,
            ).fetchall()
        ]
        placed = zone_of(addresses, parsed)
        con.register(
            "zones_arrow",
            pa.table(
                {
                    "addr": pa.array([a for a, z in zip(addresses, placed, strict=True) if z]),
                    "zone": pa.array([z for z in placed if z], pa.string()),
                }
            ),
        )
        con.execute("CREATE TEMP TABLE addr_zone AS SELECT * FROM zones_arrow")
        con.execute(
            f"""
            CREATE TEMP TABLE zflows AS
            SELECT s.zone AS src_zone, d.zone AS dst_zone, f.*
            FROM flows f JOIN addr_zone s ON f.src_ip = s.addr JOIN addr_zone d ON f.dst_ip = d.addr
            WHERE s.zone <> d.zone AND {where}
            """,
            params,
        )
        totals = con.execute(
            """
            SELECT src_zone, dst_zone, min(first_ts), max(last_ts), sum(bytes_out)::BIGINT,
                   sum(bytes_in)::BIGINT, count(*)
            FROM zflows GROUP BY ALL ORDER BY sum(bytes_out) + sum(bytes_in) DESC
            """
        ).fetchall()
        ports = _top(con, "proto || '/' || dst_port")
        pairs = _top(con, "src_ip || ' ' || dst_ip")
    finally:
        con.close()
    return [
        ZoneLink(
            src_zone=src,
            dst_zone=dst,
            first_seen=datetime.fromtimestamp(b, UTC),
            last_seen=datetime.fromtimestamp(e, UTC),
            ports=tuple(ports.get((src, dst), [])),
            bytes_forward=int(fwd),
            bytes_reverse=int(rev),
            flows=int(n),
            pairs=tuple((p.split(" ")[0], p.split(" ")[1]) for p in pairs.get((src, dst), [])),
        )
        for src, dst, b, e, fwd, rev, n in totals
    ]


def _top(con: duckdb.DuckDBPyConnection, expression: str) -> dict[tuple[str, str], list[str]]:
    """The ``_TOP`` values of ``expression`` with most bytes, per zone pair."""
    rows = con.execute(
        f"""
        SELECT src_zone, dst_zone, key FROM (
            SELECT src_zone, dst_zone, {expression} AS key,
                   row_number() OVER (PARTITION BY src_zone, dst_zone
                                      ORDER BY sum(bytes_out + bytes_in) DESC, key) AS rank
            FROM zflows GROUP BY src_zone, dst_zone, key
        ) WHERE rank <= {_TOP} ORDER BY src_zone, dst_zone, rank
        """
    ).fetchall()
    found: dict[tuple[str, str], list[str]] = {}
    for src, dst, key in rows:
        found.setdefault((src, dst), []).append(key)
    return found

"""``traffic.egress``: per device, every flow that left the internal ranges, and a verdict.

The heavy lifting is DuckDB SQL over the store's Parquet files: the device's flows (as
initiator or responder) in the window, the distinct remote addresses (classified in Python:
internal or not, country), aggregates per destination, sustained uploads, and coverage (the
union of flow spans, each extended by ``coverage_gap`` seconds, clipped to the window).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from coverwatch.models import DeviceRecord
from coverwatch.traffic.addresses import countries, external, networks
from coverwatch.traffic.endpoints import EndpointBook, load_endpoints
from coverwatch.traffic.model import (
    Destination,
    DeviceEgress,
    EgressVerdict,
    LargeUpload,
    MatchKind,
    PortMapping,
    beyond_maker,
)
from coverwatch.traffic.table import connect


@dataclass(frozen=True)
class EgressOptions:
    """Thresholds of the analysis."""

    upload_bps: float = 1_000_000.0
    """Average outbound bit rate to one destination that counts as a large upload."""
    upload_min_seconds: float = 60.0
    """Shortest span over which that rate must hold."""
    coverage_gap: float = 60.0
    """Seconds after a flow's last packet that still count as observed time."""


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(float(value), UTC)


def egress(
    store_dir: str,
    devices: list[DeviceRecord],
    internal: list[str],
    window: tuple[datetime, datetime] | None = None,
    options: EgressOptions | None = None,
    endpoints: EndpointBook | None = None,
) -> list[DeviceEgress]:
    """The egress statement of every device (same order as ``devices``)."""
    options = options or EgressOptions()
    book = endpoints or load_endpoints()
    inside = networks(internal, "internal ranges")
    con = connect(store_dir)
    try:
        start, end = _window(con, window)
        _device_flows(con, devices, start, end)
        remotes = [r[0] for r in con.execute("SELECT DISTINCT remote FROM dflows").fetchall()]
        outside = external(remotes, inside)
        con.register(
            "outside_arrow",
            pa.table({"addr": pa.array(outside, pa.string()), "country": countries(outside)}),
        )
        con.execute("CREATE TEMP TABLE outside AS SELECT * FROM outside_arrow")
        stats = _stats(con, start, end, options)
        dests = _destinations(con, book)
        uploads = _uploads(con, options)
        mappings = _port_mappings(con, start, end)
    finally:
        con.close()
    shown = (_ts(start), _ts(end)) if start is not None and end is not None else None
    results = []
    for device in devices:
        flows, coverage = stats.get(device.ip, (0, 0.0))
        mine = tuple(sorted(dests.get(device.ip, []), key=lambda d: -d.bytes_sent))
        results.append(
            DeviceEgress(
                ip=device.ip,
                verdict=_verdict(flows, mine, device.attribution.maker),
                window=window or shown,
                coverage_hours=round(coverage / 3600.0, 4),
                flows_seen=flows,
                destinations=mine,
                large_uploads=tuple(uploads.get(device.ip, [])),
                port_mappings=tuple(mappings.get(device.ip, [])),
                mac=device.mac,
                maker=device.attribution.maker,
            )
        )
    return results


def device_addresses(devices: list[DeviceRecord]) -> dict[str, str]:
    """Address -> the current address of the device whose traffic it carries: every address a
    device has held counts as the device's (a DHCP renewal does not split its egress), an
    address several devices have held as the latest holder's, a current address as its own."""
    latest: dict[str, tuple[datetime, str]] = {}
    never = datetime.min.replace(tzinfo=UTC)
    for device in devices:
        for address in device.addresses:
            seen = (address.last_seen or never, device.ip)
            if address.ip not in latest or seen > latest[address.ip]:
                latest[address.ip] = seen
    held = {addr: ip for addr, (_, ip) in latest.items()}
    held.update((d.ip, d.ip) for d in devices)
    return held


def last_record(store_dir: str) -> datetime | None:
    """When the store's latest flow ended (None for an empty store): the default end of a
    ``--window`` duration, so that replaying an old capture still finds its traffic."""
    con = connect(store_dir)
    try:
        rows = con.execute("SELECT max(last_ts) FROM flows").fetchall()
    finally:
        con.close()
    latest = rows[0][0] if rows else None
    return _ts(latest) if latest is not None else None


def _window(
    con: duckdb.DuckDBPyConnection, window: tuple[datetime, datetime] | None
) -> tuple[float | None, float | None]:
    if window is not None:
        return window[0].timestamp(), window[1].timestamp()
    rows = con.execute("SELECT min(first_ts), max(last_ts) FROM flows").fetchall()
    row = rows[0] if rows else None
    return (row[0], row[1]) if row else (None, None)


def _device_flows(
    con: duckdb.DuckDBPyConnection,
    devices: list[DeviceRecord],
    start: float | None,
    end: float | None,
) -> None:
    held = device_addresses(devices)
    con.register(
        "devices_arrow",
        pa.table(
            {
                "ip": pa.array(list(held.values()), pa.string()),
                "addr": pa.array(list(held), pa.string()),
            }
        ),
    )
    con.execute("CREATE TEMP TABLE devices AS SELECT DISTINCT ip, addr FROM devices_arrow")
    window = "f.last_ts >= $start AND f.first_ts <= $end" if start is not None else "true"
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


def _stats(
    con: duckdb.DuckDBPyConnection,
    start: float | None,
    end: float | None,
    options: EgressOptions,
) -> dict[str, tuple[int, float]]:
    """Per device: flow rows and covered seconds (merged, gap-extended flow spans)."""
    lo = start if start is not None else -1e18
    hi = end if end is not None else 1e18
    rows = con.execute(
        """
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
        """,
        {"lo": lo, "hi": hi, "gap": options.coverage_gap},
    ).fetchall()
    return {device: (int(n), float(seconds)) for device, n, seconds in rows}


def _destinations(
    con: duckdb.DuckDBPyConnection, book: EndpointBook
) -> dict[str, list[Destination]]:
    rows = con.execute(
        """
        WITH agg AS (
            SELECT f.device, f.remote, f.proto, f.port, f.outbound, o.country,
                   sum(f.sent)::HUGEINT AS sent, sum(f.received)::HUGEINT AS received,
                   count(*) AS flows, min(f.first_ts) AS first_ts, max(f.last_ts) AS last_ts,
                   max(f.dns_name) AS dns_name
            FROM dflows f JOIN outside o ON f.remote = o.addr
            GROUP BY ALL
        ), by_client AS (
            SELECT client, address, arg_max(name, ts) AS name FROM dns GROUP BY ALL
        ), by_address AS (
            SELECT address, arg_max(name, ts) AS name FROM dns GROUP BY ALL
        )
        SELECT a.device, a.remote, a.proto, a.port, a.outbound, a.country, a.sent, a.received,
               a.flows, a.first_ts, a.last_ts, coalesce(a.dns_name, c.name, n.name)
        FROM agg a
        LEFT JOIN by_client c ON c.client = a.device AND c.address = a.remote
        LEFT JOIN by_address n ON n.address = a.remote
        """
    ).fetchall()
    found: dict[str, list[Destination]] = {}
    for device, remote, proto, port, outbound, country, sent, received, flows, b, e, name in rows:
        found.setdefault(device, []).append(
            Destination(
                remote_ip=remote,
                port=int(port),
                proto=proto,
                dns_name=name,
                country=country,
                endpoint=book.match(remote, name, proto, int(port)),
                bytes_sent=int(sent),
                bytes_received=int(received),
                flows=int(flows),
                first_seen=_ts(b),
                last_seen=_ts(e),
                initiated_by_device=bool(outbound),
            )
        )
    return found


def _uploads(
    con: duckdb.DuckDBPyConnection, options: EgressOptions
) -> dict[str, list[LargeUpload]]:
    rows = con.execute(
        """
        SELECT f.device, f.remote, max(f.dns_name), sum(f.sent)::HUGEINT AS sent,
               max(f.last_ts) - min(f.first_ts) AS seconds
        FROM dflows f JOIN outside o ON f.remote = o.addr
        GROUP BY f.device, f.remote
        HAVING seconds >= $min_seconds AND sent * 8.0 / seconds >= $bps
        ORDER BY sent DESC
        """,
        {"min_seconds": options.upload_min_seconds, "bps": options.upload_bps},
    ).fetchall()
    found: dict[str, list[LargeUpload]] = {}
    for device, remote, name, sent, seconds in rows:
        rate = sent * 8.0 / seconds / 1e6
        found.setdefault(device, []).append(
            LargeUpload(remote, name, int(sent), round(float(seconds), 3), round(rate, 3))
        )
    return found


def _port_mappings(
    con: duckdb.DuckDBPyConnection, start: float | None, end: float | None
) -> dict[str, list[PortMapping]]:
    window = "p.ts BETWEEN $start AND $end" if start is not None else "true"
    rows = con.execute(
        f"""
        SELECT d.ip, p.router_ip, p.kind, p.ts, p.external_port, p.internal_port,
               p.protocol
        FROM portmaps p JOIN devices d ON p.device_ip = d.addr WHERE {window} ORDER BY p.ts
        """,
        {"start": start, "end": end} if start is not None else {},
    ).fetchall()
    found: dict[str, list[PortMapping]] = {}
    for device, router, kind, ts, ext, internal, proto in rows:
        found.setdefault(device, []).append(
            PortMapping(device, router, kind, _ts(ts), ext, internal, proto)
        )
    return found


def _verdict(flows: int, destinations: tuple[Destination, ...], maker: str | None) -> EgressVerdict:
    """Worst first: unknown destination, then third party, then vendor cloud."""
    if not flows:
        return EgressVerdict.NO_TRAFFIC
    if not destinations:
        return EgressVerdict.NO_EGRESS
    verdict = EgressVerdict.VENDOR_CLOUD
    for dest in destinations:
        if dest.endpoint is None or dest.endpoint.match is MatchKind.PORT:
            return EgressVerdict.UNKNOWN_DESTINATION
        if beyond_maker(dest, maker):
            verdict = EgressVerdict.THIRD_PARTY
    return verdict

"""``traffic.egress``: per device, every flow that left the internal ranges, and a verdict.

The heavy lifting is SQL over the store's Parquet files, in DuckDB by default or in Spark
(``traffic.engines``): the device's flows (as initiator or responder) in the window, their
distinct remote addresses, aggregates per destination, sustained uploads, and coverage (the
union of flow spans, each extended by ``coverage_gap`` seconds, clipped to the window). The
rest is here, shared by both engines: which remotes are outside (and their country), which
endpoint each destination is, the ordering and the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from coverwatch.models import DeviceRecord
from coverwatch.traffic.addresses import countries, external, networks
from coverwatch.traffic.endpoints import EndpointBook, load_endpoints
from coverwatch.traffic.engines import DuckDbEngine, FlowEngine
from coverwatch.traffic.engines.interface import (
    DestinationRow,
    Held,
    MappingRow,
    Thresholds,
    UploadRow,
)
from coverwatch.traffic.model import (
    Destination,
    DeviceEgress,
    EgressVerdict,
    LargeUpload,
    MatchKind,
    PortMapping,
    beyond_maker,
    sensor_file,
)


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
    engine: FlowEngine | None = None,
) -> list[DeviceEgress]:
    """The egress statement of every device (same order as ``devices``); ``engine`` runs the
    aggregations (default: DuckDB in this process)."""
    options = options or EgressOptions()
    book = endpoints or load_endpoints()
    inside = networks(internal, "internal ranges")
    queries = (engine or DuckDbEngine()).open(store_dir)
    try:
        start, end = (window[0].timestamp(), window[1].timestamp()) if window else queries.span()
        remotes = queries.select(device_addresses(devices), start, end)
        outside = external(remotes, inside)
        limits = Thresholds(
            lo=start if start is not None else -1e18,
            hi=end if end is not None else 1e18,
            coverage_gap=options.coverage_gap,
            upload_bps=options.upload_bps,
            upload_min_seconds=options.upload_min_seconds,
        )
        found = queries.aggregate(outside, countries(outside), limits, start is not None)
    finally:
        queries.close()
    stats = {device: (int(n), float(seconds)) for device, n, seconds in found.stats}
    dests = _destinations(found.destinations, book)
    uploads = _uploads(found.uploads)
    mappings = _port_mappings(found.mappings)
    shown = (_ts(start), _ts(end)) if start is not None and end is not None else None
    results = []
    for device in devices:
        key = device_key(device)
        flows, coverage = stats.get(key, (0, 0.0))
        mine = tuple(sorted(dests.get(key, []), key=_largest_first))
        results.append(
            DeviceEgress(
                ip=device.ip,
                verdict=_verdict(flows, mine, device.attribution.maker),
                window=window or shown,
                coverage_hours=round(coverage / 3600.0, 4),
                flows_seen=flows,
                destinations=mine,
                large_uploads=tuple(uploads.get(key, [])),
                port_mappings=tuple(mappings.get(key, [])),
                mac=device.mac,
                maker=device.attribution.maker,
                site=device.site,
            )
        )
    return results


def device_key(device: DeviceRecord) -> str:
    """How the aggregations name a device: its site and current address."""
    return _key(device.site, device.ip)


def _key(site: str, ip: str) -> str:
    # NOTE: an address has no "/", so no two devices share a key, and the address is the part
    # after the last "/".
    return f"{site}/{ip}"


def device_addresses(devices: list[DeviceRecord]) -> list[Held]:
    """Per site, every address -> the device whose traffic it carries: every address a device
    has held counts as the device's (a DHCP renewal does not split its egress), an address
    several devices of the site have held as the latest holder's, a current address as its
    own. Sites reuse addresses: the same address at two sites is two devices' (a sensor's flows
    go to its own site's; imported flows, which name no site, to both)."""
    latest: dict[tuple[str, str], tuple[datetime, str]] = {}
    never = datetime.min.replace(tzinfo=UTC)
    for device in devices:
        for address in device.addresses:
            seen = (address.last_seen or never, device.ip)
            where = (device.site, address.ip)
            if where not in latest or seen > latest[where]:
                latest[where] = seen
    held = {where: ip for where, (_, ip) in latest.items()}
    held.update(((d.site, d.ip), d.ip) for d in devices)
    return [
        Held(addr, _key(site, ip), sensor_file(site)) for (site, addr), ip in sorted(held.items())
    ]


def last_record(store_dir: str, engine: FlowEngine | None = None) -> datetime | None:
    """When the store's latest flow ended (None for an empty store): the default end of a
    ``--window`` duration, so that replaying an old capture still finds its traffic."""
    queries = (engine or DuckDbEngine()).open(store_dir)
    try:
        _, latest = queries.span()
    finally:
        queries.close()
    return _ts(latest) if latest is not None else None


def _largest_first(dest: Destination) -> tuple[int, str, str, int, bool]:
    # NOTE: a full key, so that ties come out in the same order whichever engine found them.
    return (-dest.bytes_sent, dest.remote_ip, dest.proto, dest.port, dest.initiated_by_device)


def _destinations(rows: list[DestinationRow], book: EndpointBook) -> dict[str, list[Destination]]:
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


def _uploads(rows: list[UploadRow]) -> dict[str, list[LargeUpload]]:
    found: dict[str, list[LargeUpload]] = {}
    for device, remote, name, sent, seconds in sorted(rows, key=lambda r: (-int(r[3]), r[1])):
        rate = int(sent) * 8.0 / float(seconds) / 1e6
        found.setdefault(device, []).append(
            LargeUpload(remote, name, int(sent), round(float(seconds), 3), round(rate, 3))
        )
    return found


def _in_time_order(row: MappingRow) -> tuple[float, str, str, str, int, int, str]:
    device, router, kind, ts, ext, internal, proto = row
    return (ts, device, router, kind, ext or 0, internal or 0, proto or "")


def _port_mappings(rows: list[MappingRow]) -> dict[str, list[PortMapping]]:
    found: dict[str, list[PortMapping]] = {}
    for device, router, kind, ts, ext, internal, proto in sorted(rows, key=_in_time_order):
        ip = device.rsplit("/", 1)[-1]  # the device's address, from its ``device_key``
        found.setdefault(device, []).append(
            PortMapping(ip, router, kind, _ts(ts), ext, internal, proto)
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

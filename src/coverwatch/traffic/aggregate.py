"""Per-device flow aggregates: what a site sensor ships instead of raw flows (issue #15).

A sensor reads each capture into a scratch flow store and sums its flows per device, remote
address, protocol, remote port, DNS name and minute (``BUCKET_SECONDS``): one row stands for
every flow of that conversation that began in that minute, with their bytes and packets
summed and the earliest start and latest end. The central server adds the rows to its own flow
store, where ``traffic egress`` reads them as it reads imported flows, for the devices of the
sensor's site only (sites often reuse the same private addresses).

What the egress statement keeps: destinations, bytes each way, first and last seen, large
uploads (bytes and span per remote) and the verdict are the same as from the raw flows; the
hours of coverage are the same too, because the flows of one row all start within one minute
and the analysis extends each flow by its ``coverage_gap`` (60 s by default), so their spans
already merge into the row's span. ``flows_seen`` and a destination's ``flows`` count rows.
DNS answers are kept once per (client, name, address), with the latest time; UPnP port
mapping requests are kept as they were.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from coverwatch.models import Observation
from coverwatch.traffic.model import RecordSource, sensor_file
from coverwatch.traffic.table import (
    DNS_SCHEMA,
    FLOW_SCHEMA,
    MANIFEST,
    PORTMAP_SCHEMA,
    connect,
    read_manifest,
    replace_rows,
)

BUCKET_SECONDS = 60
"""Flows of one conversation starting within this many seconds become one row."""

#: The fields a shipped row has, per table: the flow store's columns, less those the server
#: fills in itself (``_SERVER_FILLS``).
_SERVER_FILLS = ("file", "source", "src_port")
FLOW_FIELDS = tuple(n for n in FLOW_SCHEMA.names if n not in _SERVER_FILLS)
DNS_FIELDS = tuple(n for n in DNS_SCHEMA.names if n not in _SERVER_FILLS)
PORTMAP_FIELDS = tuple(n for n in PORTMAP_SCHEMA.names if n not in _SERVER_FILLS)


@dataclass
class Aggregates:
    """Flow aggregates, DNS answers and port mappings, as JSON-ready rows."""

    flows: list[dict[str, Any]] = field(default_factory=list)
    dns: list[dict[str, Any]] = field(default_factory=list)
    portmaps: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.flows or self.dns or self.portmaps)

    def extend(self, other: Aggregates) -> None:
        """Add ``other``'s rows."""
        self.flows += other.flows
        self.dns += other.dns
        self.portmaps += other.portmaps


def read_capture(path: str) -> tuple[dict[str, list[Observation]], Aggregates]:
    """One capture, read once: what its hosts announce (passive observations) and its flows
    as aggregates. Raises ``InputError`` when it is not a capture or cannot be read."""
    from coverwatch.traffic.ingest import ingest
    from coverwatch.traffic.passive import PassiveCollector

    scratch = tempfile.mkdtemp(prefix="coverwatch-sensor-flows-")
    try:
        passive = PassiveCollector()
        ingest([path], scratch, on_frame=passive.frame)
        return passive.finish(), summarise(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def summarise(store_dir: str) -> Aggregates:
    """The aggregates of every flow, DNS answer and port mapping in a flow store."""
    con = connect(store_dir, read_only=True)
    try:
        flows = con.execute(
            f"""
            SELECT min(first_ts), max(last_ts), proto, src_ip, dst_ip, dst_port,
                   sum(bytes_out)::BIGINT, sum(packets_out)::BIGINT, sum(bytes_in)::BIGINT,
                   sum(packets_in)::BIGINT, dns_name  -- in FLOW_FIELDS' order
            FROM flows
            GROUP BY proto, src_ip, dst_ip, dst_port, dns_name,
                     floor(first_ts / {BUCKET_SECONDS})
            ORDER BY 1, 4, 5
            """
        ).fetchall()
        dns = con.execute(
            "SELECT max(ts), client, name, address FROM dns GROUP BY ALL ORDER BY 1"
        ).fetchall()
        portmaps = con.execute(f"SELECT {', '.join(PORTMAP_FIELDS)} FROM portmaps").fetchall()
    finally:
        con.close()
    return Aggregates(
        [dict(zip(FLOW_FIELDS, row, strict=True)) for row in flows],
        [dict(zip(DNS_FIELDS, row, strict=True)) for row in dns],
        [dict(zip(PORTMAP_FIELDS, row, strict=True)) for row in portmaps],
    )


def _file_id(key: str) -> str:
    return "sensor-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def stored(store_dir: str, key: str) -> bool:
    """Whether a batch with this idempotency key is in the flow store already."""
    if not (Path(store_dir) / MANIFEST).exists():
        return False
    fid = _file_id(key)
    return any(fid in files for files in read_manifest(Path(store_dir)).values())


def store(store_dir: str, key: str, site: str, aggregates: Aggregates) -> None:
    """Add a batch's aggregates from ``site`` to the flow store at ``store_dir`` under its
    idempotency ``key``: storing the same key again replaces its rows (a retried batch counts
    once). The rows are marked as the site's (``source`` sensor, ``file`` the site): the same
    address at another site is another device, whose egress they are not."""
    filled = {"file": sensor_file(site), "source": RecordSource.SENSOR.value, "src_port": None}
    replace_rows(
        store_dir,
        _file_id(key),
        {
            "flows": _table(FLOW_SCHEMA, aggregates.flows, filled),
            "dns": _table(DNS_SCHEMA, aggregates.dns, filled),
            "portmaps": _table(PORTMAP_SCHEMA, aggregates.portmaps, filled),
        },
    )


def _table(schema: pa.Schema, rows: list[dict[str, Any]], filled: dict[str, Any]) -> pa.Table:
    """The rows as a table of ``schema``; the columns in ``filled`` take its value."""
    columns = {}
    for column in schema:
        if column.name in filled:
            values: list[Any] = [filled[column.name]] * len(rows)
        else:
            values = [row[column.name] for row in rows]
        columns[column.name] = pa.array(values, column.type)
    return pa.table(columns, schema=schema)

"""Traffic verification: captures and flow logs into a flow table, egress and zone linkage.

The record types are importable from here without the `pcap` extra; the analysis needs it
(DuckDB, dpkt, pyarrow) and lives in the modules named below. Public entry points:

- ``ingest.ingest(paths, store_dir)`` -> ``IngestReport``
- ``passive.passive_observations(paths)`` -> ``{ip: [Observation]}``
- ``aggregate.read_capture(path)`` -> observations and per-device flow ``Aggregates`` (what
  a site sensor ships); ``aggregate.store(store_dir, key, label, aggregates)`` on the server
- ``egress.egress(store_dir, devices, internal, window, engine=...)`` -> ``[DeviceEgress]``
  (``engines``: DuckDB by default, or Spark)
- ``linkage.linkage(store_dir, zones)`` -> ``[ZoneLink]``
"""

from __future__ import annotations

from coverwatch.traffic.model import (
    Destination,
    DeviceEgress,
    EgressVerdict,
    EndpointCategory,
    EndpointMatch,
    FileReport,
    IngestReport,
    IngestWarning,
    LargeUpload,
    MatchKind,
    PortMapping,
    RecordSource,
    ZoneLink,
)

__all__ = [
    "Destination",
    "DeviceEgress",
    "EgressVerdict",
    "EndpointCategory",
    "EndpointMatch",
    "FileReport",
    "IngestReport",
    "IngestWarning",
    "LargeUpload",
    "MatchKind",
    "PortMapping",
    "RecordSource",
    "ZoneLink",
]

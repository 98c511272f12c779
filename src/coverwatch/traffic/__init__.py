"""Traffic verification: captures and flow logs into a flow table, egress and zone linkage.

Public entry points (see DESIGN.md "traffic/"):

- ``ingest(paths, store_dir)`` -> ``IngestReport``
- ``passive_observations(paths)`` -> ``{ip: [Observation]}``
- ``egress(store_dir, devices, internal, window)`` -> ``[DeviceEgress]``
- ``linkage(store_dir, zones)`` -> ``[ZoneLink]``
"""

from __future__ import annotations

from coverwatch.traffic.egress import EgressOptions, egress
from coverwatch.traffic.ingest import ingest
from coverwatch.traffic.linkage import linkage
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
from coverwatch.traffic.passive import passive_observations

__all__ = [
    "Destination",
    "DeviceEgress",
    "EgressOptions",
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
    "egress",
    "ingest",
    "linkage",
    "passive_observations",
]

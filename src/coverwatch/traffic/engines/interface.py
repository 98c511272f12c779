"""The seam between the egress analysis and the SQL engine that aggregates the flows.

An engine runs only the aggregations (per-device coverage, per-destination totals, sustained
uploads, port mappings) and hands back plain rows; classifying remote addresses, matching the
endpoint book and deciding verdicts stay in ``traffic.egress``, shared by every engine, so
DuckDB and Spark cannot disagree on anything but arithmetic.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import NamedTuple

from coverwatch.traffic.model import SENSOR_FILE_PREFIX, RecordSource

StatsRow = tuple[str, int, float]
"""device, flow rows, covered seconds."""
DestinationRow = tuple[
    str, str, str, int, bool, str | None, int, int, int, float, float, str | None
]
"""device, remote, proto, port, initiated by the device, country, bytes sent, bytes received,
flows, first seen, last seen, DNS name."""
UploadRow = tuple[str, str, str | None, int, float]
"""device, remote, DNS name, bytes sent, seconds."""
MappingRow = tuple[str, str, str, float, int | None, int | None, str | None]
"""device, router, kind, time, external port, internal port, protocol."""


@dataclass(frozen=True)
class Thresholds:
    """The numbers the aggregations need (from ``EgressOptions`` and the window)."""

    lo: float
    """Start of the window (coverage is clipped to it)."""
    hi: float
    """End of the window."""
    coverage_gap: float
    """Seconds after a flow's last packet that still count as observed time."""
    upload_bps: float
    """Average outbound bit rate to one destination that counts as a large upload."""
    upload_min_seconds: float
    """Shortest span over which that rate must hold."""


@dataclass(frozen=True)
class Aggregates:
    """What one engine computed over one store, as rows in no particular order."""

    stats: list[StatsRow]
    """Per device: flow rows and covered seconds."""
    destinations: list[DestinationRow]
    """Per device and outside destination (remote, proto, port, direction)."""
    uploads: list[UploadRow]
    """Per device and outside remote over the upload thresholds."""
    mappings: list[MappingRow]
    """UPnP port-mapping requests of the devices in the window."""


class Held(NamedTuple):
    """An address a selected device holds (table ``devices``: ``addr``, ``ip``, ``site_file``)."""

    addr: str
    """The address its flows carry."""
    key: str
    """The device (``egress.device_key``): what the aggregations group by, column ``ip``."""
    site_file: str
    """The ``file`` its site's sensor rows carry (``model.sensor_file``)."""


#: The condition (SQL both engines read alike) that keeps a flow row ``f`` for the device ``d``
#: it was joined to by address: every imported row, and a sensor's rows only when they come
#: from the device's own site (an address reused at another site is another device).
SITE_SQL = f"(coalesce(f.source, '') <> '{RecordSource.SENSOR.value}' OR f.file = d.site_file)"
#: The same for a port mapping row ``p`` (the table has no ``source``: the file tells).
MAPPING_SITE_SQL = f"(p.file NOT LIKE '{SENSOR_FILE_PREFIX}%' OR p.file = d.site_file)"


class EgressQueries(ABC):
    """The aggregations over one flow store, in the order ``traffic.egress`` calls them."""

    @abstractmethod
    def span(self) -> tuple[float | None, float | None]:
        """First and last flow time in the store (None, None when it holds no flows)."""

    @abstractmethod
    def select(self, held: list[Held], start: float | None, end: float | None) -> list[str]:
        """Keep the flows of the devices (``held``: the addresses each holds) in the window
        (None: all), as initiator or responder; return their distinct remote addresses."""

    @abstractmethod
    def aggregate(
        self, outside: list[str], country: list[str | None], limits: Thresholds, windowed: bool
    ) -> Aggregates:
        """The aggregates of the selected flows; ``outside`` (with ``country``) are the remote
        addresses that count as egress. ``windowed``: port mappings only within lo..hi."""

    @abstractmethod
    def close(self) -> None:
        """Release what the queries hold (connections, cached tables)."""


class FlowEngine(ABC):
    """An SQL engine that can read the store's Parquet layout."""

    def __init__(self, master: str | None = None) -> None:
        self.master = master
        """Where the engine runs: a Spark master URL (DuckDB runs in this process: None)."""

    @abstractmethod
    def open(self, store_dir: str) -> EgressQueries:
        """Queries over the store at ``store_dir`` (a local folder or, where the engine reads
        them, a URL). InputError when the store or the engine cannot be used."""

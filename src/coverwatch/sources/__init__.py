"""Sources of observations. A new source is one module plus one line in ``SOURCES``."""

from __future__ import annotations

from enum import Enum

from coverwatch.sources.active import ActiveScanSource, ScanOptions
from coverwatch.sources.discovery import DiscoveryOptions, DiscoverySource, discover
from coverwatch.sources.interface import Source, SourceError
from coverwatch.sources.nmap import NmapSource
from coverwatch.sources.register import RegisterSource

__all__ = [
    "SOURCES",
    "ActiveScanSource",
    "DiscoveryOptions",
    "DiscoverySource",
    "NmapSource",
    "RegisterSource",
    "ScanOptions",
    "Source",
    "SourceError",
    "SourceName",
    "discover",
]


class SourceName(str, Enum):
    """Registered sources."""

    SCAN = "scan"
    NMAP = "nmap"
    REGISTER = "register"
    DISCOVERY = "discovery"


SOURCES: dict[SourceName, type[Source]] = {
    SourceName.SCAN: ActiveScanSource,
    SourceName.NMAP: NmapSource,
    SourceName.REGISTER: RegisterSource,
    SourceName.DISCOVERY: DiscoverySource,
}

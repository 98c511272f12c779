"""Sources of observations. A new source is one module plus one line in ``SOURCES``."""

from __future__ import annotations

from enum import Enum

from coverwatch.sources.active import ActiveScanSource, ScanOptions
from coverwatch.sources.interface import Source, SourceError

__all__ = ["SOURCES", "ActiveScanSource", "ScanOptions", "Source", "SourceError", "SourceName"]


class SourceName(str, Enum):
    """Registered sources."""

    SCAN = "scan"


SOURCES: dict[SourceName, type[Source]] = {SourceName.SCAN: ActiveScanSource}

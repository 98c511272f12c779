"""Sources of observations. A new source is one module plus one line in ``SOURCES``.

The sources are imported on first use (PEP 562 module ``__getattr__``), so a command that
needs one small module of this package (``identify`` reads ``sources.jsonl``) does not pay for
the scanner, discovery and the importers' libraries.
"""

from __future__ import annotations

from enum import Enum
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


#: Registered sources: name -> "module:class" (imported when ``SOURCES`` is first read).
_REGISTRY: dict[SourceName, str] = {
    SourceName.SCAN: "coverwatch.sources.active:ActiveScanSource",
    SourceName.NMAP: "coverwatch.sources.nmap:NmapSource",
    SourceName.REGISTER: "coverwatch.sources.register:RegisterSource",
    SourceName.DISCOVERY: "coverwatch.sources.discovery:DiscoverySource",
}
_HOMES = {
    "ActiveScanSource": "active",
    "ScanOptions": "active",
    "DiscoveryOptions": "discovery",
    "DiscoverySource": "discovery",
    "discover": "discovery",
    "NmapSource": "nmap",
    "RegisterSource": "register",
    "Source": "interface",
    "SourceError": "interface",
}


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(import_module(module), name)


def __getattr__(name: str) -> Any:
    if name == "SOURCES":
        sources = {key: _load(path) for key, path in _REGISTRY.items()}
        globals()["SOURCES"] = sources
        return sources
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = _load(f"coverwatch.sources.{home}:{name}")
    globals()[name] = value
    return value

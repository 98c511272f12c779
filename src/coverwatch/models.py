"""The typed records that flow through the pipeline: observations in, attributions out.

Sources produce `Observation`s; `identify` turns a host's observations into an `Attribution`
carrying its `Evidence`; a run's `HostResult`s are recorded into the inventory, which gives back
`DeviceRecord`s (one per device, whatever its addresses) and `ScanRecord`s. All are frozen: use
`dataclasses.replace`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

#: The most text one observation keeps (a page body is cut to 4 KB long before this).
MAX_VALUE = 16_384
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def device_text(value: object, limit: int = MAX_VALUE) -> str:
    """What a device said as safe text: bounded, valid Unicode, no NUL or control characters
    (tab and line breaks stay). Every observation value passes here once, so the store (a NUL
    is refused by PostgreSQL), the terminal, CSV and HTML only ever see clean text."""
    text = value if isinstance(value, str) else str(value)
    text = text[:limit]
    return text if text.isprintable() else _UNSAFE.sub("\ufffd", text)


class DeviceType(str, Enum):
    """What kind of host a device is, as far as the evidence says."""

    CAMERA = "camera"
    NVR = "nvr"
    DVR = "dvr"
    ENCODER = "encoder"
    PRINTER = "printer"
    SERVER = "server"
    WORKSTATION = "workstation"
    INTERCOM = "intercom"
    """A door or video intercom station (it carries a camera)."""
    ROUTER = "router"
    SWITCH = "switch"
    ACCESS_POINT = "access_point"
    FIREWALL = "firewall"
    RADIO = "radio"
    """Two-way radio equipment: repeaters, base stations, dispatch consoles (e.g. DMR)."""
    PHONE = "phone"
    """A desk or IP phone, or a mobile handset."""
    STORAGE = "storage"
    """A NAS or storage array."""


#: Device types that record or produce video: the estate coverwatch audits.
VIDEO_TYPES = frozenset(
    {DeviceType.CAMERA, DeviceType.NVR, DeviceType.DVR, DeviceType.ENCODER, DeviceType.INTERCOM}
)

#: Signals that are open ports: what a host listens on, not what it says of itself.
PORT_SIGNALS = frozenset({"tcp.port", "tcp.ports"})


class ObsStatus(str, Enum):
    """Whether a probe got an answer; failure is data, not an exception."""

    OK = "ok"
    TIMEOUT = "timeout"
    REFUSED = "refused"
    CLOSED = "closed"
    MALFORMED = "malformed"
    ERROR = "error"


class SourceKind(str, Enum):
    """How an observation was learned."""

    SCAN = "scan"
    DISCOVERY = "discovery"
    IMPORT = "import"
    REGISTER = "register"
    """An asset register (CSV/XLSX): the organisation's records, a claim to verify."""
    CAPTURE = "capture"
    JSONL = "jsonl"


@dataclass(frozen=True, slots=True)
class Observation:
    """One thing a host said (or failed to say) on one port and protocol."""

    ip: str
    """Address of the host the observation is about."""
    signal: str
    """Dotted signal key from the JSONL contract, e.g. ``http.server`` or ``tcp.port``."""
    value: str
    """What the host said, as text (already size-limited by the probe)."""
    port: int | None = None
    """TCP/UDP port the answer came from, when there was one."""
    protocol: str = ""
    """Probe protocol: http, https, rtsp, onvif, tls, banner, tcp, ..."""
    status: ObsStatus = ObsStatus.OK
    """Whether the probe got an answer; non-OK observations carry the reason in ``value``."""
    source: SourceKind = SourceKind.SCAN
    """How coverwatch learned it."""
    observed_at: datetime | None = None
    """When it was observed (UTC)."""

    def __post_init__(self) -> None:
        # NOTE: the one place device text becomes an observation's value, whatever the source.
        object.__setattr__(self, "value", device_text(self.value))

    def to_json(self) -> dict[str, object]:
        """The observation as ``show --json`` and the REST API give it."""
        return {
            "signal": self.signal,
            "value": self.value,
            "port": self.port,
            "protocol": self.protocol,
            "status": self.status.value,
            "source": self.source.value,
            "observed_at": self.observed_at.isoformat() if self.observed_at else None,
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """One signal that moved an attribution, and the knowledge entry it matched."""

    signal: str
    """The observation's signal key."""
    value: str
    """The observed value (truncated for display)."""
    matched: str
    """Id of the knowledge entry that matched, e.g. ``fp:hikvision-app-webs``."""
    source: str
    """Public source of that knowledge entry."""
    maker: str | None = None
    """Maker this evidence points to, if any."""
    brand: str | None = None
    """Brand this evidence points to, if any."""
    weight: float = 0.0
    """How strongly it points there (0-1)."""
    conflicts: bool = False
    """True when it points to a maker other than the attributed one."""
    component: str | None = None
    """Maker of a component this evidence points to (a system-on-chip), not the device's."""

    def to_json(self) -> dict[str, object]:
        """The evidence item as in the JSONL contract, plus coverwatch's extra keys."""
        item: dict[str, object] = {
            "signal": self.signal,
            "value": self.value,
            "matched": self.matched,
            "source": self.source,
            "maker": self.maker,
            "brand": self.brand,
            "weight": round(self.weight, 3),
            "conflicts": self.conflicts,
        }
        if self.component:
            item["component"] = self.component
        return item


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who made a host and what it is, with every piece of evidence and a confidence."""

    maker: str | None = None
    """The real manufacturer (the firmware's maker for white-label devices); None if unknown."""
    brand: str | None = None
    """The name on the box (a rebrand's own name); None when no evidence names the brand."""
    model: str | None = None
    """Model number as the device reports it."""
    firmware: str | None = None
    """Firmware version string as the device reports it."""
    device_type: DeviceType | None = None
    """Camera, NVR, DVR, ...; None if the evidence does not say."""
    covered: str | None = None
    """Name of the covered entity (FCC Covered List / NDAA 889) that made it, or None."""
    confidence: float = 0.0
    """0-1: how sure the maker claim is; lowered by conflicting evidence."""
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)
    """Every signal that moved the attribution, conflicting ones included."""
    covered_component: str | None = None
    """Covered entity whose component the evidence suggests inside the device (a HiSilicon
    system-on-chip is Huawei's): "covered component suspected", not a covered maker."""

    @property
    def named_by_ports_only(self) -> bool:
        """True when only open ports name the maker: a default set of ports suggests it, but
        nothing the device said confirms it (a finding on it is to verify, not to act on)."""
        own = [e for e in self.evidence if e.maker == self.maker and not e.conflicts]
        return bool(self.maker and own) and all(e.signal in PORT_SIGNALS for e in own)

    def to_json(self) -> dict[str, object]:
        """The attribution keys of the JSONL contract."""
        return {
            "maker": self.maker,
            "brand": self.brand,
            "model": self.model,
            "firmware": self.firmware,
            "device_type": self.device_type.value if self.device_type else None,
            "covered": self.covered,
            "confidence": round(self.confidence, 3),
            "evidence": [e.to_json() for e in self.evidence],
            "covered_component": self.covered_component,
        }


@dataclass(frozen=True, slots=True)
class HostResult:
    """What one run learned about one device (at one address, or several when the run saw it
    move: a capture spanning a DHCP renewal)."""

    ip: str
    """The device's address (its latest, when the run saw several)."""
    observations: tuple[Observation, ...]
    """Everything it said, failures included (at every address)."""
    attribution: Attribution
    """Who made it, from those observations."""
    mac: str | None = None
    """Its MAC address, when a source knew it."""
    open_ports: tuple[int, ...] | None = None
    """Open TCP ports as all sources together know them; None: those this run observed."""
    serial: str | None = None
    """Its serial number, as the device or the register states it."""
    addresses: tuple[str, ...] = ()
    """Every address the run saw it at, ``ip`` included (empty: only ``ip``)."""


@dataclass(frozen=True, slots=True)
class Address:
    """One address a device has held, and when runs saw it there."""

    ip: str
    first_seen: datetime | None
    last_seen: datetime | None

    def to_json(self) -> dict[str, object]:
        """``{"ip", "first_seen", "last_seen"}`` with ISO 8601 times."""
        return {
            "ip": self.ip,
            "first_seen": self.first_seen.isoformat() if self.first_seen else None,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
        }


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A device in the inventory: its latest attribution plus where and when it was seen.

    One device is one record, identified by the strongest identifiers runs have seen (serial
    and maker, then MAC within its site, then address within its site; see ``identity``).
    """

    ip: str
    """Its current address (the latest it was seen at)."""
    mac: str | None
    site: str
    attribution: Attribution
    open_ports: list[int] = field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    serial: str | None = None
    """Its serial number, as the device (or the register) states it."""
    addresses: tuple[Address, ...] = ()
    """Every address it has held, oldest first (empty when the store does not say)."""
    sources: tuple[str, ...] = ()
    """The kinds of run that saw it (``scan``, ``discovery``, ``import``, ``capture`` ...)."""
    id: int | None = None
    """Its number in the inventory."""

    def to_json(self) -> dict[str, object]:
        """The ``devices --json`` object: identify's field names plus inventory fields."""
        return {
            "ip": self.ip,
            "mac": self.mac,
            **self.attribution.to_json(),
            "site": self.site,
            "open_ports": self.open_ports,
            "first_seen": self.first_seen.isoformat() if self.first_seen else None,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
            "id": self.id,
            "serial": self.serial,
            "addresses": [a.to_json() for a in self.addresses],
            "sources": list(self.sources),
        }


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """One recorded run (a scan, a discovery, an import, a capture)."""

    id: int
    """Run number, increasing."""
    started_at: datetime
    """When it started (UTC)."""
    finished_at: datetime | None
    """When it finished (UTC)."""
    site: str
    """Site label given with --site."""
    targets: list[str]
    """Targets as the user gave them."""
    options: dict[str, object]
    """Scan options (ports, timeout, ...); never credentials."""
    hosts_found: int
    """Hosts that answered on at least one port."""

    @property
    def kind(self) -> str:
        """What made the run: ``scan``, ``discovery``, ``import``, ``register``, ``capture``
        (a ``SourceKind`` value, kept in its options as ``source``). Runs recorded before the
        kind was kept are told by their options: an import names its file, a discovery its
        interface; anything else was an active scan."""
        source = self.options.get("source")
        if isinstance(source, str) and source:
            return source
        if "file" in self.options:
            return "import"
        if "interface" in self.options:
            return "discovery"
        return "scan"

    @property
    def scope(self) -> tuple[str, str, tuple[str, ...]]:
        """Kind, site and targets (in any order): runs of one scope are comparable."""
        return (self.kind, self.site, tuple(sorted(self.targets)))

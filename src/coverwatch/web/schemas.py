"""The REST API's documented shapes (OpenAPI) and the converters that produce them.

The API returns the same JSON as the CLI: devices are ``DeviceRecord.to_json()`` (``devices
--json``), findings ``finding_to_json`` (``audit --json``), a diff is ``diff --json``. The models
below document those objects; the fuzz test checks every response against them.
"""

from __future__ import annotations

import ipaddress
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from coverwatch.models import MAX_VALUE, ObsStatus, ScanRecord, SourceKind
from coverwatch.policy.model import Action, FindingStatus, Severity
from coverwatch.traffic.model import (
    MAX_COUNT,
    MIN_RECORD_TIME,
    EgressVerdict,
    EndpointCategory,
    MatchKind,
)

#: Latest time a Python datetime can hold (9999-12-31T23:59:59Z).
_LAST_TIME = 253_402_300_799.0

TRAFFIC_NOTE = (
    "No traffic data: the dashboard was started without a flow store (--traffic-dir), so it "
    "makes no egress or third-party-data claim for any device."
)
NOT_IN_TRAFFIC_NOTE = (
    "No traffic verdict for this device: the traffic data holds none for its address, so "
    "coverwatch makes no egress claim for it."
)


class EvidenceOut(BaseModel):
    """One signal that moved an attribution."""

    signal: str
    value: str
    matched: str
    source: str
    maker: str | None
    brand: str | None
    weight: float
    conflicts: bool


class AddressOut(BaseModel):
    """One address a device has held."""

    ip: str
    first_seen: str | None
    last_seen: str | None


class DeviceOut(BaseModel):
    """A device as ``coverwatch devices --json`` prints it."""

    ip: str
    mac: str | None
    maker: str | None
    brand: str | None
    model: str | None
    firmware: str | None
    device_type: str | None
    covered: str | None = Field(description="Covered entity (FCC Covered List / NDAA 889)")
    confidence: float
    evidence: list[EvidenceOut]
    site: str
    open_ports: list[int]
    first_seen: str | None
    last_seen: str | None
    id: int | None = Field(None, description="The device's number in the inventory")
    serial: str | None = Field(None, description="Serial number, as the device states it")
    addresses: list[AddressOut] = Field(
        default_factory=list, description="Every address it has held, oldest first"
    )
    sources: list[str] = Field(
        default_factory=list, description="Kinds of run that saw it (scan, discovery, ...)"
    )


class FindingWaiverOut(BaseModel):
    """The waiver that applies to a finding (active or expired)."""

    rule: str
    reason: str
    approver: str
    expires: str


class FindingOut(BaseModel):
    """A finding as ``coverwatch audit --json`` prints it."""

    ip: str
    site: str
    rule: str
    severity: Severity
    status: FindingStatus
    title: str
    detail: str
    remediation: str
    action: Action
    zone: str | None
    maker: str | None
    brand: str | None
    model: str | None
    device_type: str | None
    evidence: list[dict[str, Any]]
    references: list[str]
    waiver: FindingWaiverOut | None
    policy_version: str


class ZoneOut(BaseModel):
    """A policy zone."""

    name: str
    cidrs: list[str]
    sensitive: bool
    core: bool


class SightingOut(BaseModel):
    """A device in one scan of its site; ``device`` is null when that scan did not see it."""

    scan_id: int
    started_at: str
    device: DeviceOut | None
    changed: list[str]


class ObservationOut(BaseModel):
    """One thing the device said (latest run of each source)."""

    signal: str
    value: str
    port: int | None
    protocol: str
    status: str
    source: str
    observed_at: str | None


class EndpointMatchOut(BaseModel):
    """A known endpoint a destination matched (knowledge/endpoints.yaml)."""

    id: str
    category: EndpointCategory
    operator: str = Field(description="Who runs it (a maker name for vendor endpoints)")
    match: MatchKind = Field(description="How it matched; a port match alone is not 'known'")
    source: str


class DestinationOut(BaseModel):
    """Traffic between one device and one outside address/port/protocol."""

    remote_ip: str
    port: int = Field(ge=0, le=65535)
    proto: str
    dns_name: str | None = Field(description="Device-supplied (DNS answers): treat as hostile")
    country: str | None = Field(description="ISO 3166 code from offline registry data")
    endpoint: EndpointMatchOut | None
    bytes_sent: int = Field(ge=0)
    bytes_received: int = Field(ge=0)
    flows: int = Field(ge=0)
    first_seen: str
    last_seen: str
    initiated_by_device: bool


class LargeUploadOut(BaseModel):
    """Sustained outbound volume to one outside destination."""

    remote_ip: str
    dns_name: str | None
    bytes_sent: int = Field(ge=0)
    seconds: float
    mbit_per_s: float


class PortMappingOut(BaseModel):
    """A UPnP port-mapping request the device sent to a router."""

    device_ip: str
    router_ip: str
    kind: str
    at: str
    external_port: int | None
    internal_port: int | None
    protocol: str | None


class DeviceEgressOut(BaseModel):
    """One device's egress verdict, as in the JSON report's ``traffic`` list."""

    ip: str
    verdict: EgressVerdict
    window: tuple[str, str] | None = Field(description="Start and end (ISO 8601) it covers")
    coverage_hours: float = Field(description="Hours in the window with traffic of the device")
    flows_seen: int = Field(ge=0)
    destinations: list[DestinationOut]
    large_uploads: list[LargeUploadOut]
    port_mappings: list[PortMappingOut]
    mac: str | None
    maker: str | None
    site: str | None = Field(default=None, description="The device's site (sites reuse addresses)")


class ZoneLinkOut(BaseModel):
    """Observed traffic from one policy zone to another, as in the JSON report's ``links``."""

    src_zone: str
    dst_zone: str
    first_seen: str
    last_seen: str
    ports: list[str]
    bytes_forward: int = Field(ge=0)
    bytes_reverse: int = Field(ge=0)
    flows: int = Field(ge=0)
    pairs: list[tuple[str, str]]


class TrafficOut(BaseModel):
    """Every device's egress verdict and the links between zones; ``note`` says why both are
    empty when no traffic data was given (null otherwise)."""

    verdicts: list[DeviceEgressOut]
    links: list[ZoneLinkOut]
    note: str | None


class DeviceTrafficOut(BaseModel):
    """A device's egress verdict (at most one); ``note`` says why there is none."""

    verdicts: list[DeviceEgressOut]
    note: str | None


class DeviceDetailOut(BaseModel):
    """A device with its zone, findings, evidence, observations and history."""

    device: DeviceOut
    zone: ZoneOut | None
    findings: list[FindingOut]
    observations: list[ObservationOut]
    unmatched: list[ObservationOut]
    history: list[SightingOut]
    traffic: DeviceTrafficOut


class ScanOut(BaseModel):
    """One recorded scan (never credentials)."""

    id: int
    started_at: str
    finished_at: str | None
    site: str
    targets: list[str]
    options: dict[str, Any]
    hosts_found: int


class FieldChange(BaseModel):
    """A value before and after."""

    before: Any
    after: Any


class DeviceChangeOut(BaseModel):
    """A device added, removed or changed between two scans."""

    ip: str
    site: str
    change: str
    fields: dict[str, FieldChange]


class DiffOut(BaseModel):
    """``coverwatch diff --json``."""

    before: int
    after: int
    devices: list[DeviceChangeOut]
    new_findings: list[FindingOut]
    resolved_findings: list[FindingOut]


class WaiverIn(BaseModel):
    """A waiver to grant: one rule, one device, until a date (at most three years ahead)."""

    rule: str = Field(min_length=1, max_length=100, description="Rule id of the policy")
    device: str | None = Field(
        default=None, min_length=1, max_length=64, description="Device address"
    )
    ip: str | None = Field(
        default=None, min_length=1, max_length=64, description="Older name of `device`"
    )
    site: str | None = Field(default=None, max_length=200, description="Device site")
    reason: str = Field(min_length=1, max_length=500)
    approver: str = Field(min_length=1, max_length=120)
    expires: date = Field(description="Last day the waiver is valid")


class WaiverOut(BaseModel):
    """A waiver from the policy file or stored in the inventory, with its audit trail."""

    id: int | None = Field(description="Inventory id; null for the policy file's waivers")
    origin: Literal["policy", "stored"]
    rule: str
    device: str | None = Field(description="Addresses or CIDRs, comma-separated")
    zone: str | None
    maker: str | None
    site: str | None
    reason: str
    approver: str
    author: str | None = Field(description="Token name (API, dashboard) or CLI --author")
    created_at: str | None
    expires: str
    revoked_at: str | None
    revoked_by: str | None
    state: Literal["active", "expired", "revoked"]


class PolicyCheckIn(BaseModel):
    """A policy document to validate (YAML text)."""

    text: str = Field(max_length=262_144)
    label: str = Field(default="<posted>", max_length=200)


class PolicyCheckOut(BaseModel):
    """The verdict on a policy document: valid, or the one-line error (file:line: field)."""

    valid: bool
    error: str | None
    name: str | None
    version: str | None
    zones: int
    rules: int
    waivers: int


class ErrorOut(BaseModel):
    """An error: what is wrong, in one line."""

    detail: str


def scan_json(scan: ScanRecord) -> dict[str, Any]:
    """A scan as plain JSON."""
    return {
        "id": scan.id,
        "started_at": scan.started_at.isoformat(),
        "finished_at": scan.finished_at.isoformat() if scan.finished_at else None,
        "site": scan.site,
        "targets": scan.targets,
        "options": scan.options,
        "hosts_found": scan.hosts_found,
    }


class IngestObservationIn(BaseModel):
    """One thing a host said, as ``Observation.to_json`` gives it (``source`` is the batch's
    ``kind``; a ``source`` given here is ignored)."""

    signal: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    value: str = Field(max_length=MAX_VALUE)
    port: int | None = Field(default=None, ge=0, le=65535)
    protocol: str = Field(default="", max_length=32)
    status: ObsStatus = ObsStatus.OK
    observed_at: AwareDatetime | None = None


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError as e:
        raise ValueError("not an IP address") from e


class IngestHostIn(BaseModel):
    """One address and what it said."""

    ip: str = Field(min_length=1, max_length=64, description="An IPv4 or IPv6 address")
    observations: list[IngestObservationIn]

    _address = field_validator("ip")(_ip)


MAX_PARTS = 1000
"""Parts one sensor run may be sent in at most."""

_Time = Annotated[float, Field(ge=MIN_RECORD_TIME, le=_LAST_TIME, description="UTC epoch s")]
_Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
_Port = Annotated[int | None, Field(ge=0, le=65535)]
_Address = Annotated[str, Field(max_length=64, description="An IPv4 or IPv6 address")]


class IngestFlowIn(BaseModel):
    """One flow aggregate: the flows of one conversation that began in one minute, summed."""

    first_ts: _Time
    last_ts: _Time
    proto: str = Field(min_length=1, max_length=16, pattern=r"^[a-z0-9-]+$")
    src_ip: _Address = Field(description="The side that opened the flows")
    dst_ip: _Address
    dst_port: _Port = None
    bytes_out: _Count
    packets_out: _Count
    bytes_in: _Count
    packets_in: _Count
    dns_name: str | None = Field(default=None, max_length=253)

    _addresses = field_validator("src_ip", "dst_ip")(_ip)

    @model_validator(mode="after")
    def _ordered(self) -> IngestFlowIn:
        if self.last_ts < self.first_ts:
            raise ValueError("last_ts is before first_ts")
        return self


class IngestDnsIn(BaseModel):
    """A DNS answer: ``client`` learned that ``name`` is at ``address``."""

    ts: _Time
    client: _Address
    name: str = Field(min_length=1, max_length=253)
    address: _Address

    _addresses = field_validator("client", "address")(_ip)


class IngestPortmapIn(BaseModel):
    """A UPnP/NAT-PMP port mapping request a device sent to its router."""

    ts: _Time
    device_ip: _Address
    router_ip: _Address
    kind: str = Field(min_length=1, max_length=32)
    external_port: _Port = None
    internal_port: _Port = None
    protocol: str | None = Field(default=None, max_length=16)

    _addresses = field_validator("device_ip", "router_ip")(_ip)


class IngestIn(BaseModel):
    """One batch from a site sensor: one run of one source kind at one site."""

    batch_key: str = Field(
        min_length=16,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Idempotency key, stable across retries (a UUID): a batch already recorded "
        "under it is acknowledged again and recorded nothing twice",
    )
    run_key: str | None = Field(
        default=None,
        min_length=16,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="A run too large for one batch is sent in parts sharing this key: each "
        "part is kept until the last is in, then the run is recorded whole (202 until then)",
    )
    part: int = Field(default=1, ge=1, le=MAX_PARTS, description="This part's number, from 1")
    parts: int = Field(default=1, ge=1, le=MAX_PARTS, description="How many parts the run has")
    site: str = Field(min_length=1, max_length=128, description="A site the token may write")
    kind: SourceKind = Field(description="The run's source kind (scan, discovery, capture, ...)")
    targets: list[str] = Field(max_length=4096, description="The declared scope it covered")
    options: dict[str, Any] = Field(default_factory=dict, description="How it ran")
    started_at: AwareDatetime
    hosts: list[IngestHostIn] = Field(description="Hosts that said something (bounded: 413)")
    flows: list[IngestFlowIn] = Field(
        default_factory=list,
        description="Flow aggregates from the site's captures, added to the server's flow "
        "store (a batch with flows and no hosts records no run)",
    )
    dns: list[IngestDnsIn] = Field(default_factory=list, description="DNS answers seen")
    portmaps: list[IngestPortmapIn] = Field(
        default_factory=list, description="UPnP port mapping requests seen"
    )

    @model_validator(mode="after")
    def _in_parts(self) -> IngestIn:
        if self.part > self.parts:
            raise ValueError("part is beyond parts")
        if self.parts > 1 and self.run_key is None:
            raise ValueError("a run in several parts needs a run_key")
        return self


class SensorOut(BaseModel):
    """A site sensor's contact with the server (per site it sends for)."""

    sensor: str = Field(description="The sensor token's name")
    site: str
    batches: int = Field(ge=0, description="Batches recorded from it for the site")
    last_contact: str = Field(description="When its latest batch arrived (ISO 8601)")
    lag_seconds: float = Field(
        ge=0, description="How long after its newest run began that batch arrived"
    )


class IngestOut(BaseModel):
    """Where a batch went."""

    run_id: int | None = Field(
        description="The run it was recorded as (the same on a retry); null for a batch of "
        "flows alone"
    )
    batch_key: str
    hosts: int = Field(description="Hosts the run recorded")
    duplicate: bool = Field(description="True when the key was already recorded (nothing new)")

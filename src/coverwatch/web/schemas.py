"""The REST API's documented shapes (OpenAPI) and the converters that produce them.

The API returns the same JSON as the CLI: devices are ``DeviceRecord.to_json()`` (``devices
--json``), findings ``finding_to_json`` (``audit --json``), a diff is ``diff --json``. The models
below document those objects; the fuzz test checks every response against them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from coverwatch.pipeline import ScanDiff
from coverwatch.policy.model import Action, FindingStatus, Severity, finding_to_json
from coverwatch.store import ScanRecord

TRAFFIC_NOTE = (
    "No traffic data: coverwatch does not analyse flows yet, so it makes no egress or "
    "third-party-data claim for any device."
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


class TrafficOut(BaseModel):
    """Traffic verdicts (egress, third parties); empty until traffic analysis exists."""

    verdicts: list[dict[str, Any]]
    note: str


class DeviceDetailOut(BaseModel):
    """A device with its zone, findings, evidence, observations and history."""

    device: DeviceOut
    zone: ZoneOut | None
    findings: list[FindingOut]
    observations: list[ObservationOut]
    unmatched: list[ObservationOut]
    history: list[SightingOut]
    traffic: TrafficOut


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
    ip: str = Field(min_length=1, max_length=64, description="Device address")
    site: str | None = Field(default=None, max_length=200, description="Device site")
    reason: str = Field(min_length=1, max_length=500)
    approver: str = Field(min_length=1, max_length=120)
    expires: date = Field(description="Last day the waiver is valid")


class WaiverOut(BaseModel):
    """A waiver granted in the dashboard or API (stored in the inventory)."""

    id: int
    rule: str
    device: str
    site: str | None
    reason: str
    approver: str
    expires: str
    created_at: str


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


def waiver_json(row: dict[str, Any]) -> dict[str, Any]:
    """A stored waiver row as plain JSON."""
    return {
        "id": row["id"],
        "rule": row["rule"],
        "device": row["device"],
        "site": row["site"],
        "reason": row["reason"],
        "approver": row["approver"],
        "expires": row["expires"].isoformat(),
        "created_at": row["created_at"].isoformat(),
    }


def diff_json(result: ScanDiff) -> dict[str, Any]:
    """A scan diff, as ``coverwatch diff --json`` prints it."""
    return {
        "before": result.before,
        "after": result.after,
        "devices": [
            {
                "ip": c.ip,
                "site": c.site,
                "change": c.change,
                "fields": {k: {"before": v[0], "after": v[1]} for k, v in c.fields.items()},
            }
            for c in result.devices
        ],
        "new_findings": [finding_to_json(f) for f in result.new_findings],
        "resolved_findings": [finding_to_json(f) for f in result.resolved_findings],
    }

"""What changed between two rounds of monitoring, as alert events.

Every sink sends the same event document (``Event.to_json``), versioned by ``SCHEMA_VERSION``
and described by the JSON Schema shipped beside this module (``event.schema.json``): the
webhook's ``events`` list, the syslog JSON payload, Splunk HEC's ``event`` and the e-mail's
JSON attachment are that document; CEF and the chat shapes are built from it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from importlib import resources

from coverwatch.identify.versions import firmware_changed, model_changed
from coverwatch.models import DeviceRecord
from coverwatch.policy.model import Finding, FindingStatus
from coverwatch.waivers import WaiverEntry, WaiverOrigin, WaiverState

SCHEMA_VERSION = 2
"""Version of the event document; fields are only ever added within a version. Version 2 adds
the kinds ``waiver-revoked`` and ``waiver-expired`` (a version-1 consumer that checks ``kind``
against its list would refuse them)."""
_ID_NAMESPACE = uuid.UUID("5b0c4c52-3f0e-4b8e-9a53-2f6f3d4f7a10")


class EventKind(str, Enum):
    """Kinds of change an operator is told about."""

    NEW_DEVICE = "new-device"
    NEW_COVERED_DEVICE = "new-covered-device"
    IDENTITY_CHANGED = "identity-changed"
    FIRMWARE_CHANGED = "firmware-changed"
    NEW_FINDING = "new-finding"
    NEW_EGRESS_DESTINATION = "new-egress-destination"
    WAIVER_REVOKED = "waiver-revoked"
    WAIVER_EXPIRED = "waiver-expired"


@dataclass(frozen=True)
class Event:
    """One change, ready to send."""

    kind: EventKind
    site: str
    ip: str
    summary: str
    """One line a person reads in an alert."""
    details: dict[str, object] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def severity(self) -> str:
        """``info`` .. ``critical`` (the policy's scale): a finding's own severity, else by kind."""
        given = self.details.get("severity")
        if isinstance(given, str) and given in _SEVERITIES:
            return given
        return _KIND_SEVERITY[self.kind]

    @property
    def id(self) -> str:
        """A stable identifier (the same change gives the same id), for de-duplication."""
        key = "|".join((self.kind.value, self.site, self.ip, self.summary, self.at.isoformat()))
        return str(uuid.uuid5(_ID_NAMESPACE, key))

    def to_json(self) -> dict[str, object]:
        """The event document every sink sends (``event.schema.json``)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "id": self.id,
            "kind": self.kind.value,
            "severity": self.severity,
            "site": self.site,
            "ip": self.ip,
            "summary": self.summary,
            "details": self.details,
            "at": self.at.astimezone(UTC).isoformat(),
        }


def _identity(device: DeviceRecord) -> object:
    """The inventory's device (whatever its address), or its site and address outside one."""
    return device.id if device.id is not None else (device.site, device.ip)


_SEVERITIES = ("info", "low", "medium", "high", "critical")
_KIND_SEVERITY = {
    EventKind.NEW_DEVICE: "info",
    EventKind.NEW_COVERED_DEVICE: "high",
    EventKind.IDENTITY_CHANGED: "medium",
    EventKind.FIRMWARE_CHANGED: "low",
    EventKind.NEW_FINDING: "medium",
    EventKind.NEW_EGRESS_DESTINATION: "medium",
    EventKind.WAIVER_REVOKED: "medium",
    EventKind.WAIVER_EXPIRED: "medium",
}


def event_schema() -> str:
    """The JSON Schema of the event document (text)."""
    return (resources.files("coverwatch.monitor") / "event.schema.json").read_text("utf-8")


def _label(device: DeviceRecord) -> str:
    a = device.attribution
    name = " ".join(x for x in (a.maker, a.brand if a.brand != a.maker else None, a.model) if x)
    return name or "unknown maker"


#: What makes a finding "the same" across rounds: site, address, rule and title.
FindingKey = tuple[str, str, str, str]


def open_finding_keys(findings: Iterable[Finding]) -> set[FindingKey]:
    """The keys of the open findings among ``findings``."""
    return {(*f.key, f.title) for f in findings if f.status is FindingStatus.OPEN}


def open_document_keys(documents: Iterable[Mapping[str, object]]) -> set[FindingKey]:
    """The keys of the open findings among stored finding documents (``finding_to_json``)."""
    return {
        (str(d["site"]), str(d["ip"]), str(d["rule"]), str(d["title"]))
        for d in documents
        if d.get("status") == FindingStatus.OPEN.value
    }


def changes(
    before: list[DeviceRecord],
    after: list[DeviceRecord],
    old_open: Collection[FindingKey],
    new_findings: list[Finding],
) -> list[Event]:
    """Events for devices added, identities and firmware changed, and findings newly open
    (open now, and not among ``old_open``, the previous round's open findings).

    Model and firmware are compared as the maker writes them (``identify.versions``): a build
    string spelt differently, or one source leaving out the build date, is not a change."""
    old = {_identity(d): d for d in before}
    events: list[Event] = []
    for device in after:
        previous = old.get(_identity(device))
        a = device.attribution
        if previous is None:
            kind = EventKind.NEW_COVERED_DEVICE if a.covered else EventKind.NEW_DEVICE
            covered = f", made by {a.covered}" if a.covered else ""
            events.append(
                Event(
                    kind,
                    device.site,
                    device.ip,
                    f"new device {device.ip}: {_label(device)}{covered}",
                    {"device": device.to_json()},
                )
            )
            continue
        p = previous.attribution
        if (p.maker, p.brand) != (a.maker, a.brand) or model_changed(p.model, a.model):
            events.append(
                Event(
                    EventKind.IDENTITY_CHANGED,
                    device.site,
                    device.ip,
                    f"{device.ip} changed identity: {_label(previous)} -> {_label(device)}",
                    {"before": previous.to_json(), "after": device.to_json()},
                )
            )
        elif firmware_changed(a.maker, p.firmware, a.firmware):
            events.append(
                Event(
                    EventKind.FIRMWARE_CHANGED,
                    device.site,
                    device.ip,
                    f"{device.ip} firmware {p.firmware or '?'} -> {a.firmware or '?'}",
                    {"before": p.firmware, "after": a.firmware},
                )
            )
    for f in new_findings:
        if f.status is FindingStatus.OPEN and (*f.key, f.title) not in old_open:
            events.append(
                Event(
                    EventKind.NEW_FINDING,
                    f.site,
                    f.ip,
                    f"[{f.severity.value}] {f.ip}: {f.title}",
                    {"rule": f.rule, "severity": f.severity.value, "detail": f.detail},
                )
            )
    return events


def _waiver_key(w: WaiverEntry) -> tuple[object, ...]:
    if w.origin is WaiverOrigin.STORED:
        return (w.origin, w.id)
    return (w.origin, w.rule, w.device, w.zone, w.maker, w.site, w.expires)


def waiver_changes(before: Iterable[WaiverEntry], after: Iterable[WaiverEntry]) -> list[Event]:
    """Events for waivers revoked, or expired, since ``before`` (the previous round's list):
    the finding each covered is open again. A waiver granted and revoked between two rounds is
    announced too; one that expired before ``before`` is not announced again."""
    old = {_waiver_key(w): w.state for w in before}
    events: list[Event] = []
    for w in after:
        was = old.get(_waiver_key(w))
        covers = w.device or (f"zone {w.zone}" if w.zone else f"maker {w.maker}")
        details: dict[str, object] = {"waiver": w.to_json()}
        if w.state is WaiverState.REVOKED and was is not WaiverState.REVOKED:
            summary = f"waiver of {w.rule} for {covers} revoked by {w.revoked_by}"
            events.append(Event(EventKind.WAIVER_REVOKED, w.site or "", covers, summary, details))
        elif w.state is WaiverState.EXPIRED and was is WaiverState.ACTIVE:
            summary = f"waiver of {w.rule} for {covers} expired on {w.expires.isoformat()}"
            events.append(Event(EventKind.WAIVER_EXPIRED, w.site or "", covers, summary, details))
    return events

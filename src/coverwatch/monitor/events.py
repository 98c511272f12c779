"""What changed between two rounds of monitoring, as alert events."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

from coverwatch.identify.versions import firmware_changed, model_changed
from coverwatch.models import DeviceRecord
from coverwatch.policy.model import Finding, FindingStatus


class EventKind(str, Enum):
    """Kinds of change an operator is told about."""

    NEW_DEVICE = "new-device"
    NEW_COVERED_DEVICE = "new-covered-device"
    IDENTITY_CHANGED = "identity-changed"
    FIRMWARE_CHANGED = "firmware-changed"
    NEW_FINDING = "new-finding"
    NEW_EGRESS_DESTINATION = "new-egress-destination"


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

    def to_json(self) -> dict[str, object]:
        """The event as a webhook sends it."""
        return {
            "kind": self.kind.value,
            "site": self.site,
            "ip": self.ip,
            "summary": self.summary,
            "details": self.details,
            "at": self.at.isoformat(),
        }


def _identity(device: DeviceRecord) -> object:
    """The inventory's device (whatever its address), or its site and address outside one."""
    return device.id if device.id is not None else (device.site, device.ip)


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

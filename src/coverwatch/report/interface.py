"""The report seam: render an inventory snapshot to one output format."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from coverwatch.errors import CoverwatchError
from coverwatch.models import DeviceRecord, ScanRecord
from coverwatch.pipeline import Summary
from coverwatch.policy.model import Finding, Policy

if TYPE_CHECKING:
    from coverwatch.traffic.model import DeviceEgress, ZoneLink


class ReportError(CoverwatchError):
    """A report could not be written."""


@dataclass(frozen=True)
class ScanPoint:
    """One scan in the trend chart: what the inventory looked like after it."""

    scan_id: int
    started_at: datetime
    site: str
    devices: int
    """Hosts seen by that scan."""
    video_devices: int
    covered: int
    """Of them, made by a covered entity."""


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows."""

    generated_at: datetime
    title: str
    summary: Summary
    devices: list[DeviceRecord]
    scans: list[ScanRecord]
    findings: list[Finding] = field(default_factory=list)
    """Findings of the audit (open, waived and unverified)."""
    policy: Policy | None = None
    """The policy the findings came from (None: inventory-only report)."""
    history: list[ScanPoint] = field(default_factory=list)
    """One point per scan, oldest first, for the trend chart."""
    unit_cost: float | None = None
    """Replacement cost per device when the policy gives none for its type."""
    traffic: list[DeviceEgress] = field(default_factory=list)
    """Per device: the egress verdict measured from captures and flow logs (empty: no
    traffic data was imported)."""
    links: list[ZoneLink] = field(default_factory=list)
    """Observed traffic between policy zones."""
    site: str | None = None
    """The site filter the report was made with (``--site``); None: every site. Every format
    with a header states it there, so a one-site report never reads as the whole estate."""
    today: date | None = None
    """The day waivers were judged on (the local calendar, as the findings' evaluation reads
    it); None: the date of ``generated_at``."""


class Report(ABC):
    """Renders ReportData to text in one format."""

    extension: str = ""

    @abstractmethod
    def render(self, data: ReportData) -> str:
        """The whole report as text."""

"""The report seam: render an inventory snapshot to one output format."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from coverwatch.errors import CoverwatchError
from coverwatch.pipeline import Summary
from coverwatch.store import DeviceRecord, ScanRecord


class ReportError(CoverwatchError):
    """A report could not be written."""


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows."""

    generated_at: datetime
    title: str
    summary: Summary
    devices: list[DeviceRecord]
    scans: list[ScanRecord]


class Report(ABC):
    """Renders ReportData to text in one format."""

    extension: str = ""

    @abstractmethod
    def render(self, data: ReportData) -> str:
        """The whole report as text."""

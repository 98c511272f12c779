"""The Source seam: anything that produces Observations about hosts."""

from __future__ import annotations

from abc import ABC, abstractmethod

from coverwatch.errors import CoverwatchError
from coverwatch.models import Observation
from coverwatch.observer import Observer


class SourceError(CoverwatchError):
    """A source could not run at all (as opposed to one host failing, which is data)."""


class Source(ABC):
    """Produces observations, grouped by host address. Never decides who made a device."""

    @abstractmethod
    def collect(self, observer: Observer) -> dict[str, list[Observation]]:
        """Run the source to completion; return observations keyed by host address."""

"""Identify: from a host's observations to an Attribution (maker, brand, model, ...).

All vendor knowledge is data in ``coverwatch/knowledge``; this package only weighs it.
"""

from __future__ import annotations

from collections.abc import Iterable

from coverwatch.identify.engine import attribute, contradicts, oui_organisation
from coverwatch.identify.knowledge import Knowledge, load_knowledge
from coverwatch.identity import normalise_mac
from coverwatch.models import Attribution, Observation, ObsStatus

__all__ = [
    "Knowledge",
    "attribute",
    "contradicts",
    "identify_host",
    "load_knowledge",
    "normalise_mac",
    "oui_organisation",
]


def identify_host(observations: Iterable[Observation], mac: str | None = None) -> Attribution:
    """Attribute one host from its observations (failed probes carry no identity)."""
    pairs = [(o.signal, o.value) for o in observations if o.status is ObsStatus.OK]
    if mac:
        pairs.append(("mac", mac))
    return attribute(pairs)

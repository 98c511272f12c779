"""Covered-vendor equipment (FCC Covered List, NDAA 889) and video devices of unknown maker."""

from __future__ import annotations

from coverwatch.models import VIDEO_TYPES, DeviceRecord
from coverwatch.policy.interface import Rule, Verdict, maker_verdict, rule_fact
from coverwatch.policy.model import Action, FindingStatus, Zone
from coverwatch.policy.rules.options import Options


class CoveredVendorRule(Rule):
    """A device made by an entity on the FCC Covered List (or a brand it owns)."""

    OPTIONS = Options()

    def check(self, device: DeviceRecord, zone: Zone | None) -> list[Verdict]:
        a = device.attribution
        if not a.covered:
            return []
        entity = self.knowledge.covered_entity(a.maker, a.brand)
        # NOTE: the maker may be unknown while a brand names the covered entity (issue 14:
        # "made by None"); say what the evidence says, no more.
        brand = f" sold as {a.brand}" if a.brand and a.brand != a.maker else ""
        made = f"made by {a.maker}{brand}" if a.maker else f"sold as {a.brand or 'unknown'}"
        lists = " and ".join(entity.lists) if entity else "the FCC Covered List"
        fact = rule_fact(
            "covered", a.covered, f"covered:{a.maker or a.brand}", entity.source if entity else ""
        )
        detail = f"{made}: {a.covered} is on {lists} (confidence {a.confidence:.2f})"
        return [maker_verdict(a, detail, Action.REPLACE, fact)]


class UnidentifiedVideoRule(Rule):
    """A camera, NVR or DVR whose maker the evidence does not establish: not the same as
    compliant, so it is reported as unverified."""

    OPTIONS = Options()

    def check(self, device: DeviceRecord, zone: Zone | None) -> list[Verdict]:
        a = device.attribution
        if a.maker is not None or a.device_type not in VIDEO_TYPES:
            return []
        return [
            Verdict(
                "video device whose maker is not established by the evidence; "
                "scan it with ONVIF credentials or check the label",
                Action.VERIFY,
                FindingStatus.UNVERIFIED,
            )
        ]

"""The UK 2022 direction (written ministerial statement, 24 November 2022): no equipment
produced by companies subject to the PRC National Intelligence Law at sensitive sites, and
none connected to core networks."""

from __future__ import annotations

from coverwatch.models import VIDEO_TYPES, DeviceRecord
from coverwatch.policy.interface import Rule, Verdict, maker_verdict, rule_fact
from coverwatch.policy.model import Action, FindingStatus, Zone
from coverwatch.policy.rules.options import Choice, Options


class _ZoneRule(Rule):
    """Shared logic: which equipment is in scope and which zones count."""

    #: prc: covered entities and makers headquartered in mainland China; covered: only
    #: entities on the FCC Covered List.
    OPTIONS = Options(Choice("equipment", ("prc", "covered")))
    action = Action.REPLACE
    place = ""

    def _in_zone(self, zone: Zone) -> bool:
        raise NotImplementedError

    def _why(self, device: DeviceRecord) -> str | None:
        """Why the device's maker is in scope, or None when it is not."""
        a = device.attribution
        if a.covered:
            return f"{a.maker or a.brand or 'equipment'} ({a.covered}, FCC Covered List)"
        equipment = self.config.options.get("equipment", "prc")
        info = self.knowledge.maker_info(a.maker)
        if equipment == "prc" and info and info.prc_national_intelligence_law:
            name = info.legal_name or info.name
            return f"{a.maker} ({name}, headquartered in China: {info.source})"
        return None

    def check(self, device: DeviceRecord, zone: Zone | None) -> list[Verdict]:
        a = device.attribution
        if zone is None or not self._in_zone(zone):
            return []
        fact = rule_fact("zone", zone.name, f"zone:{zone.name}", "policy")
        why = self._why(device)
        if why:
            detail = f"{why} in zone {zone.name!r}, {self.place}"
            return [maker_verdict(a, detail, self.action, fact)]
        if a.maker is None and (a.device_type in VIDEO_TYPES or a.device_type is None):
            return [
                Verdict(
                    f"maker unknown for a device in zone {zone.name!r}, {self.place}: "
                    "cannot rule out covered equipment",
                    Action.VERIFY,
                    FindingStatus.UNVERIFIED,
                    facts=(fact,),
                )
            ]
        return []


class SensitiveSiteRule(_ZoneRule):
    """Such equipment installed at a sensitive site."""

    action = Action.REPLACE
    place = "a sensitive site"

    def _in_zone(self, zone: Zone) -> bool:
        return zone.sensitive


class CoreNetworkRule(_ZoneRule):
    """Such equipment connected to a core network."""

    action = Action.ISOLATE
    place = "a core network"

    def _in_zone(self, zone: Zone) -> bool:
        return zone.core

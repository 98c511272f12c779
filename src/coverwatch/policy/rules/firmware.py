"""Firmware with known critical vulnerabilities, judged only from the version the device
reports (knowledge/cves.yaml); never by trying an exploit."""

from __future__ import annotations

from coverwatch.identify.knowledge import Cve
from coverwatch.models import DeviceRecord
from coverwatch.policy.interface import Rule, Verdict, rule_fact
from coverwatch.policy.model import Action, FindingStatus, Zone
from coverwatch.policy.rules.options import Flag, Number, Options


class VulnerableFirmwareRule(Rule):
    """Firmware built inside a published vulnerable range."""

    OPTIONS = Options(Number("min_cvss", 0, 10), Flag("kev_only"))

    def _relevant(self, device: DeviceRecord) -> list[Cve]:
        a = device.attribution
        min_cvss = float(self.config.options.get("min_cvss", 0))  # type: ignore[arg-type]
        kev_only = bool(self.config.options.get("kev_only", False))
        return [
            cve
            for cve in self.knowledge.cves
            if cve.maker == a.maker
            and cve.cvss >= min_cvss
            and (cve.kev or not kev_only)
            and (not cve.device_types or a.device_type is None or a.device_type in cve.device_types)
            and (cve.models is None or a.model is None or cve.models.search(a.model))
        ]

    def check(self, device: DeviceRecord, zone: Zone | None) -> list[Verdict]:
        cves = self._relevant(device)
        if not cves:
            return []
        a = device.attribution
        built = self.knowledge.build_date(a.maker, a.firmware)
        if built is None:
            ids = ", ".join(c.id for c in cves)
            version = (
                f"firmware {a.firmware!r} carries no build date"
                if a.firmware
                else ("firmware version unknown")
            )
            return [
                Verdict(
                    f"{version}: cannot rule out {ids}",
                    Action.VERIFY,
                    FindingStatus.UNVERIFIED,
                    title="Firmware version unknown",
                )
            ]
        verdicts = []
        for cve in cves:
            if built < cve.built_before and (cve.built_after is None or built >= cve.built_after):
                fact = rule_fact("firmware", a.firmware or "", cve.id, cve.source)
                kev = ", known exploited (CISA KEV)" if cve.kev else ""
                verdicts.append(
                    Verdict(
                        f"firmware {a.firmware} built {built.isoformat()}, before the fix of "
                        f"{cve.built_before.isoformat()} ({cve.fixed_in}); CVSS {cve.cvss}{kev}",
                        Action.UPDATE,
                        facts=(fact,),
                        title=f"{cve.id}: {cve.summary}",
                    )
                )
        return verdicts

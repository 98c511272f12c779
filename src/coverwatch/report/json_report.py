"""JsonReport: the machine-readable report (versioned; schema in report/report.schema.json).

schema_version 2 keeps every key of version 1 (``generator``, ``generated_at``, ``title``,
``summary``, ``scans``, ``devices``) and adds ``findings``, ``policy``, ``plan`` and ``history``;
then ``traffic`` (per-device egress verdicts) and ``links`` (traffic between zones), both empty
lists when no traffic data was imported; then ``filters`` (``{"site": null}`` for every site,
else the one ``--site`` named). Additions only: every earlier key is unchanged.
"""

from __future__ import annotations

import json

from coverwatch import __version__
from coverwatch.policy.model import Policy, finding_to_json
from coverwatch.report.interface import Report, ReportData
from coverwatch.report.overview import Overview, build_overview
from coverwatch.report.traffic import egress_to_json, link_to_json

SCHEMA_VERSION = 2


class JsonReport(Report):
    """``report.json``: the inventory, the findings, the policy they came from and the plan."""

    extension = "json"

    def render(self, data: ReportData) -> str:
        overview = build_overview(data)
        document = {
            "schema_version": SCHEMA_VERSION,
            "generator": f"coverwatch {__version__}",
            "generated_at": data.generated_at.isoformat(),
            "title": data.title,
            "filters": {"site": data.site},
            "summary": data.summary.to_json(),
            "scans": [
                {
                    "id": s.id,
                    "started_at": s.started_at.isoformat(),
                    "finished_at": s.finished_at.isoformat() if s.finished_at else None,
                    "site": s.site,
                    "targets": s.targets,
                    "hosts_found": s.hosts_found,
                }
                for s in data.scans
            ],
            "devices": [d.to_json() for d in data.devices],
            "findings": [finding_to_json(f) for f in data.findings],
            "policy": _policy_json(data.policy, overview) if data.policy else None,
            "plan": overview.plan.to_json(),
            "history": [
                {
                    "scan_id": p.scan_id,
                    "started_at": p.started_at.isoformat(),
                    "site": p.site,
                    "devices": p.devices,
                    "video_devices": p.video_devices,
                    "covered": p.covered,
                }
                for p in data.history
            ],
            "traffic": [egress_to_json(e) for e in data.traffic],
            "links": [link_to_json(k) for k in data.links],
        }
        return json.dumps(document, indent=2, allow_nan=False) + "\n"


def _policy_json(policy: Policy, overview: Overview) -> dict[str, object]:
    """Name, version, source, zones and waivers (with their state and what they cover)."""
    return {
        "name": policy.name,
        "version": policy.version,
        "source": policy.source,
        "unit_costs": dict(sorted(policy.unit_costs.items())),
        "currency": policy.currency,
        "zones": [
            {
                "name": z.name,
                "networks": [str(n) for n in z.networks],
                "sensitive": z.sensitive,
                "core": z.core,
                "site": z.site,
            }
            for z in policy.zones
        ],
        "waivers": [
            {
                "rule": v.waiver.rule,
                "reason": v.waiver.reason,
                "approver": v.waiver.approver,
                "expires": v.waiver.expires.isoformat(),
                "devices": list(v.waiver.devices),
                "zone": v.waiver.zone,
                "maker": v.waiver.maker,
                "expired": v.expired,
                "findings": [
                    {"site": f.site, "ip": f.ip, "rule": f.rule, "status": f.status.value}
                    for f in v.findings
                ],
            }
            for v in overview.waivers
        ],
    }

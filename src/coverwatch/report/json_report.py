"""JsonReport: the machine-readable report (versioned; schema in report/report.schema.json)."""

from __future__ import annotations

import json

from coverwatch import __version__
from coverwatch.report.interface import Report, ReportData

SCHEMA_VERSION = 1


class JsonReport(Report):
    """``report.json``: ``schema_version``, generator, summary, scans and devices."""

    extension = "json"

    def render(self, data: ReportData) -> str:
        document = {
            "schema_version": SCHEMA_VERSION,
            "generator": f"coverwatch {__version__}",
            "generated_at": data.generated_at.isoformat(),
            "title": data.title,
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
        }
        return json.dumps(document, indent=2) + "\n"

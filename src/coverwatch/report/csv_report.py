"""CsvReport: one row per finding, the JSON report's ``findings`` flattened.

Columns, in this fixed order, are ``CSV_COLUMNS``. Flattening of ``finding_to_json``:

* strings are written as they are; ``null`` is an empty cell;
* ``evidence`` (list of objects) and ``references`` (list of strings) are JSON text;
* ``waiver`` becomes ``waiver_rule``, ``waiver_reason``, ``waiver_approver`` and
  ``waiver_expires`` (ISO date), all empty when there is no waiver;
* a cell that would start with ``=``, ``+``, ``-``, ``@``, tab, carriage return or ``'`` gets
  one leading ``'``, so a spreadsheet shows device-supplied text instead of running it as a
  formula (OWASP "CSV injection"); strip that one quote to read the value back.

`unflatten_row` is the exact inverse, so a CSV read back with ``csv.DictReader`` gives the same
values as ``finding_to_json``.
"""

from __future__ import annotations

import csv
import io
import json

from coverwatch.cells import safe_cell, unsafe_cell
from coverwatch.policy.model import finding_to_json
from coverwatch.report.interface import Report, ReportData
from coverwatch.report.overview import sort_findings

CSV_COLUMNS: tuple[str, ...] = (
    "site",
    "ip",
    "rule",
    "severity",
    "status",
    "title",
    "detail",
    "remediation",
    "action",
    "zone",
    "maker",
    "brand",
    "model",
    "device_type",
    "evidence",
    "references",
    "waiver_rule",
    "waiver_reason",
    "waiver_approver",
    "waiver_expires",
    "policy_version",
)

_WAIVER_KEYS = ("rule", "reason", "approver", "expires")
_JSON_KEYS = ("evidence", "references")


def flatten_finding(finding: dict[str, object]) -> dict[str, str]:
    """A ``finding_to_json`` object as one CSV row (see the module docstring)."""
    row: dict[str, str] = {}
    waiver = finding.get("waiver")
    for column in CSV_COLUMNS:
        if column.startswith("waiver_"):
            value = waiver.get(column[7:]) if isinstance(waiver, dict) else None
        else:
            value = finding.get(column)
        if column in _JSON_KEYS:
            text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        else:
            text = "" if value is None else str(value)
        row[column] = safe_cell(text)
    return row


def unflatten_row(row: dict[str, str]) -> dict[str, object]:
    """A CSV row back to the ``finding_to_json`` object it came from."""
    values = {column: unsafe_cell(row[column]) for column in CSV_COLUMNS}
    finding: dict[str, object] = {}
    for column, text in values.items():
        if column.startswith("waiver_"):
            continue
        if column in _JSON_KEYS:
            finding[column] = json.loads(text)
        elif column in ("zone", "maker", "brand", "model", "device_type"):
            finding[column] = text or None
        else:
            finding[column] = text
    waiver = {key: values["waiver_" + key] for key in _WAIVER_KEYS}
    finding["waiver"] = waiver if any(waiver.values()) else None
    return finding


class CsvReport(Report):
    """``report.csv``: a header row, then one row per finding, most severe first."""

    extension = "csv"

    def render(self, data: ReportData) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for finding in sort_findings(data.findings):
            writer.writerow(flatten_finding(finding_to_json(finding)))
        return out.getvalue()

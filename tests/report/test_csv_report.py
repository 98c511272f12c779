"""CsvReport: one row per finding, fixed columns, round-trips to finding_to_json."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import pytest

from coverwatch.policy.model import finding_to_json
from coverwatch.report import REPORTS, Format, ReportData
from coverwatch.report.csv_report import CSV_COLUMNS, flatten_finding, unflatten_row
from coverwatch.report.overview import sort_findings
from tests.report.sample import HOSTILE


def _rows(data: ReportData) -> list[dict[str, str]]:
    text = REPORTS[Format.CSV]().render(data)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


def test_csv_round_trips_to_finding_to_json(data: ReportData) -> None:
    rows = _rows(data)
    expected = [finding_to_json(f) for f in sort_findings(data.findings)]
    assert len(rows) == len(data.findings) == 12
    assert rows == [flatten_finding(e) for e in expected]
    assert [unflatten_row(r) for r in rows] == expected


def test_documented_flattening(data: ReportData) -> None:
    rows = {(r["ip"], r["rule"]): r for r in _rows(data)}
    expired = rows[("10.1.0.2", "covered-vendor")]
    assert (expired["status"], expired["waiver_expires"]) == ("open", "2026-11-24")
    assert (
        expired["waiver_reason"] == "Depot lease ends"
        and expired["waiver_rule"] == "covered-vendor"
    )
    unknown = rows[("10.0.0.9", "unidentified")]
    assert unknown["maker"] == unknown["device_type"] == unknown["waiver_reason"] == ""
    assert unknown["evidence"] == "[]"
    assert rows[("10.0.0.4", "exposed-telnet")]["model"] == HOSTILE  # text, as-is
    assert rows[("10.1.0.3", "known-cve")]["references"].startswith('["https://nvd')


@pytest.mark.parametrize("hostile", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "'quoted"])
def test_formula_cells_are_defused_and_still_round_trip(data: ReportData, hostile: str) -> None:
    finding = replace(data.findings[0], model=hostile, detail=hostile)
    (row,) = _rows(replace(data, findings=[finding]))
    assert row["model"] == row["detail"] == "'" + hostile
    assert unflatten_row(row) == finding_to_json(finding)


def test_multiline_and_unicode_values_round_trip(data: ReportData) -> None:
    finding = replace(data.findings[0], detail='line one\nline "two", ñ 摄像机', brand=None)
    (row,) = _rows(replace(data, findings=[finding]))
    assert unflatten_row(row) == finding_to_json(finding)

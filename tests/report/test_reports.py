"""The report registry and write_report: every format renders, files are replaced whole."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from coverwatch.report import REPORTS, Format, Report, ReportData, ReportError, write_report
from tests.report.sample import HIKVISION


def test_every_format_has_a_renderer() -> None:
    assert set(REPORTS) == set(Format)
    for fmt, cls in REPORTS.items():
        assert issubclass(cls, Report)
        assert cls.extension == ("html" if fmt is Format.SUMMARY else fmt.value)


def test_summary_counts(data: ReportData) -> None:
    s = data.summary
    assert (s.devices, s.video_devices, s.covered, s.unidentified) == (8, 7, 5, 1)
    assert s.by_maker == {"Dahua": 3, "Hikvision": 2, "Axis": 2}
    assert [r["brand"] for r in s.rebranded] == ["LTS"]  # a white label, not a sub-brand
    assert s.covered_by_entity[HIKVISION] == 2


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_renders_with_and_without_a_policy(data: ReportData, fmt: Format) -> None:
    for variant in (data, replace(data, findings=[], policy=None, history=[], unit_cost=None)):
        text = REPORTS[fmt]().render(variant)
        assert text.endswith("\n") and len(text) > 100


def test_write_report_replaces_whole_files(data: ReportData, tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.json"
    write_report(data, Format.JSON, target)
    assert json.loads(target.read_text())["title"] == "Audit <hq & depot>"
    assert not list(target.parent.glob("*.partial"))
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ReportError, match="cannot write report"):
        write_report(data, Format.HTML, blocker / "report.html")


def test_write_report_keeps_the_renderers_line_endings(data: ReportData, tmp_path: Path) -> None:
    target = write_report(data, Format.CSV, tmp_path / "report.csv")
    assert target.read_bytes().count(b"\r\n") >= len(data.findings) + 1


def test_costs_carry_the_policy_currency(data: ReportData) -> None:
    """Issue 14: "12,600" of what? The policy's currency goes with every amount."""
    from coverwatch.report import REPORTS

    assert data.policy is not None
    priced = replace(data, policy=replace(data.policy, currency="GBP"))
    html = REPORTS[Format.HTML]().render(priced)
    assert "camera GBP 350" in html and "nvr GBP 1,200" in html
    assert "| GBP 2,100 |" in REPORTS[Format.MD]().render(priced)
    document = json.loads(REPORTS[Format.JSON]().render(priced))
    assert document["policy"]["currency"] == "GBP"
    unpriced = REPORTS[Format.HTML]().render(data)
    assert "currency not stated in the policy" in unpriced and "GBP 350" not in unpriced

"""Reports: JSON valid against the shipped schema, HTML self-contained and escaped."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from coverwatch.models import Attribution, DeviceType, Evidence
from coverwatch.pipeline import summarise
from coverwatch.report import REPORTS, Format, ReportData, ReportError, write_report
from coverwatch.store import DeviceRecord, ScanRecord

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script>'


def _device(
    ip: str,
    maker: str | None,
    brand: str | None,
    model: str | None,
    covered: str | None,
    device_type: DeviceType | None = DeviceType.CAMERA,
) -> DeviceRecord:
    evidence = (
        (Evidence("http.title", model or "", "fp:test", "a public source", maker, brand, 0.7),)
        if maker
        else ()
    )
    return DeviceRecord(
        ip,
        None,
        "hq",
        Attribution(
            maker, brand, model, None, device_type, covered, 0.9 if maker else 0.0, evidence
        ),
        [80, 554],
        NOW,
        NOW,
    )


@pytest.fixture
def data() -> ReportData:
    devices = [
        _device(
            "10.0.0.1",
            "Hikvision",
            "LTS",
            "CMIP3C42WI-28SDL",
            "Hangzhou Hikvision Digital Technology Company",
        ),
        _device("10.0.0.2", "Dahua", None, HOSTILE, "Dahua Technology Company"),
        _device("10.0.0.3", "Axis", "Axis", "P3228-LVE", None),
        _device("10.0.0.4", None, None, None, None, None),
    ]
    scans = [ScanRecord(1, NOW, NOW, "hq", ["10.0.0.0/24"], {}, 4)]
    return ReportData(NOW, "audit <hq>", summarise(devices), devices, scans)


def test_summary_counts(data: ReportData) -> None:
    s = data.summary
    assert (s.devices, s.video_devices, s.covered, s.unidentified) == (4, 3, 2, 1)
    assert s.by_maker == {"Hikvision": 1, "Dahua": 1, "Axis": 1}
    assert [r["brand"] for r in s.rebranded] == ["LTS"]  # a white label, not a sub-brand


def test_json_report_validates_against_the_shipped_schema(data: ReportData) -> None:
    schema = json.loads((resources.files("coverwatch.report") / "report.schema.json").read_text())
    document = json.loads(REPORTS[Format.JSON]().render(data))
    jsonschema.validate(document, schema)
    assert document["schema_version"] == 1
    assert document["devices"][1]["model"] == HOSTILE  # data, not markup, in JSON
    broken = dict(document, devices=[{"ip": "x"}])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_html_escapes_device_strings_and_fetches_nothing(data: ReportData) -> None:
    html = REPORTS[Format.HTML]().render(data)
    assert HOSTILE not in html and "&lt;script&gt;" in html
    assert "audit &lt;hq&gt;" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html.lower()
    assert "Hangzhou Hikvision Digital Technology Company" in html


def test_every_format_has_a_renderer() -> None:
    assert set(REPORTS) == set(Format)


def test_write_report_replaces_whole_files(data: ReportData, tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.json"
    write_report(data, Format.JSON, target)
    assert json.loads(target.read_text())["title"] == "audit <hq>"
    assert not list(target.parent.glob("*.partial"))
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ReportError, match="cannot write report"):
        write_report(data, Format.HTML, blocker / "report.html")

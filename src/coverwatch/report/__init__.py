"""Reports: render the inventory as JSON or self-contained HTML. One format = one module."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from coverwatch.report.html_report import HtmlReport
from coverwatch.report.interface import Report, ReportData, ReportError
from coverwatch.report.json_report import JsonReport

__all__ = ["REPORTS", "Format", "Report", "ReportData", "ReportError", "write_report"]


class Format(str, Enum):
    """Report formats."""

    JSON = "json"
    HTML = "html"


REPORTS: dict[Format, type[Report]] = {Format.JSON: JsonReport, Format.HTML: HtmlReport}


def write_report(data: ReportData, fmt: Format, path: Path) -> Path:
    """Render ``data`` as ``fmt`` into ``path`` (written whole, then renamed into place)."""
    text = REPORTS[fmt]().render(data)
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as e:
        raise ReportError(f"cannot write report {path}: {e.strerror}") from e
    return path

"""Reports: the inventory and audit as HTML, JSON, CSV or Markdown. One format = one module."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from coverwatch.report.csv_report import CsvReport
from coverwatch.report.html_report import HtmlReport
from coverwatch.report.interface import Report, ReportData, ReportError, ScanPoint
from coverwatch.report.json_report import JsonReport
from coverwatch.report.md_report import MarkdownReport
from coverwatch.report.summary import SummaryReport

__all__ = [
    "REPORTS",
    "Format",
    "Report",
    "ReportData",
    "ReportError",
    "ScanPoint",
    "write_report",
]


class Format(str, Enum):
    """Report formats (``coverwatch report --format``)."""

    HTML = "html"
    JSON = "json"
    CSV = "csv"
    MD = "md"
    SUMMARY = "summary"
    """The one-page executive summary (HTML; ``report --summary``)."""


REPORTS: dict[Format, type[Report]] = {
    Format.HTML: HtmlReport,
    Format.JSON: JsonReport,
    Format.CSV: CsvReport,
    Format.MD: MarkdownReport,
    Format.SUMMARY: SummaryReport,
}


def write_report(data: ReportData, fmt: Format, path: Path) -> Path:
    """Render ``data`` as ``fmt`` into ``path`` (written whole, then renamed into place).

    The summary goes to PDF, printed by Chromium, when ``path`` ends in ``.pdf``."""
    text = REPORTS[fmt]().render(data)
    if fmt is Format.SUMMARY and path.suffix.lower() == ".pdf":
        from coverwatch.report.pdf import print_pdf

        return print_pdf(text, path)
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # newline="": the renderers choose line endings (CSV uses CRLF, RFC 4180).
        partial.write_text(text, encoding="utf-8", newline="")
        partial.replace(path)
    except OSError as e:
        raise ReportError(f"cannot write report {path}: {e.strerror}") from e
    return path

"""HtmlReport: one self-contained HTML file (no external fetches), autoescaped throughout."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from coverwatch import __version__
from coverwatch.models import VIDEO_TYPES
from coverwatch.report.interface import Report, ReportData

_ENV = Environment(
    loader=PackageLoader("coverwatch.report", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


class HtmlReport(Report):
    """``report.html``: summary, makers, covered devices, rebrands and the device table."""

    extension = "html"

    def render(self, data: ReportData) -> str:
        template = _ENV.get_template("report.html.j2")
        return template.render(data=data, version=__version__, video_types=VIDEO_TYPES)

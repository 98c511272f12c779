"""SummaryReport: the one-page executive summary a manager reads and signs.

One A4 landscape page whatever the estate's size: the headline numbers, open findings by
severity, the worst rules (at most ``MAX_RULES``), the remediation plan per site (at most
``MAX_SITES``, the rest summed), waivers expiring soon (at most ``MAX_WAIVERS``), the traffic
verdicts, the rules' public references, and a sign-off block. Long device-supplied text is
shortened in the template and clipped by the stylesheet, so nothing can push it onto a second
page. No script; the stylesheet is allowed by its hash alone. ``pdf.print_pdf`` prints it.
"""

from __future__ import annotations

from functools import partial

from markupsafe import Markup

from coverwatch import __version__
from coverwatch.policy.model import FindingStatus
from coverwatch.report.common import currency_of, format_cost, scope_label
from coverwatch.report.html_report import _ENV, csp_hash, report_asset, rule_rows
from coverwatch.report.interface import Report, ReportData
from coverwatch.report.overview import build_overview
from coverwatch.report.plan import ACTION_ORDER, PlanTotals
from coverwatch.report.traffic import build_traffic

MAX_RULES = 8
MAX_SITES = 6
MAX_WAIVERS = 4
#: Plan columns of their own on the page; the other actions are summed as "other".
_SHOWN = ACTION_ORDER[:3]


def _plan_row(name: str, totals: PlanTotals) -> tuple[str, list[int], int, float | None, int]:
    """(site, devices per shown action, devices of other actions, cost, unpriced)."""
    counts = [totals.actions[a] for a in _SHOWN]
    other = sum(totals.actions.values()) - sum(counts)
    return name, counts, other, totals.replacement_cost, totals.unpriced


class SummaryReport(Report):
    """``summary.html``: the executive summary on one printed page."""

    extension = "html"

    def render(self, data: ReportData) -> str:
        overview = build_overview(data)
        traffic = build_traffic(data)
        css = report_asset("summary.css")
        rules = rule_rows(data)
        sites = [_plan_row(s.site, s.totals) for s in overview.plan.sites]
        waivers = [w for w in overview.waivers if w.expiring_soon]
        references = sorted(
            {ref for rule in (data.policy.rules if data.policy else ()) for ref in rule.references}
        )
        return _ENV.get_template("summary.html.j2").render(
            data=data,
            ov=overview,
            traffic=traffic,
            rules=rules[:MAX_RULES],
            more_rules=len(rules) - MAX_RULES,
            sites=sites[:MAX_SITES],
            more_sites=len(sites) - MAX_SITES,
            waivers=waivers[:MAX_WAIVERS],
            more_waivers=len(waivers) - MAX_WAIVERS,
            references=references,
            total=_plan_row("all", overview.plan.totals),
            shown_actions=_SHOWN,
            statuses=FindingStatus,
            format_cost=partial(format_cost, currency=currency_of(data.policy)),
            scope=scope_label(data.site),
            version=__version__,
            # the stylesheet is ours (a package file), hashed into the CSP as is
            css=Markup(css),
            csp=f"default-src 'none'; style-src {csp_hash(css)}; base-uri 'none'; "
            "form-action 'none'",
        )

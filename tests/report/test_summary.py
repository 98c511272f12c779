"""The one-page executive summary: what management reads and signs, on one printed page
whatever the estate's size, and printed to PDF by a real Chromium."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest

from coverwatch.policy.model import Finding, FindingStatus, Waiver
from coverwatch.report import REPORTS, Format, ReportData, write_report
from coverwatch.report.html_report import csp_hash
from coverwatch.report.summary import MAX_RULES, MAX_SITES, MAX_WAIVERS
from tests.report.sample import HOSTILE, NOW, POLICY

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Chromium is not installed"
)


def _pages(pdf: Path) -> int:
    """Page objects in a PDF (``/Type /Page``, not the ``/Pages`` tree)."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf.read_bytes()))


def big(data: ReportData) -> ReportData:
    """The sample blown up: 40 sites, 20 rules with long hostile titles, 12 waivers due."""
    template = data.findings[0]
    findings: list[Finding] = []
    for n in range(400):
        findings.append(
            replace(
                template,
                ip=f"10.{n // 250}.{n % 250}.1",
                site=f"site-{n % 40:02d}-{'x' * 40}",
                rule=f"rule-{n % 20}",
                title=f"{HOSTILE} rule {n % 20} " + "very long title " * 12,
                status=FindingStatus.OPEN,
                waiver=None,
            )
        )
    waivers = tuple(
        Waiver(
            "*", "reason " * 30, "approver " * 10, (NOW + timedelta(days=n)).date(), ("10.0.0.1",)
        )
        for n in range(12)
    )
    policy = replace(POLICY, waivers=waivers, currency="EUR")
    return replace(data, findings=findings, policy=policy, title="T" * 300)


def test_summary_states_the_headline_and_has_a_sign_off(data: ReportData) -> None:
    html = REPORTS[Format.SUMMARY]().render(data)
    css = re.search(r"<style>(.*?)</style>", html, re.S)
    # the stylesheet applies as written: its hash is the one the page's policy allows
    assert css and csp_hash(css.group(1)) in unescape(html)
    assert "<script" not in html and HOSTILE not in html
    assert "Reviewed by" in html and "Signature" in html
    assert "covers all sites" in html and "2,100" in html  # the plan's total cost
    assert "@page { size: A4 landscape" in html


def test_summary_rows_are_capped_for_any_estate(data: ReportData) -> None:
    html = REPORTS[Format.SUMMARY]().render(big(data))
    assert html.count("<tr>") <= 1 + MAX_RULES + 1 + MAX_SITES + 1 + MAX_WAIVERS
    assert "and 12 more rules" in html and "(34 not listed)" in html
    assert "and 8 more." in html and "EUR" in html


@needs_chromium
@pytest.mark.parametrize("estate", ["sample", "big"])
def test_summary_prints_to_one_pdf_page(data: ReportData, tmp_path: Path, estate: str) -> None:
    chosen = big(data) if estate == "big" else data
    pdf = write_report(chosen, Format.SUMMARY, tmp_path / "summary.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert _pages(pdf) == 1


@needs_chromium
def test_the_full_report_would_not_fit_one_page(data: ReportData, tmp_path: Path) -> None:
    """The page counter is not blind: the full report of the big estate prints to many."""
    from coverwatch.report.pdf import print_pdf

    html = REPORTS[Format.HTML]().render(big(data))
    assert _pages(print_pdf(html, tmp_path / "full.pdf")) > 1

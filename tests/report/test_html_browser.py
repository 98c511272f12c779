"""The HTML report in a real browser (Debian's Chromium driven by Playwright).

No console errors (a CSP violation is one), no page errors, no request other than the file
itself, the device table sorts and filters, a hostile model stays text. A full-page screenshot
is saved to ``tests/report/screenshots/report.png`` for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, sync_playwright

from coverwatch.report import Format, ReportData, write_report
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from tests.report.sample import HOSTILE, HOSTILE_DNS

SCREENSHOTS = Path(__file__).parent / "screenshots"

pytestmark = needs_chromium


@dataclass
class Session:
    """A page with everything it logged, requested or tried to pop up."""

    page: Page
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Console errors and page errors."""
        return [text for kind, text in self.console if kind == "error"] + self.errors


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open(browser: Browser, html: Path) -> Session:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    session = Session(page)
    page.on("console", lambda m: session.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: session.errors.append(str(e)))
    page.on("request", lambda r: session.requests.append(r.url))

    def dialog(d: Dialog) -> None:
        session.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    page.goto(html.resolve().as_uri(), wait_until="load")
    return session


@pytest.fixture
def session(browser: Browser, data: ReportData, tmp_path: Path) -> Iterator[Session]:
    session = _open(browser, write_report(data, Format.HTML, tmp_path / "report.html"))
    yield session
    session.page.close()


def _column(page: Page, index: int) -> list[str]:
    cells = page.locator(f"#devices tbody.device:visible tr.main td:nth-child({index + 1})")
    return [t.strip() for t in cells.all_inner_texts()]


def test_loads_without_errors_or_fetches(session: Session) -> None:
    page = session.page
    assert session.problems() == []
    assert session.requests == [page.url]
    assert session.dialogs == []
    assert page.locator("#device-count").inner_text() == "Showing 8 of 8 devices"
    model = page.locator("#devices tr.main", has_text="10.0.0.4").locator("td").nth(5)
    assert model.inner_text().replace("\n", "") == HOSTILE


def test_traffic_section_renders_and_names_stay_text(session: Session) -> None:
    page = session.page
    assert page.locator("#traffic-table tbody tr").count() == 6
    assert page.locator("#traffic ~ .charts .chart-svg").count() == 2
    dns = page.locator("#destinations-table td.dns code", has_text="onerror")
    assert dns.inner_text() == HOSTILE_DNS
    assert page.locator("img").count() == 0 and session.dialogs == []
    badge = page.locator("#traffic-table .eg-unknown").first
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(180, 35, 24)"
    assert session.problems() == []


def test_column_headers_sort_the_table(session: Session) -> None:
    page = session.page
    first = _column(page, 0)
    page.click("#devices thead button:has-text('Address')")
    by_address = _column(page, 0)
    assert by_address != first
    assert by_address == [
        "10.0.0.1", "10.0.0.3", "10.0.0.4", "10.0.0.9",
        "10.0.1.5", "10.0.9.7", "10.1.0.2", "10.1.0.3",
    ]  # fmt: skip
    page.click("#devices thead button:has-text('Maker')")
    makers = [m.split("\n")[0] for m in _column(page, 4)]
    assert makers == sorted(makers, key=str.lower)
    assert page.get_attribute("#devices thead th:nth-child(5)", "aria-sort") == "ascending"
    page.click("#devices thead button:has-text('Maker')")
    assert [m.split("\n")[0] for m in _column(page, 4)] == sorted(makers, key=str.lower)[::-1]
    page.click("#devices thead button:has-text('Open findings')")
    page.click("#devices thead button:has-text('Open findings')")  # descending: worst first
    assert _column(page, 0)[:2] == ["10.0.1.5", "10.0.9.7"]  # critical x3, critical x2
    assert session.problems() == []


def test_filter_box_hides_rows(session: Session) -> None:
    page = session.page
    page.fill("#device-filter", "dahua")
    assert sorted(_column(page, 0)) == ["10.0.0.3", "10.0.9.7", "10.1.0.2"]
    assert page.locator("#devices tbody.device[hidden]").count() == 5
    assert page.locator("#device-count").inner_text() == "Showing 3 of 8 devices"
    page.check("#device-open-only")
    assert sorted(_column(page, 0)) == ["10.0.9.7", "10.1.0.2"]  # 10.0.0.3 is waived
    page.fill("#device-filter", "core-net dahua")
    assert _column(page, 0) == ["10.0.9.7"]
    page.fill("#device-filter", "")
    page.uncheck("#device-open-only")
    assert len(_column(page, 0)) == 8
    assert session.problems() == []


def test_evidence_opens_and_screenshot(session: Session) -> None:
    page = session.page
    row = page.locator("#devices tbody.device", has_text="10.0.1.5")
    row.locator("summary").click()
    assert row.locator(".evidence").is_visible()
    assert (
        row.locator(".evidence").get_by_text("Covered equipment at a sensitive site").is_visible()
    )
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report.png"), full_page=True)
    assert (SCREENSHOTS / "report.png").stat().st_size > 50_000
    assert session.problems() == []


def test_a_script_outside_the_csp_is_reported(
    browser: Browser, data: ReportData, tmp_path: Path
) -> None:
    """The checks above would notice a CSP violation: an unhashed script is one."""
    html = write_report(data, Format.HTML, tmp_path / "report.html")
    html.write_text(html.read_text().replace("</body>", "<script>alert(2)</script></body>"))
    session = _open(browser, html)
    assert session.dialogs == []
    assert any("Content Security Policy" in p for p in session.problems())
    session.page.close()


def test_report_fits_1280_pixels_on_screen_and_in_print(
    browser: Browser, data: ReportData, tmp_path: Path
) -> None:
    """Issue 14: the traffic tables overflowed at 1400 px; nothing scrolls sideways at 1280."""
    from tests.web.test_browser import OVERFLOW_JS

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(write_report(data, Format.HTML, tmp_path / "r.html").resolve().as_uri())
    assert page.locator("#traffic-table tbody tr").count() > 0
    assert page.evaluate(OVERFLOW_JS) == []
    page.emulate_media(media="print")
    assert page.evaluate(OVERFLOW_JS) == []
    page.close()

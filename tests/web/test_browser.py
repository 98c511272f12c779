"""The dashboard end to end: a real uvicorn server on 127.0.0.1 driven by Chromium (Playwright).

The server's dashboard carries hand-built traffic verdicts (``helpers.estate_traffic``), so the
overview and device screenshots show the traffic cards and a hostile DNS name kept as text.

Signs in with a token, filters devices, opens one, waives a finding as admin and sees it move to
"waived". Every page must load without console errors (a CSP violation is one) and without any
request leaving the server's origin. A full-page screenshot of each page is saved under
``tests/web/screenshots/`` for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from coverwatch.store import open_inventory
from coverwatch.web.app import create_app
from coverwatch.web.server import trusted_hosts
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from tests.report.sample import HOSTILE_DNS
from tests.web.conftest import Estate
from tests.web.helpers import TrafficBoard, estate_traffic, serving

SCREENSHOTS = Path(__file__).parent / "screenshots"

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(estate: Estate) -> Iterator[str]:
    """The dashboard served by uvicorn in a thread on 127.0.0.1; yields its base URL."""
    app = create_app(str(estate.db), str(estate.policy), trusted=trusted_hosts("127.0.0.1"))
    app.state.dashboard = TrafficBoard(app.state.dashboard, *estate_traffic(estate.hosts))
    with serving(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Tab:
    """A page with the problems and requests it produced."""

    page: Page
    base: str
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def go(self, path: str) -> None:
        self.page.goto(self.base + path, wait_until="load")

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def check(self) -> None:
        assert self.problems == []
        foreign = [u for u in self.requests if not u.startswith(self.base + "/")]
        assert foreign == [] or all(u.startswith("data:") for u in foreign), foreign


def _tab(browser: Browser, base: str, token: str) -> Tab:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    tab = Tab(page, base)
    page.on("console", lambda m: tab.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: tab.problems.append(str(e)))
    page.on("request", lambda r: tab.requests.append(r.url))
    tab.go("/devices")
    assert page.url.startswith(base + "/signin")
    tab.shot("signin")
    page.fill("#token", token)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(base + "/devices")  # back where it started
    return tab


@pytest.fixture
def admin(browser: Browser, server: str, estate: Estate) -> Iterator[Tab]:
    tab = _tab(browser, server, estate.admin)
    yield tab
    tab.page.close()


@pytest.fixture
def viewer(browser: Browser, server: str, estate: Estate) -> Iterator[Tab]:
    tab = _tab(browser, server, estate.viewer)
    yield tab
    tab.page.close()


def test_every_page_loads_clean_and_is_captured(admin: Tab, estate: Estate) -> None:
    for name, path in [
        ("overview", "/"),
        ("devices", "/devices"),
        ("device", f"/device?ip={estate.hosts[0]}&site=hq"),
        ("findings", "/findings"),
        ("scans", "/scans"),
        ("policy", "/policy"),
    ]:
        admin.go(path)
        assert admin.page.locator("main h2, main table").count() > 0, path
        if name == "device":
            assert admin.page.locator("#egress-verdict").inner_text() == "unknown destination"
            dns = admin.page.locator("#destinations code", has_text="onerror")
            assert dns.inner_text() == HOSTILE_DNS and admin.page.locator("img").count() == 0
        admin.shot(name)
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 20_000
    admin.check()


def test_filter_devices_then_open_one(viewer: Tab) -> None:
    page = viewer.page
    total = page.locator("#devices tbody tr").count()
    page.select_option("select[name=maker]", "Dahua")
    page.click("#device-filters button[type=submit]")
    page.wait_for_url("**maker=Dahua**")
    rows = page.locator("#devices tbody tr")
    assert 0 < rows.count() < total
    makers = [t.split("\n")[0] for t in rows.locator("td:nth-child(5)").all_inner_texts()]
    assert set(makers) == {"Dahua"}
    page.click("#devices thead a:has-text('Confidence')")
    page.wait_for_url("**sort=confidence**")
    first = page.locator("#devices tbody tr a.dev").first
    ip = first.inner_text()
    first.click()
    page.wait_for_url("**/device?**")
    assert page.locator("h1").inner_text() == ip
    assert page.locator("#evidence tbody tr").count() > 0
    assert page.locator("#history tbody tr").count() >= 1
    assert page.locator("#egress-verdict, #traffic-note").count() == 1
    assert page.locator("form[action='/waivers']").count() == 0  # a viewer cannot waive
    viewer.check()


def test_admin_waives_a_finding_and_sees_it_move(admin: Tab) -> None:
    page = admin.page
    admin.go("/findings?rule=covered-vendor&status=open")
    row = page.locator("#findings tbody tr").first
    key = row.get_attribute("data-key")
    assert key
    row.locator("details.waive summary").click()
    row.locator("input[name=reason]").fill("replacement ordered, PO 4411")
    row.locator("input[name=approver]").fill("Head of Security")
    row.locator("input[name=expires]").fill("2027-01-31")
    admin.shot("waive-form")
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    assert "Waived covered-vendor" in page.locator(".flash-ok").inner_text()
    assert page.locator(f"#findings tr[data-key='{key}']").count() == 0  # no longer open
    admin.go("/findings?rule=covered-vendor&status=waived")
    moved = page.locator(f"#findings tr[data-key='{key}']")
    assert moved.locator("td.status").inner_text() == "Waived"
    assert "replacement ordered, PO 4411" in moved.locator("td.waiver").inner_text()
    admin.check()


def test_admin_revokes_a_waiver_on_the_policy_page(admin: Tab, estate: Estate) -> None:
    inventory = open_inventory(str(estate.db))
    try:
        ip = estate.hosts[3]
        waiver_id = inventory.add_waiver(
            "insecure-management", ip, "hq", "lab", "QA", date.today() + timedelta(days=9), "ann"
        )
    finally:
        inventory.close()
    page = admin.page
    admin.go("/policy#waivers")
    row = page.locator(f"#waiver-{waiver_id}")
    assert "ann" in row.inner_text() and "active" in row.inner_text()
    with page.expect_navigation():
        row.locator("form.revoke-form button[type=submit]").click()
    assert f"Revoked waiver {waiver_id}" in page.locator(".flash-ok").inner_text()
    row = page.locator(f"#waiver-{waiver_id}")
    assert "revoked" in row.inner_text() and "by alice" in row.inner_text()
    assert row.locator("form.revoke-form").count() == 0
    admin.shot("waiver-revoked")
    admin.check()


#: Elements wider than their box at a viewport width: the page itself, and any table that
#: would need a sideways scroll bar.
OVERFLOW_JS = """() => {
  const out = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) out.push(['page', root.scrollWidth, root.clientWidth]);
  for (const box of document.querySelectorAll('.table-wrap, main table')) {
    if (box.scrollWidth > box.clientWidth + 1) {
      const table = box.matches('table') ? box : box.querySelector('table');
      out.push([(table && table.id) || box.className, box.scrollWidth, box.clientWidth]);
    }
  }
  return out;
}"""


def test_every_page_fits_1280_pixels(admin: Tab, estate: Estate) -> None:
    """Issue 14: no page or table of the dashboard scrolls sideways at 1280 px."""
    admin.page.set_viewport_size({"width": 1280, "height": 900})
    for path in ("/", "/devices", f"/device?ip={estate.hosts[0]}&site=hq", "/findings",
                 "/scans", "/policy"):  # fmt: skip
        admin.go(path)
        assert admin.page.evaluate(OVERFLOW_JS) == [], path
    admin.check()

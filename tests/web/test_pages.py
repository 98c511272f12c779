"""The dashboard pages in-process: sign-in, sessions, CSRF, roles, escaping, headers."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI

from coverwatch.models import Attribution, DeviceType, Evidence
from coverwatch.store import HostResult, open_inventory
from coverwatch.web.app import create_app
from tests.report.sample import HOSTILE_DNS
from tests.web.conftest import Estate
from tests.web.helpers import Client, TrafficBoard, estate_traffic, hidden

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
PAGES = ["/", "/devices", "/findings", "/scans", "/policy"]


@pytest.fixture(scope="module")
def app(estate: Estate) -> Iterator[FastAPI]:
    app = create_app(str(estate.db), str(estate.policy))
    yield app
    app.state.dashboard.inventory.close()


@pytest.fixture
def admin(app: FastAPI, estate: Estate) -> Client:
    client = Client(app)
    assert client.sign_in(estate.admin).status_code == 303
    return client


@pytest.fixture
def viewer(app: FastAPI, estate: Estate) -> Client:
    client = Client(app)
    assert client.sign_in(estate.viewer).status_code == 303
    return client


@pytest.mark.parametrize("path", [*PAGES, "/device?ip=127.0.0.1"])
def test_signed_out_visitors_are_sent_to_sign_in(app: FastAPI, path: str) -> None:
    response = Client(app).get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin")


def test_sign_in_sets_a_strict_httponly_session_cookie(app: FastAPI, estate: Estate) -> None:
    client = Client(app)
    response = client.sign_in(estate.viewer)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(c for c in response.headers.get_list("set-cookie") if "cw_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert estate.viewer not in cookie
    page = client.get("/")
    assert page.status_code == 200 and "Executive summary" in page.text


@pytest.mark.parametrize("token", ["", "cw_wrong", "x" * 400])
def test_a_bad_token_does_not_sign_in(app: FastAPI, token: str) -> None:
    client = Client(app)
    response = client.sign_in(token)
    assert response.status_code in (401, 422)
    assert client.get("/").status_code == 303


def test_sign_in_needs_its_own_form(app: FastAPI, estate: Estate) -> None:
    response = Client(app).post("/signin", data={"token": estate.admin, "nonce": "forged"})
    assert response.status_code == 400
    assert "cw_session" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_no_open_redirect_after_sign_in(app: FastAPI, estate: Estate, target: str) -> None:
    client = Client(app)
    nonce = hidden(client.get("/signin").text, "nonce")
    response = client.post("/signin", data={"token": estate.viewer, "nonce": nonce, "next": target})
    assert response.headers["location"] == "/"


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_for_a_viewer(viewer: Client, path: str) -> None:
    response = viewer.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "script-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert 'action="/waivers"' not in response.text  # no waiver form for a viewer


def test_viewer_cannot_waive(viewer: Client, estate: Estate) -> None:
    csrf = viewer.csrf()
    response = viewer.post("/waivers", data=_waiver_form(csrf, estate.hosts[0]))
    assert response.status_code == 403
    assert "Only an admin" in response.text


def _waiver_form(csrf: str, ip: str, rule: str = "covered-vendor") -> dict[str, str]:
    return {
        "csrf": csrf,
        "rule": rule,
        "ip": ip,
        "site": "hq",
        "reason": "isolated VLAN",
        "approver": "Head of Security",
        "expires": (date.today() + timedelta(days=30)).isoformat(),
        "next": "/findings?rule=covered-vendor",
    }


def test_admin_waives_from_the_findings_page(admin: Client) -> None:
    page = admin.get("/findings", params={"rule": "covered-vendor", "status": "open"})
    key = page.text.split('data-key="', 1)[1].split('"', 1)[0]
    site, ip, rule = key.split("|")
    response = admin.post("/waivers", data=_waiver_form(hidden(page.text, "csrf"), ip, rule))
    assert response.status_code == 303
    assert response.headers["location"] == "/findings?rule=covered-vendor"
    after = admin.get("/findings", params={"rule": "covered-vendor", "status": "waived"})
    assert f'data-key="{site}|{ip}|{rule}"' in after.text
    assert f"Waived covered-vendor for {ip}" in after.text  # the flash message


def test_forms_need_the_csrf_token(admin: Client, estate: Estate) -> None:
    for csrf in ("", "forged"):
        response = admin.post("/waivers", data=_waiver_form(csrf, estate.hosts[1]))
        assert response.status_code == 403
    response = admin.post(
        "/waivers",
        data=_waiver_form(admin.csrf(), estate.hosts[1]),
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert admin.post("/signout", data={"csrf": "forged"}).status_code == 403


def test_a_bad_waiver_is_a_message_not_an_error(admin: Client, estate: Estate) -> None:
    form = {**_waiver_form(admin.csrf(), estate.hosts[2]), "expires": "yesterday"}
    assert admin.post("/waivers", data=form).status_code == 303
    assert "Not waived: expires: give a date" in admin.get("/findings").text


def test_sign_out_ends_the_session(admin: Client) -> None:
    response = admin.post("/signout", data={"csrf": admin.csrf()})
    assert response.status_code == 303
    assert admin.get("/").status_code == 303


def test_devices_filters_and_sort(viewer: Client) -> None:
    page = viewer.get("/devices", params={"maker": "Dahua", "sort": "confidence", "desc": "true"})
    assert page.status_code == 200
    shown = page.text.count('<a class="dev"')
    assert shown and f"Showing 1&ndash;{shown} of {shown} matching devices (" in page.text
    assert viewer.get("/devices", params={"verdict": "bogus"}).status_code == 422


def test_device_page_and_404(viewer: Client, estate: Estate) -> None:
    page = viewer.get("/device", params={"ip": estate.hosts[0], "site": "hq"})
    assert page.status_code == 200
    for section in ("Attribution", "Evidence", "Findings", "Observations", "History across scans"):
        assert section in page.text
    assert 'id="traffic-note">No traffic data:' in page.text
    missing = viewer.get("/device", params={"ip": "10.9.9.9"})
    assert missing.status_code == 404 and "no device 10.9.9.9" in missing.text


def test_scans_diff_any_two(viewer: Client) -> None:
    page = viewer.get("/scans", params={"before": 2, "after": 1})
    assert "Scan #2 &rarr; scan #1" in page.text or "Scan #2 → scan #1" in page.text
    assert "no scan 9" in viewer.get("/scans", params={"before": 1, "after": 9}).text


def test_policy_validation_shows_the_one_line_error(viewer: Client) -> None:
    csrf = viewer.csrf("/policy")
    bad = "zones:\n  - name: a\n    cidrs: [10.0.0.0/8]\n  - name: b\n    cidrs: [10.1.0.0/16]\n"
    page = viewer.post("/policy", data={"csrf": csrf, "text": bad})
    assert "&lt;pasted&gt;:4: zones[1].cidrs: 10.1.0.0/16 overlaps 10.0.0.0/8" in page.text
    uploaded = viewer.post(
        "/policy",
        data={"csrf": csrf},
        files={"upload": ("site.yaml", b"name: Town Hall\nversion: '2'\n", "text/yaml")},
    )
    assert "Valid policy &ldquo;Town Hall&rdquo;" in uploaded.text or "Town Hall" in uploaded.text


def test_device_supplied_strings_are_escaped(tmp_path: Path, estate: Estate) -> None:
    db = tmp_path / "hostile.db"
    inventory = open_inventory(str(db))
    try:
        evidence = Evidence("http.server", HOSTILE, "fp:x", "test", "Hikvision", None, 0.9)
        attribution = Attribution(
            "Hikvision", HOSTILE, HOSTILE, HOSTILE, DeviceType.CAMERA, None, 0.9, (evidence,)
        )
        host = HostResult("10.0.0.4", (), attribution, None)
        inventory.record_scan(HOSTILE, ["10.0.0.4"], {}, datetime.now(UTC), [host])
        token = inventory.create_token("t", "admin")
    finally:
        inventory.close()
    app = create_app(str(db), None)
    client = Client(app)
    client.sign_in(token)
    pages = [*PAGES, "/device?ip=10.0.0.4"]
    for path in pages:
        text = client.get(path).text
        assert "<script>alert" not in text and "<img src=x" not in text, path
    assert "&lt;script&gt;alert" in client.get("/device?ip=10.0.0.4").text
    app.state.dashboard.inventory.close()


@pytest.fixture(scope="module")
def traffic_viewer(estate: Estate) -> Iterator[Client]:
    """A signed-in viewer of the app with traffic verdicts for two hosts."""
    app = create_app(str(estate.db), str(estate.policy))
    app.state.dashboard = TrafficBoard(app.state.dashboard, *estate_traffic(estate.hosts))
    client = Client(app)
    assert client.sign_in(estate.viewer).status_code == 303
    yield client
    app.state.dashboard.inventory.close()


def test_overview_shows_the_traffic_cards(traffic_viewer: Client, estate: Estate) -> None:
    page = traffic_viewer.get("/").text
    assert 'class="n">1</span><span class="what">devices sending data outside' in page
    assert 'class="n">1</span><span class="what">to a third party or unknown destination' in page
    assert 'class="n">0</span><span class="what">to their maker&rsquo;s cloud only' in page
    traffic = page[page.index('id="traffic"') :]
    assert "<b>1</b>unknown destination" in traffic and "<b>1</b>no egress observed" in traffic
    assert f"/device?ip={estate.hosts[0]}" in traffic  # rows link to the device page
    assert "dev.hik-connect.com" not in traffic  # the maker's own cloud is not "beyond"
    assert "&lt;img src=x onerror=alert(1)&gt;.example" in traffic
    assert "<td>car-park</td><td>core-dc</td>" in traffic
    assert HOSTILE_DNS not in page


def test_device_page_shows_its_verdict_and_destinations(
    traffic_viewer: Client, estate: Estate
) -> None:
    page = traffic_viewer.get("/device", params={"ip": estate.hosts[0], "site": "hq"}).text
    traffic = page[page.index('<h2 id="traffic">') :]
    assert '<span class="badge eg-unknown">unknown destination</span>' in traffic
    assert traffic.count("<tr") == 3  # the header and two destinations
    assert "Hikvision <small>(vendor cloud; matched by dns name)" in traffic
    assert "soap-add-port-mapping external 8000/TCP &rarr; 80" in traffic
    assert HOSTILE_DNS not in page and "<img" not in page
    quiet = traffic_viewer.get("/device", params={"ip": estate.hosts[1], "site": "hq"}).text
    assert "no egress observed" in quiet and "Nothing left the organisation" in quiet
    absent = traffic_viewer.get("/device", params={"ip": estate.hosts[2], "site": "hq"}).text
    assert "No traffic verdict for this device" in absent


def _pages(client: Client, path: str, params: dict[str, str], row: str) -> list[list[str]]:
    """Every page of a list, following its Next links from the first: the rows of each."""
    pages, url = [], path + "?" + urlencode(params)
    while url:
        text = client.get(url).text
        pages.append(re.findall(row, text))
        following = re.search(r'rel="next" href="([^"]+)"', text)
        url = html.unescape(following.group(1)) if following else ""
        assert len(pages) < 100
    return pages


def test_long_lists_come_a_page_at_a_time(viewer: Client) -> None:
    # 100,000 devices on one page were some 50 MB of HTML (their findings 300 MB)
    device = r'<a class="dev" href="/device\?([^"]+)"'
    everything = re.findall(device, viewer.get("/devices", params={"rows": "5000"}).text)
    pages = _pages(viewer, "/devices", {"rows": "7", "sort": "maker", "desc": "true"}, device)
    assert len(everything) > 14 and len(pages) == -(-len(everything) // 7)
    assert all(len(p) == 7 for p in pages[:-1]) and 1 <= len(pages[-1]) <= 7
    by_maker = re.findall(
        device, viewer.get("/devices", params={"sort": "maker", "desc": "true"}).text
    )
    assert [row for page in pages for row in page] == by_maker  # in order, each once
    assert len(by_maker) == len(everything)
    second = viewer.get("/devices", params={"rows": "7", "page": "2"}).text
    assert f"Showing 8&ndash;14 of {len(everything)} devices" in second
    assert "Page 2 of" in second and 'rel="prev"' in second
    past = viewer.get("/devices", params={"rows": "7", "page": "999"}).text
    assert re.findall(device, past) == re.findall(
        device, viewer.get("/devices", params={"rows": "7", "page": str(len(pages))}).text
    )
    for rows in ("0", "5001", "x"):
        assert viewer.get("/devices", params={"rows": rows}).status_code == 422


def test_a_page_of_findings_keeps_its_filters(viewer: Client) -> None:
    finding = r'<tr data-key="([^"]+)"'
    open_ones = re.findall(finding, viewer.get("/findings", params={"status": "open"}).text)
    pages = _pages(viewer, "/findings", {"status": "open", "rows": "4"}, finding)
    assert len(open_ones) > 4 and len(pages) > 1
    assert [row for page in pages for row in page] == open_ones
    first = viewer.get("/findings", params={"status": "open", "rows": "4"}).text
    assert f"Showing 1&ndash;4 of {len(open_ones)} matching findings (" in first
    assert 'name="rows" value="4"' in first  # the filter form keeps the page size

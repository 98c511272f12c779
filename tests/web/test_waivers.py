"""Waivers over a real server on 127.0.0.1: grant (``device``, or ``ip`` as before), list the
policy file's and the stored ones in one shape, revoke with an admin token; the author is the
token's name and the finding follows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest

from coverwatch.web.app import create_app
from coverwatch.web.server import trusted_hosts
from tests.web.conftest import Estate
from tests.web.helpers import hidden, serving

POLICY_WAIVER = """\
waivers:
  - {rule: insecure-management, devices: [127.0.0.0/8], reason: lab only, approver: QA,
     expires: 2099-12-31}
"""


@pytest.fixture(scope="module")
def base(estate: Estate, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``coverwatch serve``'s app on uvicorn in a thread, with a policy holding one waiver."""
    policy = tmp_path_factory.mktemp("waiver-policy") / "site.yaml"
    policy.write_text(estate.policy.read_text() + POLICY_WAIVER)
    app = create_app(str(estate.db), str(policy), trusted=trusted_hosts("127.0.0.1"))
    with serving(app) as url:
        yield url
    app.state.dashboard.inventory.close()


def _client(base: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base, headers=headers, timeout=30)


def _body(device: str, key: str = "device") -> dict[str, str]:
    expires = (date.today() + timedelta(days=60)).isoformat()
    return {
        "rule": "covered-vendor",
        key: device,
        "site": "hq",
        "reason": "replacement ordered, PO 4411",
        "approver": "Head of Security",
        "expires": expires,
    }


def _status(client: httpx.Client, ip: str) -> str:
    found = client.get("/api/v1/findings", params={"ip": ip, "rule": "covered-vendor"}).json()
    return str(found[0]["status"])


def test_grant_list_revoke_with_the_tokens_name_as_author(base: str, estate: Estate) -> None:
    admin, viewer = _client(base, estate.admin), _client(base, estate.viewer)
    open_ = admin.get("/api/v1/findings", params={"status": "open", "rule": "covered-vendor"})
    first, second = (f["ip"] for f in open_.json()[:2])

    created = admin.post("/api/v1/waivers", json=_body(first))
    assert created.status_code == 201, created.text
    waiver = created.json()
    assert waiver["author"] == "alice" and waiver["origin"] == "stored"  # the token's name
    assert waiver["device"] == first and waiver["state"] == "active"
    assert _status(admin, first) == "waived"
    alias = admin.post("/api/v1/waivers", json=_body(second, key="ip"))  # the older field name
    assert alias.status_code == 201 and alias.json()["device"] == second

    listed = viewer.get("/api/v1/waivers").json()
    (from_file,) = [w for w in listed if w["origin"] == "policy"]
    assert from_file["id"] is None and from_file["rule"] == "insecure-management"
    assert from_file["device"] == "127.0.0.0/8" and from_file["state"] == "active"
    assert {w["id"] for w in listed if w["origin"] == "stored"} >= {waiver["id"]}
    assert all(set(w) == set(from_file) for w in listed)  # one shape

    assert viewer.delete(f"/api/v1/waivers/{waiver['id']}").status_code == 403
    assert _client(base, None).delete(f"/api/v1/waivers/{waiver['id']}").status_code == 401
    revoked = admin.delete(f"/api/v1/waivers/{waiver['id']}")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["state"] == "revoked" and revoked.json()["revoked_by"] == "alice"
    assert revoked.json()["author"] == "alice" and revoked.json()["revoked_at"]
    assert _status(admin, first) == "open"  # a revoked waiver no longer applies
    assert _status(admin, second) == "waived"  # the other one still does

    again = admin.delete(f"/api/v1/waivers/{waiver['id']}")
    assert again.status_code == 409 and "already revoked by alice" in again.json()["detail"]
    assert admin.delete("/api/v1/waivers/987654").status_code == 404
    kept = [w for w in viewer.get("/api/v1/waivers").json() if w["id"] == waiver["id"]]
    assert kept[0]["state"] == "revoked"  # kept for the audit trail


def test_a_waiver_needs_a_device(base: str, estate: Estate) -> None:
    body = _body("127.0.0.1")
    del body["device"]
    response = _client(base, estate.admin).post("/api/v1/waivers", json=body)
    assert response.status_code == 422 and response.json()["detail"] == "device: required"


def test_the_dashboard_revokes_from_the_policy_page(base: str, estate: Estate) -> None:
    admin = _client(base, estate.admin)
    open_ = admin.get("/api/v1/findings", params={"status": "open", "rule": "covered-vendor"})
    waiver = admin.post("/api/v1/waivers", json=_body(open_.json()[-1]["ip"])).json()
    with httpx.Client(base_url=base, timeout=30) as browser:
        nonce = hidden(browser.get("/signin").text, "nonce")
        signed = browser.post("/signin", data={"token": estate.admin, "nonce": nonce})
        assert signed.status_code == 303
        page = browser.get("/policy").text
        assert f'action="/waivers/{waiver["id"]}/revoke"' in page
        form = {"csrf": hidden(page, "csrf")}
        done = browser.post(f"/waivers/{waiver['id']}/revoke", data=form)
        assert done.status_code == 303 and done.headers["location"] == "/policy#waivers"
        after = browser.get("/policy").text
        assert f"Revoked waiver {waiver['id']}" in after
        assert f'action="/waivers/{waiver["id"]}/revoke"' not in after
    with httpx.Client(base_url=base, timeout=30) as viewer_browser:
        nonce = hidden(viewer_browser.get("/signin").text, "nonce")
        viewer_browser.post("/signin", data={"token": estate.viewer, "nonce": nonce})
        page = viewer_browser.get("/policy").text
        assert "/revoke" not in page  # no revoke button for a viewer
        refused = viewer_browser.post(
            f"/waivers/{waiver['id']}/revoke", data={"csrf": hidden(page, "csrf")}
        )
        assert refused.status_code == 403

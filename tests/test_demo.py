"""`coverwatch demo`: the lab audited end to end, reports written, the lab stopped."""

from __future__ import annotations

import json
import socket
from datetime import date
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import Cli


def test_demo_audits_the_lab_and_writes_reports(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = cli("demo", "--out", str(out), db=False, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"Report: {(out / 'report.html').resolve()}" in result.stdout
    assert "Video devices by real maker" in result.stdout
    assert "Rebranded devices" in result.stdout
    report = json.loads((out / "report.json").read_text())
    schema = json.loads((resources.files("coverwatch.report") / "report.schema.json").read_text())
    jsonschema.validate(report, schema)
    summary = report["summary"]
    assert summary["devices"] == 40
    assert summary["covered"] > 0 and summary["by_maker"].get("Hikvision")
    assert {r["brand"] for r in summary["rebranded"]} >= {"LTS", "Amcrest"}
    non_video = [d for d in report["devices"] if d["device_type"] in ("printer", "server")]
    assert non_video and all(d["covered"] is None for d in non_video)
    assert "Hangzhou Hikvision Digital Technology Company" in (out / "report.html").read_text()
    # The lab policy's zones and waivers give every kind of finding the default policy knows.
    findings = report["findings"]
    by_rule: dict[str, set[str]] = {}
    for f in findings:
        by_rule.setdefault(f["rule"], set()).add(f["status"])
    assert "open" in by_rule["uk-sensitive-site"] and "open" in by_rule["uk-core-network"]
    assert "open" in by_rule["vulnerable-firmware"]
    assert {"open", "waived"} <= by_rule["covered-vendor"]
    expired = [f for f in findings if f["waiver"] and f["status"] == "open"]
    today = date.today().isoformat()
    assert expired and all(f["waiver"]["expires"] < today for f in expired)
    cves = [f for f in findings if f["rule"] == "vulnerable-firmware" and f["status"] == "open"]
    assert all(f["model"] == "DS-2CD2032F-I" and "CVE-2017-7921" in f["title"] for f in cves)
    assert {r["brand"] for r in summary["rebranded"]} <= {"LTS", "Annke", "Amcrest", "Lorex"}
    assert "Findings (lab site policy)" in result.stdout
    # The lab capture: verdicts per device, and the traffic rules fire on what was planted.
    verdicts = {t["verdict"] for t in report["traffic"]}
    assert {"vendor cloud", "third party", "unknown destination", "no egress observed"} <= verdicts
    for rule in (
        "egress-vendor-cloud",
        "egress-third-party",
        "upnp-port-mapping",
        "camera-core-linkage",
    ):
        assert "open" in by_rule[rule], rule
    assert "insecure-management" in by_rule  # ports survive the capture import
    # The lab is gone: nothing listens on its first address any more.
    with socket.socket() as probe:
        probe.settimeout(1)
        assert probe.connect_ex(("127.31.0.1", 80)) != 0


def test_demo_then_serve_shows_the_same_audit(cli: Cli, tmp_path: Path) -> None:
    from coverwatch.pipeline import default_traffic_dir
    from coverwatch.store import open_inventory
    from coverwatch.web.app import create_app
    from tests.web.helpers import Client

    out = tmp_path / "demo"
    result = cli("demo", "--out", str(out), db=False, timeout=120)
    assert result.returncode == 0, result.stderr
    db = out / "inventory.db"
    assert f"serve --policy {out / 'policy.yaml'}" in result.stdout
    report = json.loads((out / "report.json").read_text())
    inventory = open_inventory(str(db))
    try:
        token = inventory.create_token("auditor", "viewer")
    finally:
        inventory.close()
    app = create_app(str(db), str(out / "policy.yaml"), traffic_dir=default_traffic_dir(str(db)))
    client = Client(app, token)
    findings = client.get("/api/v1/findings").json()
    assert len(findings) == len(report["findings"])
    traffic = client.get("/api/v1/traffic").json()
    assert {v["verdict"] for v in traffic["verdicts"]} == {t["verdict"] for t in report["traffic"]}
    assert (
        client.get("/api/v1/findings", headers={"Authorization": "Bearer nope"}).status_code == 401
    )


@pytest.mark.slow
def test_demo_beside_a_running_lab_keeps_its_capture_and_its_inventory(
    cli: Cli, tmp_path: Path
) -> None:
    """Issue 14: --base moves the demo off a running lab; the capture the dashboard links
    stays in --out; a second demo into the same --out refuses to replace its inventory."""
    from coverwatch.lab.runner import LabProcess

    out = tmp_path / "demo"
    with LabProcess(hosts=3, seed=1, duration=300):  # holds the default 127.31.0.x
        beside = cli("demo", "--out", str(out), "--base", "127.44.0.0", db=False, timeout=180)
        assert beside.returncode == 0, beside.stderr
        only = cli(
            "lab", "--capture", str(tmp_path / "c.pcap"), "--capture-only", "--hosts", "6",
            "--truth", str(tmp_path / "truth.json"), db=False,
        )  # fmt: skip
        assert only.returncode == 0, only.stderr
    assert (tmp_path / "c.pcap").stat().st_size > 10_000
    assert len(json.loads((tmp_path / "truth.json").read_text())) == 6
    report = json.loads((out / "report.json").read_text())
    assert report["devices"] and all(d["ip"].startswith("127.44.0.") for d in report["devices"])
    findings = {f["rule"] for f in report["findings"] if f["status"] == "open"}
    assert {"uk-sensitive-site", "egress-vendor-cloud"} <= findings  # zones moved with the base
    capture = out / "lab.pcap"
    assert capture.stat().st_size > 10_000
    runs = json.loads(cli("--db", str(out / "inventory.db"), "runs", "--json", db=False).stdout)
    assert [str(capture)] in [r["targets"] for r in runs if r["kind"] == "capture"]

    db = ["--db", str(out / "inventory.db")]
    assert cli(*db, "token", "create", "--role", "admin", db=False).returncode == 0
    again = cli("demo", "--out", str(out), "--base", "127.44.0.0", db=False, timeout=180)
    assert again.returncode == 2 and "--force" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert json.loads(cli(*db, "token", "list", "--json", db=False).stdout)  # kept
    forced = cli(
        "demo", "--out", str(out), "--base", "127.44.0.0", "--force", db=False, timeout=180
    )
    assert forced.returncode == 0, forced.stderr
    assert json.loads(cli(*db, "token", "list", "--json", db=False).stdout) == []


def test_demo_base_must_be_a_loopback_subnet(cli: Cli, tmp_path: Path) -> None:
    for base in ("10.0.0.0", "127.44.0.7", "nonsense"):
        refused = cli("demo", "--out", str(tmp_path / "d"), "--base", base, db=False)
        assert refused.returncode == 2 and "--base" in refused.stderr, base
    assert not (tmp_path / "d" / "inventory.db").exists()

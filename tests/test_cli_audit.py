"""Audit, report, diff and policy commands on a real scanned lab, as a pipeline calls them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from coverwatch.lab.runner import LabProcess
from coverwatch.lab.site import DEFAULT_PASSWORD, DEFAULT_USERNAME
from tests.conftest import Cli


@pytest.fixture
def scanned(cli: Cli, lab: LabProcess, tmp_path: Path) -> tuple[Cli, Path, list[str]]:
    """The first 16 session-lab hosts (one a Hikvision camera) scanned with credentials, and a
    policy with zones."""
    hosts = list(lab.truth)[:16]
    if not any(lab.truth[ip]["profile"] == "hikvision-ipc" for ip in hosts):
        hosts[-1] = next(ip for ip, t in lab.truth.items() if t["profile"] == "hikvision-ipc")
    creds = tmp_path / "creds.yaml"
    creds.write_text(f"default: {{username: {DEFAULT_USERNAME}, password: {DEFAULT_PASSWORD}}}\n")
    result = cli("scan", *hosts, "--site", "hq", "--credentials", str(creds))
    assert result.returncode == 0, result.stderr
    policy = tmp_path / "site.yaml"
    policy.write_text(
        "name: test site\nversion: '3'\nzones:\n"
        "  - {name: secure, cidrs: [127.40.0.0/29], sensitive: true}\n"
        "  - {name: core, cidrs: [127.40.0.8/29], core: true}\n"
        "unit_costs: {camera: 300, nvr: 1000}\n"
    )
    return cli, policy, hosts


def test_audit_stores_findings_and_gates_on_severity(
    scanned: tuple[Cli, Path, list[str]], lab: LabProcess
) -> None:
    cli, policy, hosts = scanned
    listed = cli("audit", "--policy", str(policy), "--json")
    assert listed.returncode == 0, listed.stderr
    findings = json.loads(listed.stdout)
    covered_makers = {"Hikvision", "Dahua", "Huawei", "ZTE", "Hytera"}
    covered_hosts = {ip for ip in hosts if lab.truth[ip]["maker"] in covered_makers}
    assert {f["ip"] for f in findings if f["rule"] == "covered-vendor"} == covered_hosts
    for f in findings:
        assert f["policy_version"].startswith("3+")
        assert f["evidence"] and f["remediation"]
        if f["rule"] == "uk-sensitive-site" and f["status"] == "open":
            assert f["zone"] == "secure"
    assert cli("audit", "--policy", str(policy), "--fail-on", "high").returncode == 1
    assert cli("audit", "--policy", str(policy), "--fail-on", "none").returncode == 0
    # Waive everything: nothing open, so the gate passes.
    waived = Path(policy.parent / "waived.yaml")
    waived.write_text(
        policy.read_text() + "waivers:\n  - {rule: '*', devices: [127.40.0.0/16],"
        " reason: test, approver: QA, expires: 2099-01-01}\n"
    )
    assert cli("audit", "--policy", str(waived), "--fail-on", "low").returncode == 0


def test_reports_in_every_format(scanned: tuple[Cli, Path, list[str]], tmp_path: Path) -> None:
    cli, policy, _hosts = scanned
    for fmt in ("html", "json", "csv", "md"):
        out = tmp_path / f"report.{fmt}"
        result = cli("report", "--policy", str(policy), "--format", fmt, "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert out.stat().st_size > 0
    document = json.loads((tmp_path / "report.json").read_text())
    assert document["schema_version"] >= 2 and document["findings"]
    rows = list(csv.DictReader((tmp_path / "report.csv").open()))
    assert len(rows) == len(document["findings"])
    assert "covered-vendor" in (tmp_path / "report.md").read_text()


def test_diff_between_scans(scanned: tuple[Cli, Path, list[str]]) -> None:
    cli, policy, hosts = scanned
    # Second scan: fewer hosts (some "removed") and only web ports (ports "changed").
    assert cli("scan", *hosts[:10], "--site", "hq", "--ports", "80,443").returncode == 0
    result = cli("diff", "--policy", str(policy), "--json")
    assert result.returncode == 0, result.stderr
    changes = json.loads(result.stdout)
    kinds = {c["ip"]: c["change"] for c in changes["devices"]}
    assert {ip for ip, kind in kinds.items() if kind == "removed"} == set(hosts[10:])
    changed = [c for c in changes["devices"] if c["change"] == "changed"]
    assert changed and all("open_ports" in c["fields"] for c in changed)
    assert changes["resolved_findings"]  # findings of the removed devices are gone
    assert cli("diff", "1", "99").returncode == 2


def test_policy_check_and_show_round_trip(cli: Cli, tmp_path: Path) -> None:
    shown = cli("policy", "show", db=False)
    assert shown.returncode == 0
    effective = tmp_path / "effective.yaml"
    document = yaml.safe_load(shown.stdout)
    document.pop("source")
    effective.write_text(yaml.safe_dump(document))
    checked = cli("policy", "check", str(effective), db=False)
    assert checked.returncode == 0 and "valid policy" in checked.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "zones:\n  - name: a\n    cidrs: [10.0.0.0/8]\n  - name: b\n    cidrs: [10.1.0.0/16]\n"
    )
    result = cli("policy", "check", str(bad), db=False)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"coverwatch: error: {bad}:4: zones[1].cidrs")


def test_show_explains_a_device(scanned: tuple[Cli, Path, list[str]], lab: LabProcess) -> None:
    cli, _policy, hosts = scanned
    host = next(ip for ip in hosts if lab.truth[ip]["profile"] == "hikvision-ipc")
    result = cli("show", host)
    assert result.returncode == 0, result.stderr
    assert "maker Hikvision" in result.stdout and "matched fp:" in result.stdout
    document = json.loads(cli("show", host, "--json").stdout)
    assert document["attribution"]["maker"] == "Hikvision"
    assert {o["source"] for o in document["observations"]} == {"scan"}
    missing = cli("show", "127.40.99.99")
    assert missing.returncode == 2 and "no device 127.40.99.99" in missing.stderr

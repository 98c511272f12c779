"""Traffic commands end to end: a lab capture imported, verdicts per device, findings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli

pytest.importorskip("duckdb", reason="the pcap extra is not installed")


def test_lab_capture_import_egress_and_audit(cli: Cli, tmp_path: Path) -> None:
    from coverwatch.lab.capture import write_lab_capture
    from coverwatch.lab.site import build_site

    capture = tmp_path / "site.pcap"
    planted = write_lab_capture(build_site(24, 7, "127.51.0.0"), str(capture), 7)
    traffic = ["--traffic-dir", str(tmp_path / "flows")]
    imported = cli(*traffic, "traffic", "import", str(capture), "--site", "lab")
    assert imported.returncode == 0, imported.stderr
    assert "flows added" in imported.stderr
    # The capture alone yields an inventory (ARP, DHCP, discovery chatter).
    devices = cli.json("devices", "--json")
    assert {d["ip"] for d in devices} >= set(planted.egress)  # type: ignore[union-attr]
    verdicts = json.loads(cli(*traffic, "traffic", "egress", "--json").stdout)
    got = {v["ip"]: v["verdict"] for v in verdicts}
    for ip, truth in planted.egress.items():
        assert got[ip] == truth.verdict, ip
    accused = {
        ip for ip, v in got.items() if v not in ("no egress observed", "no traffic observed")
    }
    assert accused == {ip for ip, t in planted.egress.items() if t.verdict != "no egress observed"}
    audit = json.loads(cli(*traffic, "audit", "--json").stdout)
    rules = {(f["ip"], f["rule"]) for f in audit}
    for ip, truth in planted.egress.items():
        if truth.verdict == "vendor cloud":
            assert (ip, "egress-vendor-cloud") in rules
        if truth.port_mapping:
            assert (ip, "upnp-port-mapping") in rules


def test_not_a_capture_is_a_one_line_error(cli: Cli, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n")
    result = cli("--traffic-dir", str(tmp_path / "t"), "traffic", "import", str(junk))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "notes.txt" in lines[0]

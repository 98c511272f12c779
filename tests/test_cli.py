"""The command line as users and scripts call it: contracts, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from coverwatch.lab.runner import LabProcess
from coverwatch.lab.site import DEFAULT_PASSWORD, DEFAULT_USERNAME
from coverwatch.targets import DEFAULT_PORTS
from tests.conftest import Cli

IDENTIFY_KEYS = {
    "maker",
    "brand",
    "model",
    "firmware",
    "device_type",
    "covered",
    "confidence",
    "evidence",
}
DEVICE_KEYS = IDENTIFY_KEYS | {"ip", "mac", "site", "open_ports", "first_seen", "last_seen"}


def _one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_identify_streams_the_jsonl_contract(cli: Cli) -> None:
    lines = [
        {
            "ip": "10.0.0.5",
            "http.server": "App-webs/",
            "onvif.manufacturer": "LTS",
            "onvif.model": "CMIP3C42WI-28SDL",
            "note": "kept as given",
        },
        {"ip": "10.0.0.6", "mac": "3c:ef:8c:00:00:01", "rtsp.server": "Dahua Rtsp Server"},
        {"ip": "10.0.0.7"},
    ]
    result = cli("identify", "-", input="\n".join(json.dumps(x) for x in lines) + "\n", db=False)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 3
    for given, got in zip(lines, out, strict=True):
        assert set(got) >= IDENTIFY_KEYS
        assert {k: got[k] for k in given} == given  # the input object is echoed unchanged
        for item in got["evidence"]:
            assert {"signal", "value", "matched", "source"} <= set(item)
    assert (out[0]["maker"], out[0]["brand"], out[0]["model"]) == (
        "Hikvision",
        "LTS",
        "CMIP3C42WI-28SDL",
    )
    assert out[0]["covered"] == "Hangzhou Hikvision Digital Technology Company"
    assert out[1]["maker"] == "Dahua"
    assert out[2]["maker"] is None and out[2]["confidence"] == 0 and out[2]["evidence"] == []


def test_identify_reads_what_a_device_says_of_itself_in_composite_strings(cli: Cli) -> None:
    # A scope list as one string, a realm that is the device's MAC, the node of a version-1
    # UUID: what other tools hand over as they received it.
    lines = [
        {
            "ip": "10.0.0.5",
            "onvif.scopes": "onvif://www.onvif.org/Profile/Streaming "
            "onvif://www.onvif.org/name/Amcrest onvif://www.onvif.org/hardware/IP2M-8200",
        },
        {"ip": "10.0.0.6", "rtsp.www_authenticate": 'Digest realm="4419b6000001", stale="FALSE"'},
        {"ip": "10.0.0.7", "onvif.endpoint": "urn:uuid:aa85c000-6324-11b3-819e-4419b6000001"},
    ]
    result = cli("identify", "-", input="\n".join(json.dumps(x) for x in lines) + "\n", db=False)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["maker"], o["brand"], o["model"]) for o in out] == [
        ("Dahua", "Amcrest", "IP2M-8200"),
        ("Hikvision", None, None),
        ("Hikvision", None, None),
    ]
    assert all(o["covered"] for o in out)


def test_identify_output_can_be_fed_back(cli: Cli) -> None:
    first = cli("identify", "-", input='{"http.server": "DNVRS-Webs"}\n', db=False)
    second = cli("identify", "-", input=first.stdout, db=False)
    assert json.loads(second.stdout)["maker"] == json.loads(first.stdout)["maker"] == "Hikvision"


def test_malformed_jsonl_line_is_named_and_the_rest_processed(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "obs.jsonl"
    source.write_text(
        '{"http.server": "App-webs/"}\n{not json\n[1, 2]\n'
        '{"http.server": {"nested": 1}}\n{"mac": "zz"}\n'
        '{"rtsp.server": "Dahua Rtsp Server"}\n'
    )
    result = cli("identify", str(source), db=False)
    assert result.returncode == 2
    makers = [json.loads(line)["maker"] for line in result.stdout.splitlines()]
    assert makers == ["Hikvision", "Dahua"]
    errors = result.stderr.splitlines()
    assert [e.split(":")[3] for e in errors[:4]] == ["2", "3", "4", "5"]
    assert all(str(source) in e for e in errors)
    assert "Traceback" not in result.stderr


def test_unreadable_identify_file(cli: Cli, tmp_path: Path) -> None:
    result = cli("identify", str(tmp_path / "missing.jsonl"), db=False)
    assert result.returncode == 2
    assert "missing.jsonl" in _one_line_error(result.stderr)


@pytest.mark.parametrize(
    "target", ["10.0.0.300", "127.0.0.9-127.0.0.1", "not_a_host!", "@/nonexistent/targets.txt"]
)
def test_bad_scan_targets(cli: Cli, target: str) -> None:
    result = cli("scan", target)
    assert result.returncode == 2
    line = _one_line_error(result.stderr)
    assert target.lstrip("@") in line


def test_scope_larger_than_allowed_is_refused(cli: Cli) -> None:
    result = cli("scan", "127.0.0.0/8", "--max-hosts", "1024")
    assert result.returncode == 2
    assert "more than 1024 hosts" in _one_line_error(result.stderr)


@pytest.mark.parametrize(
    "args", [["--ports", "0"], ["--ports", "http"], ["--concurrency", "0"], ["--timeout", "-1"]]
)
def test_bad_scan_options_are_usage_errors(cli: Cli, args: list[str]) -> None:
    result = cli("scan", "127.0.0.1", *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_database_that_is_not_a_database(cli: Cli, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    payload = os.urandom(4096)
    bogus.write_bytes(payload)
    result = cli("--db", str(bogus), "devices", db=False)
    assert result.returncode == 2
    assert "bogus.db" in _one_line_error(result.stderr)
    assert bogus.read_bytes() == payload


def test_foreign_sqlite_database_is_not_touched(cli: Cli, tmp_path: Path) -> None:
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE payroll (name TEXT)")
    before = foreign.read_bytes()
    result = cli("--db", str(foreign), "devices", db=False)
    assert result.returncode == 2
    assert "not a coverwatch inventory" in _one_line_error(result.stderr)
    assert foreign.read_bytes() == before


def test_scan_then_devices_and_history(cli: Cli, lab: LabProcess, tmp_path: Path) -> None:
    hosts = list(lab.truth)[:6]
    creds = tmp_path / "creds.yaml"
    creds.write_text(f"default: {{username: {DEFAULT_USERNAME}, password: {DEFAULT_PASSWORD}}}\n")
    first = cli("scan", *hosts, "--site", "hq", "--credentials", str(creds))
    assert first.returncode == 0, first.stderr
    assert DEFAULT_PASSWORD not in first.stdout + first.stderr
    devices = cli.json("devices", "--json")
    assert isinstance(devices, list) and len(devices) == 6
    for device in devices:
        assert set(device) >= DEVICE_KEYS
        truth = lab.truth[device["ip"]]
        assert device["maker"] == truth["maker"] and device["site"] == "hq"
        assert device["open_ports"] == sorted(set(truth["ports"]) & set(DEFAULT_PORTS))
    # A second scan keeps first_seen, moves last_seen, and a bad scan loses nothing.
    assert cli("scan", *hosts[:2], "--site", "hq").returncode == 0
    assert cli("scan", "garbage!!").returncode == 2
    again = {d["ip"]: d for d in cli.json("devices", "--json")}  # type: ignore[union-attr]
    assert len(again) == 6
    for device in devices:
        later = again[device["ip"]]
        assert later["first_seen"] == device["first_seen"]
        if device["ip"] in hosts[:2]:
            assert later["last_seen"] > device["last_seen"]
    csv_out = cli("devices", "--csv").stdout.splitlines()
    assert csv_out[0].startswith("ip,mac,site,device_type,maker") and len(csv_out) == 7
    table = cli("devices", "--site", "hq").stdout.splitlines()
    assert table[0].split("\t")[:2] == ["ip", "site"] and len(table) == 7  # piped: TSV
    # A site nobody knows is a mistake to report, not an empty estate (issue #10).
    elsewhere = cli("devices", "--json", "--site", "elsewhere")
    assert elsewhere.returncode == 2 and "known sites: 'hq'" in elsewhere.stderr


def test_scan_jsonl_output_feeds_identify(cli: Cli, lab: LabProcess) -> None:
    host = next(ip for ip, t in lab.truth.items() if t["profile"] == "dahua-ipc")
    scanned = cli("scan", host, "--jsonl")
    assert scanned.returncode == 0, scanned.stderr
    record = json.loads(scanned.stdout)
    assert record["maker"] == "Dahua" and record["ip"] == host
    again = cli("identify", "-", input=scanned.stdout, db=False)
    assert json.loads(again.stdout)["maker"] == "Dahua"


def test_a_plain_port_sweep_names_only_vendors_whose_own_ports_it_sees(
    cli: Cli, lab: LabProcess
) -> None:
    # --no-probes asks the devices nothing: only a vendor's default set of ports can name it
    # (Dahua's 37777 and XM's 34567 beside a web or RTSP port); Hikvision's and Reolink's
    # cameras both show 8000 and 554, so those ports name neither.
    named = {"dahua-ipc": "Dahua", "lorex-nvr": "Dahua", "xiongmai-dvr": "Xiongmai"}
    unnamed = {"hikvision-ipc", "reolink-ipc", "axis-ipc"}
    hosts = {ip: t["profile"] for ip, t in lab.truth.items() if t["profile"] in {*named, *unnamed}}
    assert set(hosts.values()) == {*named, *unnamed}
    result = cli("scan", *hosts, "--site", "hq", "--no-probes")
    assert result.returncode == 0, result.stderr
    devices = cli.json("devices", "--json")
    assert isinstance(devices, list) and len(devices) == len(hosts)
    for device in devices:
        profile = hosts[device["ip"]]
        assert device["maker"] == named.get(profile), (profile, device["evidence"])
        ports = [e for e in device["evidence"] if e["signal"] == "tcp.ports"]
        assert bool(ports) == (profile in named)
        if device["maker"] == "Dahua":
            assert device["covered"] == "Dahua Technology Company"


def test_help_teaches(cli: Cli) -> None:
    for command in ("scan", "devices", "identify", "lab", "demo"):
        result = cli(command, "--help", db=False)
        assert result.returncode == 0
        assert "Example" in result.stdout or command in ("devices", "demo")
    top = cli("--help", db=False).stdout
    assert "Exit codes" in top

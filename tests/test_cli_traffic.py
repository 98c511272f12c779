"""Traffic commands end to end: a lab capture imported, verdicts per device, findings."""

from __future__ import annotations

import json
import os
import shutil
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


def test_poisoned_files_import_and_the_store_stays_usable(cli: Cli, tmp_path: Path) -> None:
    """Issue #11: nan/inf/1e300 Zeek times, impossible NetFlow rows and a pcapng with whole-
    second timestamps of 2**62 are counted per file, and egress and audit still work."""
    from tests.traffic.test_poison import (
        NFDUMP_HEADER,
        conn_json,
        nfdump_line,
        pcapng,
        udp_frame,
    )

    zeek = tmp_path / "conn.log"
    zeek.write_text(
        json.dumps(conn_json())
        + "\n"
        + "".join(json.dumps(conn_json(ts=ts)) + "\n" for ts in (float("nan"), float("inf"), 1e300))
    )
    netflow = tmp_path / "flows.csv"
    netflow.write_text(
        NFDUMP_HEADER
        + nfdump_line(sp="40001")
        + nfdump_line(te="9999-12-31 23:59:59")
        + nfdump_line(ibyt="1e300")
        + nfdump_line(te="2026-01-05 08:00:00.000")
    )
    capture = tmp_path / "cap.pcapng"
    capture.write_bytes(pcapng([(1 << 62, udp_frame())] * 2, tsresol=0))
    traffic = ["--traffic-dir", str(tmp_path / "flows")]
    imported = cli(*traffic, "traffic", "import", str(zeek), str(netflow), str(capture))
    assert imported.returncode == 0, imported.stderr
    assert "conn.log: zeek, 4 packets/records, 1 flows" in imported.stderr
    assert "skipped: 3 bad_timestamp" in imported.stderr
    assert "flows.csv: netflow, 4 packets/records, 1 flows" in imported.stderr
    assert "1 bad_timestamp, 2 impossible_value" in imported.stderr
    assert "cap.pcapng: pcapng, 0 packets/records, 0 flows" in imported.stderr
    assert "skipped: 2 bad_timestamp" in imported.stderr
    register = tmp_path / "assets.csv"
    register.write_text("IP Address,Make\n10.0.0.5,Axis\n")
    assert cli("import", "csv", str(register), "--map", "ip=IP Address,brand=Make").returncode == 0
    egress = cli(*traffic, "traffic", "egress", "--json")
    assert egress.returncode == 0, egress.stderr
    (camera,) = json.loads(egress.stdout)
    assert camera["ip"] == "10.0.0.5" and camera["flows_seen"] == 2
    assert camera["verdict"] == "unknown destination"
    audit = cli(*traffic, "audit", "--json")
    assert audit.returncode in (0, 1), audit.stderr
    json.loads(audit.stdout)


def test_window_counts_back_from_the_last_record_unless_told_now(cli: Cli, tmp_path: Path) -> None:
    """Issue 14: replaying a capture from January must not say "no traffic observed"."""
    from coverwatch.lab.capture import write_lab_capture
    from coverwatch.lab.site import build_site

    capture = tmp_path / "site.pcap"
    planted = write_lab_capture(build_site(8, 7, "127.52.0.0"), str(capture), 7)
    traffic = ["--traffic-dir", str(tmp_path / "flows")]
    assert cli(*traffic, "traffic", "import", str(capture)).returncode == 0

    replay = cli(*traffic, "traffic", "egress", "--window", "1h", "--json")
    assert replay.returncode == 0, replay.stderr
    last = f"{planted.end:%Y-%m-%d %H:%M}"
    assert "back from the last record" in replay.stderr and last in replay.stderr
    seen = {v["ip"]: v for v in json.loads(replay.stdout)}
    assert all(seen[ip]["flows_seen"] > 0 for ip in planted.egress)
    assert {ip: seen[ip]["verdict"] for ip in planted.egress} == {
        ip: t.verdict for ip, t in planted.egress.items()
    }

    text = cli(*traffic, "traffic", "egress", "--window", "1h")
    assert text.stdout.splitlines()[0].startswith("Window: ") and last in text.stdout

    now = cli(*traffic, "traffic", "egress", "--window", "1h", "--window-from", "now", "--json")
    assert now.returncode == 0 and "back from now" in now.stderr
    assert {v["verdict"] for v in json.loads(now.stdout)} == {"no traffic observed"}


def test_nfcapd_import_and_verdicts_without_dns(cli: Cli, tmp_path: Path) -> None:
    """Issue #15: a NetFlow v9 nfcapd file (Debian's nfcapd, fed on loopback) imports directly;
    with no DNS anywhere, the camera's HTTPS to a Google address is named by AS number."""
    import shutil

    if shutil.which("nfcapd") is None or shutil.which("nfdump") is None:
        pytest.skip("nfdump not installed (apt-get install nfdump)")
    from tests.traffic.test_netflow import collect, netflow_v9

    exported = [
        ("10.0.0.5", "142.250.74.46", 50000, 443, 5, 1000, 590_000),
        ("142.250.74.46", "10.0.0.5", 443, 50000, 6, 2000, 590_050),
    ]
    nfcapd = collect(tmp_path / "collected", [netflow_v9(exported, uptime=600_000)])
    traffic = ["--traffic-dir", str(tmp_path / "flows")]
    imported = cli(*traffic, "traffic", "import", str(nfcapd))
    assert imported.returncode == 0, imported.stderr
    assert f"{nfcapd}: netflow, 2 packets/records, 1 flows" in imported.stderr
    register = tmp_path / "assets.csv"
    register.write_text("IP Address,Make\n10.0.0.5,Hikvision\n")
    assert cli("import", "csv", str(register), "--map", "ip=IP Address,brand=Make").returncode == 0
    (camera,) = json.loads(cli(*traffic, "traffic", "egress", "--json").stdout)
    assert camera["verdict"] == "third party"
    (dest,) = camera["destinations"]
    assert (dest["remote_ip"], dest["port"], dest["dns_name"], dest["country"]) == (
        "142.250.74.46",
        443,
        None,
        "US",
    )
    assert (dest["bytes_sent"], dest["bytes_received"], dest["initiated_by_device"]) == (
        1000,
        2000,
        True,
    )
    assert dest["endpoint"]["operator"] == "Google" and dest["endpoint"]["match"] == "asn"
    text = cli(*traffic, "traffic", "egress").stdout
    assert "Google network (by asn)" in text


@pytest.mark.slow
def test_egress_and_audit_on_spark_match_duckdb(cli: Cli, tmp_path: Path) -> None:
    """Issue #15: `--engine spark` gives the same verdict documents and the same traffic
    findings as the default engine, and keeps Spark's own log off stderr."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime: apt install openjdk-17-jre-headless")
    from coverwatch.lab.capture import write_lab_capture
    from coverwatch.lab.site import build_site

    capture = tmp_path / "site.pcap"
    write_lab_capture(build_site(16, 7, "127.51.0.0"), str(capture), 7)
    traffic = ["--traffic-dir", str(tmp_path / "flows")]
    assert cli(*traffic, "traffic", "import", str(capture), "--site", "lab").returncode == 0
    spark = ["--engine", "spark", "--master", "local[2]"]
    duck = cli(*traffic, "traffic", "egress", "--json")
    on_spark = cli(*traffic, "traffic", "egress", *spark, "--json")
    assert on_spark.returncode == 0, on_spark.stderr
    assert json.loads(on_spark.stdout) == json.loads(duck.stdout)
    assert on_spark.stderr == duck.stderr  # the window statement, and no Spark log
    findings = [
        {(f["ip"], f["rule"], f["status"]) for f in cli.json(*traffic, "audit", *args, "--json")}  # type: ignore[union-attr]
        for args in ([], spark)
    ]
    assert findings[1] == findings[0]
    assert any(rule.startswith("egress") for _, rule, _ in findings[1])


def test_spark_engine_without_java_or_with_a_stray_master(cli: Cli, tmp_path: Path) -> None:
    """Missing Java or pyspark is a one-line error naming what to install (exit 2), not a
    traceback; so is a master URL Spark would refuse; --master without --engine spark is a
    usage error."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    traffic = ["--traffic-dir", str(tmp_path / "flows")]
    no_java = {"PATH": str(tmp_path), "JAVA_HOME": ""}
    result = cli(*traffic, "traffic", "egress", "--engine", "spark", env=no_java)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "openjdk-17-jre-headless" in lines[0], result.stderr
    stray = cli(*traffic, "traffic", "egress", "--master", "spark://h:7077")
    assert stray.returncode == 2 and "--engine spark" in stray.stderr
    bogus = cli(*traffic, "traffic", "egress", "--engine", "spark", "--master", "bogus://h")
    assert bogus.returncode == 2 and bogus.stderr.count("\n") == 1, bogus.stderr
    assert "not a Spark master URL" in bogus.stderr
    # pyspark missing: a package of that name that cannot be imported stands in for it
    (tmp_path / "hide" / "pyspark").mkdir(parents=True)
    (tmp_path / "hide" / "pyspark" / "__init__.py").write_text("raise ImportError('hidden')\n")
    path = os.pathsep.join([str(tmp_path / "hide"), os.environ.get("PYTHONPATH", "")])
    no_spark = cli(*traffic, "traffic", "egress", "--engine", "spark", env={"PYTHONPATH": path})
    assert no_spark.returncode == 2 and no_spark.stderr.count("\n") == 1, no_spark.stderr
    assert "pip install -e '.[spark]'" in no_spark.stderr


def test_egress_reads_the_store_while_another_process_holds_it(cli: Cli, tmp_path: Path) -> None:
    """An import (or a server process) holding the store's DuckDB file does not stop a report
    or a dashboard in another process from reading the store."""
    import subprocess
    import sys

    from coverwatch.lab.capture import write_lab_capture
    from coverwatch.lab.site import build_site

    capture = tmp_path / "site.pcap"
    planted = write_lab_capture(build_site(8, 3, "127.51.0.0"), str(capture), 3)
    store = tmp_path / "flows"
    assert cli("--traffic-dir", str(store), "traffic", "import", str(capture)).returncode == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom coverwatch.traffic.table import connect\n"
            f"con = connect({str(store)!r})\nprint('holding', flush=True)\ntime.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        egress = cli("--traffic-dir", str(store), "traffic", "egress", "--json")
        assert egress.returncode == 0, egress.stderr
        got = {v["ip"]: v["verdict"] for v in json.loads(egress.stdout)}
        assert all(got[ip] == truth.verdict for ip, truth in planted.egress.items())
    finally:
        holder.kill()
        holder.wait()


def test_egress_over_an_empty_flow_store_says_so(cli: Cli, tmp_path: Path) -> None:
    """A mistyped --traffic-dir is not a quiet estate: stderr says the store holds no flows."""
    register = tmp_path / "assets.csv"
    register.write_text("IP Address,Make\n10.0.0.5,Hikvision\n")
    assert cli("import", "csv", str(register), "--map", "ip=IP Address,brand=Make").returncode == 0
    store = tmp_path / "no-such-store"
    result = cli("--traffic-dir", str(store), "traffic", "egress", "--json")
    assert result.returncode == 0, result.stderr
    assert f"{store}: no flows in this flow store yet" in result.stderr
    assert [e["verdict"] for e in json.loads(result.stdout)] == ["no traffic observed"]

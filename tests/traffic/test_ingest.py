"""One capture, several input paths, the same flows: pcap, pcapng (tshark), NetFlow (nfdump),
Zeek TSV and JSON logs. Only local tools run, on files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from coverwatch.errors import InputError
from coverwatch.lab.capture import LabCapture
from coverwatch.traffic import RecordSource
from coverwatch.traffic.ingest import ingest

_COLUMNS = (
    "first_ts, last_ts, proto, src_ip, src_port, dst_ip, dst_port, bytes_out, packets_out, "
    "bytes_in, packets_in, dns_name"
)


def rows(store: Path | str) -> list[tuple]:
    """Every flow row, source-independent columns only, in a stable order."""
    with duckdb.connect(str(Path(store) / "flows.duckdb")) as con:
        return con.execute(f"SELECT {_COLUMNS} FROM flows ORDER BY ALL").fetchall()


def directional(flows: list[tuple]) -> Counter:
    """(proto, src, sport, dst, dport) -> [bytes, packets] each way, as NetFlow keeps them."""
    total: Counter = Counter()
    for _, _, proto, src, sport, dst, dport, bout, pout, bin_, pin, _ in flows:
        total[(proto, src, sport, dst, dport, "bytes")] += bout
        total[(proto, src, sport, dst, dport, "packets")] += pout
        if pin:
            total[(proto, dst, dport, src, sport, "bytes")] += bin_
            total[(proto, dst, dport, src, sport, "packets")] += pin
    return total


def test_pcap_report(lab_capture: LabCapture, tmp_path: Path) -> None:
    report = ingest([lab_capture.path], str(tmp_path))
    (file,) = report.files
    assert file.kind is RecordSource.PCAP
    assert file.packets == lab_capture.packets
    assert file.flows == report.flows > 100
    assert file.dns_answers == 3 and file.port_mappings == 2
    assert set(file.warnings) <= {"non_ip"}  # the ARP frames


def test_reingest_replaces_rows(lab_capture: LabCapture, tmp_path: Path) -> None:
    ingest([lab_capture.path], str(tmp_path))
    first = rows(tmp_path)
    ingest([lab_capture.path], str(tmp_path))
    assert rows(tmp_path) == first


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_pcapng_from_tshark_gives_same_flows(
    lab_capture: LabCapture, lab_store: Path, tmp_path: Path
) -> None:
    pcapng = tmp_path / "lab.pcapng"
    subprocess.run(
        ["tshark", "-r", lab_capture.path, "-w", str(pcapng), "-F", "pcapng"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    report = ingest([str(pcapng)], str(tmp_path / "store"))
    assert report.files[0].kind is RecordSource.PCAPNG
    assert rows(tmp_path / "store") == rows(lab_store)


@pytest.mark.skipif(
    shutil.which("nfpcapd") is None or shutil.which("nfdump") is None, reason="nfdump missing"
)
def test_netflow_from_nfdump_gives_same_tuples_and_bytes(
    lab_capture: LabCapture, lab_store: Path, tmp_path: Path
) -> None:
    flowdir = tmp_path / "nfcapd"
    flowdir.mkdir()
    subprocess.run(
        ["nfpcapd", "-r", lab_capture.path, "-w", str(flowdir)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    csv = tmp_path / "flows.csv"
    exported = subprocess.run(
        ["nfdump", "-R", str(flowdir), "-o", "csv", "-N"],
        check=True,
        capture_output=True,
        timeout=120,
        env={**os.environ, "TZ": "UTC"},
    )
    csv.write_bytes(exported.stdout)
    report = ingest([str(csv)], str(tmp_path / "store"))
    assert report.files[0].kind is RecordSource.NETFLOW
    assert not report.files[0].warnings
    assert directional(rows(tmp_path / "store")) == directional(rows(lab_store))


def _zeek_logs(lab_store: Path, folder: Path) -> tuple[list[dict], list[dict]]:
    with duckdb.connect(str(lab_store / "flows.duckdb")) as con:
        flows = con.execute(f"SELECT {_COLUMNS} FROM flows ORDER BY ALL").fetchall()
        answers = con.execute("SELECT ts, client, name, address FROM dns ORDER BY ts").fetchall()
    conn = [
        {
            "ts": f,
            "uid": f"C{i}",
            "id.orig_h": src,
            "id.orig_p": sp,
            "id.resp_h": dst,
            "id.resp_p": dp,
            "proto": proto,
            "duration": last - f,
            "orig_bytes": 0,
            "resp_bytes": 0,
            "conn_state": "SF",
            "orig_pkts": po,
            "orig_ip_bytes": bo,
            "resp_pkts": pi,
            "resp_ip_bytes": bi,
        }
        for i, (f, last, proto, src, sp, dst, dp, bo, po, bi, pi, _) in enumerate(flows)
    ]
    dns = [
        {
            "ts": ts,
            "uid": f"D{i}",
            "id.orig_h": client,
            "id.orig_p": 40000,
            "id.resp_h": "x",
            "id.resp_p": 53,
            "proto": "udp",
            "query": name,
            "qtype_name": "A",
            "answers": [address],
        }
        for i, (ts, client, name, address) in enumerate(answers)
    ]
    return conn, dns


def _tsv(path: Path, log: str, records: list[dict]) -> None:
    fields = list(records[0])
    lines = [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        f"#path\t{log}",
        "#fields\t" + "\t".join(fields),
    ]
    for record in records:
        values = [
            ",".join(v) if isinstance(v, list) else repr(v) if isinstance(v, float) else str(v)
            for v in record.values()
        ]
        lines.append("\t".join(values))
    path.write_text("\n".join([*lines, "#close\t2026-01-05-09-05-00"]) + "\n")


@pytest.mark.parametrize("style", ["tsv", "json"])
def test_zeek_logs_give_same_flows(lab_store: Path, tmp_path: Path, style: str) -> None:
    conn, dns = _zeek_logs(lab_store, tmp_path)
    conn_log, dns_log = tmp_path / f"conn.{style}", tmp_path / f"dns.{style}"
    if style == "tsv":
        _tsv(conn_log, "conn", conn)
        _tsv(dns_log, "dns", dns)
    else:
        conn_log.write_text("".join(json.dumps(r) + "\n" for r in conn))
        dns_log.write_text("".join(json.dumps(r) + "\n" for r in dns))
    # conn.log first: the DNS log is still read first, so its names label the flows
    report = ingest([str(conn_log), str(dns_log)], str(tmp_path / "store"))
    assert [f.kind for f in report.files] == [RecordSource.ZEEK, RecordSource.ZEEK]
    assert report.files[1].dns_answers == len(dns)
    assert not report.warnings
    got = rows(tmp_path / "store")
    want = rows(lab_store)
    assert [r[2:11] for r in got] == [r[2:11] for r in want]
    assert [r[11] for r in got] == [r[11] for r in want]
    assert all(abs(a[1] - b[1]) < 1e-5 for a, b in zip(got, want, strict=True))


@pytest.mark.parametrize(
    "content",
    [b"", b"hello world\n", b"\x00" * 64, b"PK\x03\x04zipfile", b"ts,foo,bar\n1,2,3\n"],
)
def test_unknown_format_is_one_line_input_error(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(content)
    with pytest.raises(InputError, match=r"bad\.bin"):
        ingest([str(bad)], str(tmp_path / "store"))


def test_missing_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.pcap"):
        ingest([str(tmp_path / "nope.pcap")], str(tmp_path / "store"))


def test_bad_log_lines_are_counted(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(
        "#separator \\x09\n#path\tconn\n#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\t"
        "id.resp_p\tproto\tduration\torig_ip_bytes\tresp_ip_bytes\n"
        "1767600000.0\t10.0.0.1\t1000\t8.8.8.8\t53\tudp\t0.1\t80\t120\n"
        "not\tenough\n"
        "x\t10.0.0.1\t1000\t8.8.8.8\t53\tudp\t0.1\t80\t120\n"
        "1767600002.0\t10.0.0.1\t99999\t8.8.8.8\t53\tudp\t0.1\t80\t120\n"
    )
    report = ingest([str(log)], str(tmp_path / "store"))
    assert report.files[0].flows == 1
    assert report.files[0].warnings == {"malformed_line": 2, "impossible_value": 1}

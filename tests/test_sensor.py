"""Site sensors feeding a central server (issue #15): the real ``coverwatch sensor`` command
against a real ``coverwatch serve`` on 127.0.0.1, scanning the loopback lab; the spool keeps
what the server could not take, bounded, without the token, and a retry is recorded once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from coverwatch.cli.sensor import EXIT_UNDELIVERED
from coverwatch.lab.runner import LabProcess
from coverwatch.sensor import Spool
from coverwatch.store import open_inventory
from tests.conftest import Cli, free_port


@contextmanager
def serving(db: str, port: int) -> Iterator[str]:
    """``coverwatch serve`` in a subprocess on 127.0.0.1:``port``; yields its URL."""
    command = [sys.executable, "-m", "coverwatch", "--db", db, "serve", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "coverwatch serve did not start"
            try:
                if httpx.get(f"{base}/api/v1/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def _token(cli: Cli, db: str, *sites: str) -> str:
    args = [a for s in sites for a in ("--site", s)]
    name = "-".join(sites)
    made = cli("--db", db, "token", "create", "--role", "sensor", "--name", name, *args, db=False)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def _sensor(
    cli: Cli, server: str, site: str, token: str, spool: Path, *targets: str, ports: str = "80"
) -> subprocess.CompletedProcess[str]:
    return cli(
        "sensor",
        "--server",
        server,
        "--site",
        site,
        "--targets",
        ",".join(targets),
        "--ports",
        ports,
        "--timeout",
        "2",
        "--spool",
        str(spool),
        "--once",
        db=False,
        env={"COVERWATCH_TOKEN": token},
    )


def test_the_spool_drops_the_oldest_batches_beyond_its_bound(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_batches=3)
    keys = [str(uuid.uuid4()) for _ in range(5)]
    dropped = [spool.put({"batch_key": k, "hosts": []}) for k in keys]
    assert dropped == [[], [], [], [keys[0]], [keys[1]]]
    kept = [json.loads(p.read_text())["batch_key"] for p in spool.pending()]
    assert kept == keys[2:]  # oldest first, the newest three


def test_a_sensor_refuses_a_token_on_the_command_line_and_bad_input(cli: Cli) -> None:
    unknown = cli("sensor", "--server", "http://127.0.0.1:1", "--site", "a", "--token", "cw_x")
    assert unknown.returncode == 2 and "cw_x" not in unknown.stderr
    no_token = cli("sensor", "--server", "http://127.0.0.1:1", "--site", "a", "--targets", "x")
    assert no_token.returncode == 2 and "COVERWATCH_TOKEN" in no_token.stderr
    env = {"COVERWATCH_TOKEN": "cw_abc"}
    bad_url = cli("sensor", "--server", "ftp://x", "--site", "a", "--targets", "10.0.0.1", env=env)
    assert bad_url.returncode == 2 and "--server" in bad_url.stderr
    wide = cli(
        "sensor", "--server", "http://127.0.0.1:1", "--site", "a", "--targets", "10.0.0.0/8",
        env=env,
    )  # fmt: skip
    assert wide.returncode == 2 and "\n" not in wide.stderr.strip()


@pytest.mark.slow
def test_a_sensor_spools_while_the_server_is_down_and_delivers_once_later(
    cli: Cli, tmp_path: Path
) -> None:
    db = str(tmp_path / "central.db")
    token = _token(cli, db, "depot")
    port = free_port()
    spool = tmp_path / "spool"
    server = f"http://127.0.0.1:{port}"
    # Nothing listens on a free port: the scan finds nothing, the empty run is still a batch.
    down = _sensor(cli, server, "depot", token, spool, "127.0.0.1", ports=str(free_port()))
    assert down.returncode == EXIT_UNDELIVERED, down.stderr
    assert "cannot reach the server" in down.stderr and token not in down.stderr
    (waiting,) = spool.glob("*.json")
    saved = waiting.read_bytes()
    assert token.encode() not in saved and b"cw_" not in saved
    kept = tmp_path / "copy.json"
    shutil.copy(waiting, kept)
    with serving(db, port):
        up = _sensor(cli, server, "depot", token, spool, "127.0.0.1", ports=str(free_port()))
        assert up.returncode == 0, up.stderr
        assert "2 delivered" in up.stderr and list(spool.glob("*.json")) == []
        # The first batch's answer was lost, say: the sensor sends it again.
        shutil.copy(kept, spool / waiting.name)
        retry = _sensor(cli, server, "depot", token, spool, "127.0.0.1", ports=str(free_port()))
        assert retry.returncode == 0 and "1 already recorded" in retry.stderr
    inventory = open_inventory(db)
    try:
        batches = inventory.ingests()
        scans = inventory.scans()
    finally:
        inventory.close()
    assert len(scans) == 3 and {s.site for s in scans} == {"depot"}  # one run per cycle, no more
    assert len({b["batch_key"] for b in batches}) == len(batches) == 3
    assert json.loads(saved)["batch_key"] in {b["batch_key"] for b in batches}


@pytest.mark.slow
def test_three_sensors_deliver_everything_exactly_once_to_postgres(
    cli: Cli, lab: LabProcess, postgres_url: str, tmp_path: Path
) -> None:
    from tests.pg import fresh_database

    db = fresh_database(postgres_url)
    hosts = sorted(lab.truth)[:12]
    parts = {"north": hosts[0:4], "south": hosts[4:8], "east": hosts[8:12]}
    tokens = {site: _token(cli, db, site) for site in parts}
    port = free_port()
    server = f"http://127.0.0.1:{port}"
    spools = {site: tmp_path / site for site in parts}
    ports = "80,554,8000"
    # "east" starts while the server is down: its run waits in its spool.
    east = parts["east"]
    early = _sensor(cli, server, "east", tokens["east"], spools["east"], *east, ports=ports)
    assert early.returncode == EXIT_UNDELIVERED, early.stderr
    assert len(list(spools["east"].glob("*.json"))) == 1
    with serving(db, port):
        for site, targets in parts.items():
            done = _sensor(cli, server, site, tokens[site], spools[site], *targets, ports=ports)
            assert done.returncode == 0, done.stderr
            assert list(spools[site].glob("*.json")) == []
        # A sensor token cannot write another site: refused, set aside, nothing recorded.
        wrong = _sensor(
            cli, server, "south", tokens["north"], tmp_path / "wrong", *parts["south"], ports=ports
        )
        assert wrong.returncode == EXIT_UNDELIVERED and "403" in wrong.stderr
    inventory = open_inventory(db)
    try:
        scans = inventory.scans()
        batches = inventory.ingests()
        devices = {site: inventory.devices(site) for site in parts}
        contacts = {(r["sensor"], r["site"]): r["batches"] for r in inventory.sensors()}
    finally:
        inventory.close()
    runs = {site: [s for s in scans if s.site == site] for site in parts}
    assert {site: len(r) for site, r in runs.items()} == {"north": 1, "south": 1, "east": 2}
    assert len(batches) == len(scans) == 4 == len({b["batch_key"] for b in batches})
    assert {b["sensor"] for b in batches} == set(parts)  # each token's name
    assert contacts == {("north", "north"): 1, ("south", "south"): 1, ("east", "east"): 2}
    for site, targets in parts.items():
        answered = {ip for ip in targets if set(lab.truth[ip]["ports"]) & {80, 554, 8000}}
        assert answered  # the lab's devices serve HTTP or RTSP: every site has some
        assert {d.ip for d in devices[site]} == answered
        assert all(r.hosts_found == len(answered) for r in runs[site])
        for device in devices[site]:  # attributed as a local scan attributes them
            assert device.attribution.maker in (None, lab.truth[device.ip]["maker"])
    assert os.listdir(tmp_path / "wrong" / "rejected")


@pytest.mark.slow
def test_captures_dropped_in_the_folder_are_read_once_and_shipped(cli: Cli, tmp_path: Path) -> None:
    from coverwatch.lab.capture import write_lab_capture
    from coverwatch.lab.site import build_site
    from coverwatch.sensor import CAPTURE_SETTLE_SECONDS

    folder = tmp_path / "captures"
    folder.mkdir()
    planted = write_lab_capture(build_site(12, seed=5), str(folder / "site.pcap"), seed=5)
    (folder / "junk.pcap").write_bytes(b"not a capture at all")
    settled = time.time() - CAPTURE_SETTLE_SECONDS - 5
    for path in folder.iterdir():
        os.utime(path, (settled, settled))
    (folder / "writing.pcap").write_bytes(b"")  # still being written: left for later
    db = str(tmp_path / "central.db")
    token = _token(cli, db, "depot")
    port = free_port()
    spool = tmp_path / "spool"
    args = ["sensor", "--server", f"http://127.0.0.1:{port}", "--site", "depot"]
    args += ["--capture-dir", str(folder), "--spool", str(spool), "--once"]
    with serving(db, port):
        first = cli(*args, db=False, env={"COVERWATCH_TOKEN": token})
        assert first.returncode == 0, first.stderr
        assert "junk.pcap" in first.stderr and "0 refused, 0 waiting" in first.stderr
        again = cli(*args, db=False, env={"COVERWATCH_TOKEN": token})
        assert again.returncode == 0 and "0 new batches" in again.stderr
    inventory = open_inventory(db)
    try:
        (run,) = inventory.scans()  # the flows' batches recorded no run of their own
        devices = inventory.devices("depot")
    finally:
        inventory.close()
    assert run.kind == "capture" and run.targets == ["site.pcap"]
    assert devices and all(d.sources == ("capture",) for d in devices)
    # The server's egress statement from the sensor's aggregates is the one a local import of
    # the raw capture gives: same verdicts, destinations, bytes, times and coverage.
    central = cli("--db", db, "traffic", "egress", "--json", db=False)
    local = ["--db", str(tmp_path / "local.db"), "--traffic-dir", str(tmp_path / "local")]
    imported = cli(*local, "traffic", "import", str(folder / "site.pcap"), db=False)
    assert imported.returncode == 0, imported.stderr
    raw = cli(*local, "traffic", "egress", "--json", db=False)
    assert central.returncode == 0 and raw.returncode == 0, central.stderr + raw.stderr
    shipped, direct = _egress(central.stdout), _egress(raw.stdout)
    assert shipped == direct
    assert {ip: e["verdict"] for ip, e in shipped.items() if ip in planted.egress} == {
        ip: truth.verdict for ip, truth in planted.egress.items()
    }
    assert any(e["destinations"] for e in shipped.values())


def _egress(text: str) -> dict[str, dict[str, object]]:
    """``traffic egress --json`` per device, less the counts of flow rows (a sensor's row
    stands for every flow of one conversation in one minute) and the site (the local import's
    devices are at the default site)."""
    found = {}
    for e in json.loads(text):
        e.pop("flows_seen")
        e.pop("site")
        for d in e["destinations"]:
            d.pop("flows")
        found[e["ip"]] = e
    return found


def test_a_capture_counts_as_read_only_once_its_batches_are_spooled(tmp_path: Path) -> None:
    """A sensor killed between reading a capture and spooling its batches reads it again next
    cycle: the capture is remembered as read only by ``remember_captures``, after spooling."""
    from coverwatch.lab.capture import write_lab_capture
    from coverwatch.lab.site import build_site
    from coverwatch.sensor import CAPTURE_SETTLE_SECONDS, collect_captures, remember_captures

    folder, state = tmp_path / "captures", tmp_path / "spool" / ".captures-read"
    folder.mkdir()
    state.parent.mkdir()
    write_lab_capture(build_site(4, seed=3), str(folder / "site.pcap"), seed=3)
    settled = time.time() - CAPTURE_SETTLE_SECONDS - 5
    os.utime(folder / "site.pcap", (settled, settled))
    first = collect_captures(folder, state)
    assert first is not None and first[0].targets == ["site.pcap"] and first[1].flows
    again = collect_captures(folder, state)  # nothing remembered yet: read again
    assert again is not None and again[2] == first[2]
    remember_captures(state, first[2])
    assert collect_captures(folder, state) is None

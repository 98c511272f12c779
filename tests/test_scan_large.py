"""A 512-host lab: the scan finds exactly the open ports the truth file lists (slow suite)."""

from __future__ import annotations

import json

import pytest

from coverwatch.lab.runner import LabProcess
from tests.conftest import Cli

pytestmark = pytest.mark.slow


def test_scan_finds_exactly_the_open_ports_of_a_512_host_lab(cli: Cli) -> None:
    with LabProcess(hosts=512, seed=7, base="127.42.0.0", duration=600) as lab:
        ports = sorted({p for t in lab.truth.values() for p in t["ports"]})
        addresses = list(lab.truth)
        # The scope runs past the last device and over the .0/.255 addresses the lab skips:
        # nothing there may be reported.
        last = addresses[-1].rsplit(".", 1)
        scope = f"{addresses[0]}-{last[0]}.254"
        result = cli(
            "scan",
            scope,
            "--ports",
            ",".join(map(str, ports)),
            "--jsonl",
            "--site",
            "big",
            timeout=600,
        )
        assert result.returncode == 0, result.stderr
        found = {}
        for line in result.stdout.splitlines():
            record = json.loads(line)
            found[record["ip"]] = record["open_ports"]
        expected = {ip: sorted(t["ports"]) for ip, t in lab.truth.items()}
        assert found == expected
        # Nothing outside the lab's addresses answered (no false positives).
        assert set(found) == set(lab.truth)
        devices = cli.json("devices", "--json", "--site", "big")
        assert len(devices) == 512  # type: ignore[arg-type]

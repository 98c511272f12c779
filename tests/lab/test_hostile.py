"""``coverwatch lab --hostile``: misbehaving devices among well-behaved ones, scanned for real.

The scan must complete (exit 0), record every host that answered, keep each well-behaved
neighbour's identification, and store only clean text (issue 11's failure classes over the
network: odd charsets, non-ASCII redirects, XML in unknown encodings, NUL bytes, markup and
formulas in device strings, tarpits).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest

from coverwatch.lab.profiles import load_profiles
from coverwatch.lab.runner import LabProcess
from coverwatch.lab.site import DEFAULT_PASSWORD, DEFAULT_USERNAME
from tests.conftest import Cli

HOSTILE = sorted(set(load_profiles(hostile=True)) - set(load_profiles()))


@pytest.fixture(scope="module")
def hostile_lab() -> Iterator[LabProcess]:
    with LabProcess(
        hosts=len(load_profiles(hostile=True)), seed=3, base="127.44.0.0", hostile=True
    ) as lab:
        yield lab


def test_the_hostile_set_is_separate_from_the_ordinary_lab() -> None:
    assert len(HOSTILE) >= 5
    assert all(name.startswith("hostile-") for name in HOSTILE)


def test_a_scan_of_the_hostile_lab_keeps_every_neighbour(hostile_lab: LabProcess, cli: Cli) -> None:
    env = {"COVERWATCH_USERNAME": DEFAULT_USERNAME, "COVERWATCH_PASSWORD": DEFAULT_PASSWORD}
    scanned = cli("scan", "127.44.0.0/24", "--timeout", "1", "--site", "lab", env=env)
    assert scanned.returncode == 0, scanned.stderr
    assert "Traceback" not in scanned.stderr
    devices = {d["ip"]: d for d in json.loads(cli("devices", "--json").stdout)}
    assert set(devices) == set(hostile_lab.truth)  # every host that answered is recorded
    for ip, truth in hostile_lab.truth.items():
        maker = devices[ip]["maker"]
        if truth["profile"] not in HOSTILE:  # well-behaved: never a wrong maker
            assert maker in (None, truth["maker"]), (ip, truth["profile"], maker)
    hostile = [ip for ip, t in hostile_lab.truth.items() if t["profile"] in HOSTILE]
    shown = [cli("show", ip, "--json") for ip in hostile]
    assert all(s.returncode == 0 for s in shown)
    assert not any("\\u0000" in s.stdout for s in shown)  # no NUL reached the store
    # what a terminal, a spreadsheet and a pipe get from the same inventory
    table = cli("devices", env={"FORCE_COLOR": "1", "COLUMNS": "250"})
    assert table.returncode == 0 and "Traceback" not in table.stderr
    for row in csv.DictReader(io.StringIO(cli("devices", "--csv").stdout)):
        assert not any(v.startswith(("=", "+", "@")) for v in row.values() if v)

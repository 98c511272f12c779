"""Runs (issue #10 part 5): `runs` lists scans, discoveries and imports with kind, site,
targets and counts; `diff` without arguments compares the last two runs of one kind and scope
and says which."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from coverwatch.lab.runner import LabProcess
from tests.conftest import Cli

ASSETS = Path(__file__).parent / "assets" / "nmap"


@pytest.fixture
def scan_discover_scan(cli: Cli, lab: LabProcess) -> tuple[Cli, list[str]]:
    """Scan, discover, scan: the same hosts of site hq."""
    hosts = list(lab.truth)[:8]
    for command in ("scan", "discover", "scan"):
        extra = ("--timeout", "2") if command == "discover" else ()
        result = cli(command, *hosts, "--site", "hq", *extra)
        assert result.returncode == 0, result.stderr
    return cli, hosts


def test_diff_after_scan_discover_scan_compares_the_two_scans(
    scan_discover_scan: tuple[Cli, list[str]],
) -> None:
    cli, hosts = scan_discover_scan
    runs = cli.json("runs", "--json")
    # Fewer hosts answer discovery than the scan: comparing the discovery with the scan (as
    # diff did) lists the others as added.
    assert 0 < runs[1]["hosts_found"] < len(hosts)  # type: ignore[index]
    result = cli("diff", "--json")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    assert (document["before"], document["after"]) == (1, 3)
    assert document["before_run"]["kind"] == document["after_run"]["kind"] == "scan"
    assert document["same_scope"] is True
    # Every device was there both times: none is "added" (the discovery answered fewer hosts).
    assert not [c for c in document["devices"] if c["change"] in ("added", "removed")]
    text = cli("diff")
    assert text.returncode == 0, text.stderr
    first = text.stdout.splitlines()[0]
    assert first.startswith("scan run 1 (") and " -> scan run 3 (" in first
    assert "site hq" in first


def test_runs_lists_kind_site_targets_and_counts(
    scan_discover_scan: tuple[Cli, list[str]], lab: LabProcess
) -> None:
    cli, hosts = scan_discover_scan
    imported = cli("import", "nmap", str(ASSETS / "lan_scan.xml"), "--site", "depot")
    assert imported.returncode == 0, imported.stderr
    runs = cli.json("runs", "--json")
    assert isinstance(runs, list)
    assert [(r["id"], r["kind"], r["site"]) for r in runs] == [
        (1, "scan", "hq"),
        (2, "discovery", "hq"),
        (3, "scan", "hq"),
        (4, "import", "depot"),
    ]
    assert runs[0]["targets"] == hosts and runs[3]["targets"] == [str(ASSETS / "lan_scan.xml")]
    video = sum(1 for ip in hosts if lab.truth[ip]["device_type"] in ("camera", "nvr", "dvr"))
    for run in runs[:3:2]:
        assert run["hosts_found"] == run["devices"] == len(hosts)
        assert run["video_devices"] == video
    assert runs[3]["hosts_found"] == 3 and runs[3]["options"]["bad_rows"] == 2
    assert all("password" not in json.dumps(r["options"]) for r in runs)
    only = cli.json("runs", "--json", "--kind", "scan", "--site", "hq")
    assert isinstance(only, list) and [r["id"] for r in only] == [1, 3]
    table = cli("runs").stdout.splitlines()
    assert table[0].split("\t")[:3] == ["id", "kind", "site"] and len(table) == 5
    assert table[2].split("\t")[1:3] == ["discovery", "hq"]


def test_diff_needs_comparable_runs(cli: Cli) -> None:
    first = cli("import", "nmap", str(ASSETS / "lan_scan.xml"), "--site", "hq")
    assert first.returncode == 0, first.stderr
    assert (
        cli("import", "nmap", str(ASSETS / "camera_estate.xml"), "--site", "depot").returncode == 0
    )
    lonely = cli("diff")
    assert lonely.returncode == 2 and "two runs of the same kind and site" in lonely.stderr
    # Given explicitly, runs of different scope are compared, with a warning that says so.
    forced = cli("diff", "1", "2", "--json")
    assert forced.returncode == 0, forced.stderr
    assert "differ in kind or site" in forced.stderr
    assert json.loads(forced.stdout)["same_scope"] is False
    # --site and --kind choose the default pair; runs given by number are compared as given.
    assert cli("diff", "1", "2", "--site", "hq").returncode == 0
    assert cli("diff", "1", "99").returncode == 2


def test_diff_prefers_the_same_targets_then_the_same_site(cli: Cli, tmp_path: Path) -> None:
    lan, estate = str(ASSETS / "lan_scan.xml"), str(ASSETS / "camera_estate.xml")
    for path in (lan, estate, lan, estate):
        assert cli("import", "nmap", path, "--site", "hq").returncode == 0
    document = json.loads(cli("diff", "--json").stdout)
    assert (document["before"], document["after"]) == (2, 4)  # same file, latest pair
    assert cli("import", "nmap", lan, "--site", "depot").returncode == 0
    assert cli("import", "nmap", estate, "--site", "depot").returncode == 0
    # Only --site depot: no run of the same targets twice; the same kind and site, with a note.
    fallback = cli("diff", "--site", "depot", "--json")
    assert fallback.returncode == 0, fallback.stderr
    assert (json.loads(fallback.stdout)["before"], json.loads(fallback.stdout)["after"]) == (5, 6)
    assert "differ in targets" in fallback.stderr

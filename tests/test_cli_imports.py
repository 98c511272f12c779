"""import nmap / import csv from the command line: fused evidence, flagged disagreements,
named bad rows, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli

ASSETS = Path(__file__).parent / "assets" / "nmap"


def test_nmap_then_a_register_that_disagrees(cli: Cli, tmp_path: Path) -> None:
    nmap = cli("import", "nmap", str(ASSETS / "lan_scan.xml"), "--site", "hq")
    assert nmap.returncode == 0, nmap.stderr
    assert "hosts recorded" in nmap.stderr
    devices = {d["ip"]: d for d in cli.json("devices", "--json")}  # type: ignore[union-attr]
    assert devices["192.0.2.10"]["maker"] == "Hikvision"
    register = tmp_path / "assets.csv"
    register.write_text(
        "IP Address,Make,Model\n192.0.2.10,Honeywell,HC30\n"
        "192.0.2.300,Axis,P1\n192.0.2.11,Amcrest,IP4M-1051\n"
    )
    imported = cli(
        "import",
        "csv",
        str(register),
        "--map",
        "ip=IP Address,brand=Make,model=Model",
        "--site",
        "hq",
    )
    assert imported.returncode == 0, imported.stderr
    assert "assets.csv: row 3" in imported.stderr and "192.0.2.300" in imported.stderr
    assert "1 bad rows skipped" in imported.stderr
    assert "1 hosts where the import disagrees" in imported.stderr
    hik = json.loads(cli("show", "192.0.2.10", "--site", "hq", "--json").stdout)
    assert hik["attribution"]["maker"] == "Hikvision"
    flagged = [e for e in hik["attribution"]["evidence"] if e["conflicts"]]
    assert flagged and {"import", "register"} <= {o["source"] for o in hik["observations"]}


def test_imports_refuse_files_that_are_not_what_they_claim(cli: Cli, tmp_path: Path) -> None:
    junk = tmp_path / "scan.xml"
    junk.write_bytes(b"\x00\x01 not xml")
    result = cli("import", "nmap", str(junk))
    assert result.returncode == 2 and "scan.xml" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    register = tmp_path / "r.csv"
    register.write_text("Address\n10.0.0.1\n")
    missing = cli("import", "csv", str(register), "--map", "ip=IP Address")
    assert missing.returncode == 2 and "IP Address" in missing.stderr


def test_register_sheet_and_header_row_options(cli: Cli, tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    notes = workbook.active
    assert notes is not None
    notes.title = "Notes"
    notes.append(["Read me first"])
    cameras = workbook.create_sheet("Cameras")
    for row in (["CCTV register"], [], ["IP Address", "Make"], ["10.9.0.5", "Axis"]):
        cameras.append(row)
    path = tmp_path / "assets.xlsx"
    workbook.save(path)
    found = cli("import", "csv", str(path), "--map", "ip=IP Address,brand=Make")
    assert found.returncode == 0, found.stderr
    assert [d["ip"] for d in cli.json("devices", "--json")] == ["10.9.0.5"]  # type: ignore[union-attr,index]
    wrong = cli(
        "import", "csv", str(path), "--map", "ip=IP Address", "--sheet", "Cameras",
        "--header-row", "1",
    )  # fmt: skip
    assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1
    assert "[Cameras]: row 1: no column named 'IP Address'" in wrong.stderr
    bad = cli("import", "csv", str(path), "--map", "ip=IP Address", "--header-row", "0")
    assert bad.returncode == 2 and "--header-row" in bad.stderr

"""Terminal tables at 80 columns: nothing cut ("127.3…"), columns dropped by priority and
named, text wrapped; the real CLI in a pseudo-terminal."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from coverwatch.cli.tables import Column, fit_table
from tests.conftest import Cli

ASSETS = Path(__file__).parent / "assets" / "nmap"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def in_terminal(cli: Cli, *args: str, columns: int = 80) -> str:
    """Run the CLI with stdout on a pseudo-terminal ``columns`` wide; the screen text."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "50", "TERM": "xterm"}
    process = subprocess.Popen(
        [sys.executable, "-m", "coverwatch", "--db", str(cli.db), *args],
        stdout=slave,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    os.close(slave)
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    process.wait(timeout=120)
    reader.join(10)
    os.close(master)
    return _ANSI.sub("", b"".join(chunks).decode("utf-8", "replace")).replace("\r", "")


@pytest.fixture
def scanned(cli: Cli) -> Cli:
    assert cli("import", "nmap", str(ASSETS / "lan_scan.xml"), "--site", "hq").returncode == 0
    return cli


@pytest.mark.parametrize("command", [("devices",), ("audit",)])
def test_tables_fit_80_columns_without_cutting_anything(
    scanned: Cli, command: tuple[str, ...]
) -> None:
    screen = in_terminal(scanned, *command)
    lines = screen.splitlines()
    assert lines and max(len(line) for line in lines) <= 80, screen
    assert "…" not in screen and "..." not in screen
    devices = scanned.json("devices", "--json")
    listed = json.loads(scanned(*command, "--json").stdout)
    assert listed
    for ip in {row["ip"] for row in listed}:
        assert re.search(rf"(?<![\d.]){re.escape(ip)}(?![\d.])", screen), ip
    if command == ("devices",):
        makers = {d["maker"] for d in devices if d["maker"]}  # type: ignore[union-attr]
        assert makers and all(m in screen for m in makers)
        assert "not shown at this width:" in screen and "Last seen" in screen.split("not shown")[1]


def test_wide_terminal_shows_every_column(scanned: Cli) -> None:
    screen = in_terminal(scanned, "devices", columns=200)
    assert "not shown" not in screen
    header = next(line for line in screen.splitlines() if "Address" in line)
    assert all(h in header for h in ("Site", "Brand", "Conf.", "Last seen"))


def test_drop_order_follows_priority() -> None:
    from rich.console import Console

    columns = [Column("A", 1, keep=True), Column("B", 3), Column("C", 2), Column("D", 1)]
    rows = [["10.100.200.250", "x" * 30, "y" * 30, "word " * 12]]
    table = fit_table(columns, rows, 40)
    assert [c.header for c in table.columns] == ["A", "D"]
    assert table.caption and "B, C" in table.caption
    console = Console(width=40, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(table)
    text = console.export_text()
    assert "10.100.200.250" in text and "…" not in text


def test_numeric_address_order_in_audit_and_devices(cli: Cli, tmp_path: Path) -> None:
    """Text order would put 192.0.2.100 before 192.0.2.9."""
    scan = (ASSETS / "lan_scan.xml").read_text()
    for old, new in (("192.0.2.10", "192.0.2.9"), ("192.0.2.11", "192.0.2.100")):
        scan = scan.replace(f'"{old}"', f'"{new}"')
    (tmp_path / "scan.xml").write_text(scan)
    assert cli("import", "nmap", str(tmp_path / "scan.xml")).returncode == 0
    ips = [d["ip"] for d in cli.json("devices", "--json")]  # type: ignore[union-attr]
    assert ips[0] == "192.0.2.9" and ips[-1] == "192.0.2.100"
    audit = json.loads(cli("audit", "--json").stdout)
    by_rule: dict[tuple[str, str], list[str]] = {}
    for finding in audit:
        by_rule.setdefault((finding["severity"], finding["rule"]), []).append(finding["ip"])
    assert any(len(found) > 1 for found in by_rule.values())
    assert all(found == [ip for ip in ips if ip in found] for found in by_rule.values())

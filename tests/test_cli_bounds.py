"""Unbounded input stays bounded: endless files, NaN options, markup and formulas in device text.

Each case is one of issue 11's failure classes, run through the real command line.
"""

from __future__ import annotations

import csv
import io
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli


def _limited(megabytes: int) -> None:
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_identify_of_an_endless_line_stops_with_one_error() -> None:
    # Under a 2 GiB address-space limit: reading an endless line into memory would fail there
    # (MemoryError, exit 70) instead of ending with the one-line error.
    done = subprocess.run(
        [sys.executable, "-m", "coverwatch", "identify", "/dev/zero"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: _limited(2048),
    )
    assert done.returncode == 2, done.stderr
    assert "/dev/zero:1: line longer than" in done.stderr
    assert "Traceback" not in done.stderr


def test_scan_of_an_endless_target_file_is_refused(cli: Cli) -> None:
    done = cli("scan", "@/dev/zero")
    assert done.returncode == 2
    assert "target file /dev/zero: larger than" in done.stderr


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf"])
def test_numeric_options_refuse_nan_and_infinity(cli: Cli, value: str) -> None:
    done = cli("scan", "127.0.0.1", "--timeout", value)
    assert done.returncode == 2
    assert "--timeout" in done.stderr and "Traceback" not in done.stderr


def test_device_strings_are_text_in_the_terminal_and_defused_in_csv(
    cli: Cli, tmp_path: Path
) -> None:
    register = tmp_path / "assets.csv"
    register.write_text(
        'IP Address,Make,Model\n127.0.0.9,[bold red]x[/],"=HYPERLINK(""http://x"")"\n'
        "127.0.0.10,Acme,[/nope]\n"
    )
    imported = cli("import", "csv", str(register), "--map", "ip=IP Address,brand=Make,model=Model")
    assert imported.returncode == 0, imported.stderr
    # a terminal table shows markup-looking device text as it is (Rich would crash on [/nope])
    table = cli("devices", env={"FORCE_COLOR": "1", "COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    assert "[/nope]" in table.stdout and "[bold red]x[/]" in table.stdout
    # the CSV cell cannot run as a formula in a spreadsheet
    rows = {r["ip"]: r for r in csv.DictReader(io.StringIO(cli("devices", "--csv").stdout))}
    assert rows["127.0.0.9"]["model"] == '\'=HYPERLINK("http://x")'

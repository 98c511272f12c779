"""What a command imports is part of how fast it starts (issue #13): a scan does not load the
web server, the egress engine, report templates, spreadsheets or DNS messages it never uses."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port

#: Libraries no plain scan needs (each costs tens to hundreds of milliseconds to import); a
#: scan into SQLite needs none of SQLAlchemy's PostgreSQL dialect either (~0.2-0.5 s).
HEAVY = (
    "duckdb",
    "pyarrow",
    "jinja2",
    "openpyxl",
    "fastapi",
    "uvicorn",
    "dns",
    "dpkt",
    "sqlalchemy.dialects.postgresql",
    "alembic",
)


def test_a_scan_loads_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    db = tmp_path / "inventory.db"
    argv = ["coverwatch", "--db", str(db), "scan", "127.0.0.1", "--ports", str(free_port())]
    code = (
        "import sys\n"
        f"sys.argv = {[*argv, '--no-probes']!r}\n"
        "from coverwatch.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip().splitlines()[-1] == "[]"
    assert db.is_file()  # the scan did run and record


def _devices_built(argv: list[str]) -> tuple[int, str]:
    """Run the CLI in-process with ``argv``; how many device records it built from the
    inventory's rows, and what it printed."""
    code = (
        "import sys\n"
        "from coverwatch.store import rows\n"
        "built = [0]\n"
        "real = rows.device_of\n"
        "def counted(*a, **k):\n"
        "    built[0] += 1\n"
        "    return real(*a, **k)\n"
        "rows.device_of = counted\n"
        f"sys.argv = {argv!r}\n"
        "from coverwatch.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print(built[0], file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stderr.strip().splitlines()[-1]), out.stdout


def test_a_command_about_a_few_devices_reads_only_those(tmp_path: Path) -> None:
    """A scan of one host, or `show` of one device, in a site of 2,000 devices reads those
    devices from the inventory, not the site (it took seconds at 100,000 devices)."""
    db = tmp_path / "inventory.db"
    register = tmp_path / "assets.csv"
    register.write_text(
        "ip,maker\n" + "".join(f"10.9.{n // 250}.{n % 250 + 1},Axis\n" for n in range(2000))
    )
    base = ["coverwatch", "--db", str(db)]
    subprocess.run(
        [sys.executable, "-m", "coverwatch", "--db", str(db), "import", "csv", str(register),
         "--map", "ip=ip,maker=maker", "--site", "hq"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        built, out = _devices_built(
            [*base, "scan", "127.0.0.1", "--site", "hq", "--ports", str(port), "--no-probes"]
        )
    assert built == 1
    assert "127.0.0.1\thq" in out  # the scan still lists the device it recorded
    built, out = _devices_built([*base, "show", "10.9.3.7", "--site", "hq", "--json"])
    assert built == 1 and '"10.9.3.7"' in out

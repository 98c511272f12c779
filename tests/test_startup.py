"""What a command imports is part of how fast it starts (issue #13): a scan does not load the
web server, the egress engine, report templates, spreadsheets or DNS messages it never uses."""

from __future__ import annotations

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

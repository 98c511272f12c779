"""The IEEE registry identify reads: netaddr's bundled copy, then the assignments made since it
(``knowledge/oui-newer.txt``, written by ``scripts/oui_newer.py``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from coverwatch.identify import attribute, oui_organisation
from coverwatch.identify.engine import _NEWER

ROOT = Path(__file__).resolve().parents[2]
DAHUA_NEWER = ("407AA4", "ZHEJIANG DAHUA TECHNOLOGYCO.,LTD")
"""A block the IEEE assigned to Dahua after netaddr 1.3.0's copy (a Dahua camera's MAC prefix:
https://github.com/zauberzeug/rosys/pull/441)."""


def _entries(path: Path) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(p, o) for p, _, o in (x.partition("\t") for x in lines if not x.startswith("#"))]


def test_the_newer_list_is_one_sorted_entry_per_block() -> None:
    # (a block netaddr learns later is simply found there first: the list may age, not mislead)
    entries = _entries(_NEWER)
    assert DAHUA_NEWER in entries
    prefixes = [p for p, _ in entries]
    assert prefixes == sorted(set(prefixes))
    assert all(re.fullmatch(r"[0-9A-F]{6}", p) for p in prefixes)
    assert all(org.strip() == org and org for _, org in entries)


def test_a_block_assigned_after_netaddrs_copy_names_its_maker() -> None:
    assert oui_organisation("40:7a:a4:12:34:56") == DAHUA_NEWER[1]
    result = attribute([("mac", "40:7a:a4:12:34:56")])
    assert (result.maker, result.covered) == ("Dahua", "Dahua Technology Company")


def _script(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(ROOT / "scripts" / "oui_newer.py"), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_the_script_keeps_only_what_netaddr_lacks(tmp_path: Path) -> None:
    registry = tmp_path / "oui.txt"
    registry.write_text(
        "44-19-B6   (hex)\t\tHangzhou Hikvision Digital Technology Co.,Ltd.\n"
        "4419B6     (base 16)\t\tHangzhou Hikvision Digital Technology Co.,Ltd.\n"
        "\t\t\t\tNo.555 Qianmo Road\n\n"
        "40-7A-A4   (hex)\t\tZHEJIANG DAHUA TECHNOLOGYCO.,LTD\n"
        "407AA4     (base 16)\t\tZHEJIANG DAHUA TECHNOLOGYCO.,LTD\n",
        encoding="utf-8",
    )
    out = tmp_path / "newer.txt"
    done = _script(registry, "--date", "2026-01-01", "--out", out)
    assert done.returncode == 0, done.stderr
    assert _entries(out) == [DAHUA_NEWER]
    assert "registry of 2026-01-01" in out.read_text(encoding="utf-8")


def test_the_script_refuses_a_registry_with_nothing_new(tmp_path: Path) -> None:
    registry = tmp_path / "oui.txt"
    registry.write_text("4419B6:Hangzhou Hikvision Digital Technology Co.,Ltd.\n", encoding="utf-8")
    out = tmp_path / "newer.txt"
    done = _script(registry, "--date", "2026-01-01", "--out", out)
    assert done.returncode == 2 and "no assignment newer" in done.stderr
    assert not out.exists()

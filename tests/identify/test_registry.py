"""The IEEE registry identify reads: netaddr's bundled copy, then the assignments made since it
(``knowledge/oui-newer.txt``, written by ``scripts/oui_newer.py``), and the smaller blocks of
the MA-L blocks the IEEE keeps (``knowledge/oui-blocks.txt``, by ``scripts/oui_blocks.py``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from coverwatch.identify import attribute, oui_organisation
from coverwatch.identify.engine import _BLOCKS, _NEWER, _registry_org

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


def _script(*args: str | Path, name: str = "oui_newer.py") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(ROOT / "scripts" / name), *map(str, args)]
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


AMCREST_BLOCK = ("3446632", "Amcrest Technologies")
"""Amcrest's MA-M block (28 bits) in an MA-L block the IEEE keeps and divides (34:46:63)."""


def test_the_blocks_list_is_one_sorted_entry_per_block_of_a_divided_registry_block() -> None:
    entries = _entries(_BLOCKS)
    assert AMCREST_BLOCK in entries and len(entries) > 10_000
    prefixes = [p for p, _ in entries]
    assert prefixes == sorted(set(prefixes))
    assert all(re.fullmatch(r"[0-9A-F]{7}|[0-9A-F]{9}", p) for p in prefixes)
    assert all(org.strip() == org and org for _, org in entries)
    # identify reads a block only where the MA-L lists name the IEEE or nobody
    assert {_registry_org(p[:6]) for p in prefixes} == {"IEEE Registration Authority", None}


@pytest.mark.parametrize(
    ("mac", "organisation"),
    [
        ("34:46:63:2a:bc:de", "Amcrest Technologies"),  # MA-M: 28 bits
        ("34:46:63:3a:bc:de", "LA Clippers"),  # the next MA-M block of the same MA-L block
        ("00:50:c2:be:7a:bc", "Genetec Inc."),  # IAB: 36 bits
        ("00:50:c2:be:8a:bc", "Vehicle Testing Equipment, S.L."),
        ("34:46:63", "IEEE Registration Authority"),  # too few digits to name a block
        ("1c:87:74:0a:bc:de", "Philips Personal Health Solutions"),  # an MA-L netaddr lacks
        ("ac:cc:8e:12:34:56", "Axis Communications AB"),  # an MA-L block is read as before
    ],
)
def test_an_address_in_a_divided_block_names_its_own_organisation(
    mac: str, organisation: str
) -> None:
    assert oui_organisation(mac) == organisation


def test_a_mac_in_a_covered_makers_smaller_block_names_it() -> None:
    # Hikrobot, a Hikvision subsidiary, holds an MA-M block beside its MA-L one
    result = attribute([("mac", "b0:b3:53:6a:bc:de")])
    assert (result.maker, result.brand) == ("Hikvision", "Hikrobot")
    assert result.covered == "Hangzhou Hikvision Digital Technology Company"
    assert "Hikrobot" in result.evidence[0].value
    amcrest = attribute([("mac", "34:46:63:2a:bc:de")])
    assert amcrest.brand == "Amcrest"


def test_the_blocks_script_reads_the_ieee_csv_files_and_wiresharks_manuf(tmp_path: Path) -> None:
    mam = tmp_path / "mam.csv"
    mam.write_text(
        "\ufeffRegistry,Assignment,Organization Name,Organization Address\r\n"
        'MA-M,3446632,Amcrest Technologies,"16727 Park Row Drive Houston TX US 77084"\r\n'
        'MA-M,0C0EC14,"Swann Communications Pty Ltd","Unit 13, 331 Ingles Street\r\n'
        'Port Melbourne VIC AU 3207"\r\n',
        encoding="utf-8",
    )
    oui36 = tmp_path / "oui36.csv"
    oui36.write_text(
        "Registry,Assignment,Organization Name,Organization Address\n"
        'MA-S,70B3D54AC,"Microsoft Research, \u200eRedmond",One Microsoft Way\n'
        'IAB,0050C2B04,"Ubiquiti Inc",Somewhere\n',
        encoding="utf-8",
    )
    manuf = tmp_path / "manuf"
    manuf.write_text(
        "# a Wireshark manuf file\n"
        "00:65:1E\tAmcrestT\tAmcrest Technologies\n"
        "00:50:C2:BE:70:00/36\tGenetec\tGenetec Inc.\n"
        "B0:B3:53:60:00:00/28\tHangzhou Hikrobot Technology   Co., Ltd.\n",
        encoding="utf-8",
    )
    out = tmp_path / "blocks.txt"
    done = _script(mam, oui36, manuf, "--date", "2026-01-01", "--out", out, name="oui_blocks.py")
    assert done.returncode == 0, done.stderr
    assert _entries(out) == [
        ("0050C2B04", "Ubiquiti Inc"),
        ("0050C2BE7", "Genetec Inc."),
        ("0C0EC14", "Swann Communications Pty Ltd"),
        AMCREST_BLOCK,
        ("70B3D54AC", "Microsoft Research, Redmond"),
        ("B0B3536", "Hangzhou Hikrobot Technology Co., Ltd."),
    ]
    assert "registry of 2026-01-01" in out.read_text(encoding="utf-8")


def test_the_blocks_script_refuses_a_file_with_no_blocks(tmp_path: Path) -> None:
    registry = tmp_path / "oui.csv"
    registry.write_text(
        "Registry,Assignment,Organization Name,Organization Address\n"
        "MA-L,4419B6,Hangzhou Hikvision Digital Technology Co.,Ltd.,Hangzhou CN\n",
        encoding="utf-8",
    )
    out = tmp_path / "blocks.txt"
    done = _script(registry, "--date", "2026-01-01", "--out", out, name="oui_blocks.py")
    assert done.returncode == 2 and f"{registry}: no MA-M, MA-S or IAB assignment" in done.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"Registry,Assignment,Organization Name\nMA-M,1234567,Br\xe4hler\n", "not UTF-8 text"),
        (b"", "no MA-M, MA-S or IAB assignment"),
    ],
)
def test_the_blocks_script_names_the_file_it_cannot_read(
    tmp_path: Path, content: bytes, why: str
) -> None:
    registry = tmp_path / "mam.csv"
    registry.write_bytes(content)
    out = tmp_path / "blocks.txt"
    done = _script(registry, "--date", "2026-01-01", "--out", out, name="oui_blocks.py")
    assert done.returncode == 2 and done.stderr.startswith(f"{registry}: {why}")
    assert "Traceback" not in done.stderr and not out.exists()


def test_the_blocks_script_names_an_output_it_cannot_write(tmp_path: Path) -> None:
    registry = tmp_path / "mam.csv"
    registry.write_text("Registry,Assignment,Organization Name\nMA-M,3446632,Amcrest\n")
    done = _script(registry, "--date", "2026-01-01", "--out", tmp_path, name="oui_blocks.py")
    assert done.returncode == 2 and done.stderr.startswith(f"{tmp_path}: ")
    assert "Traceback" not in done.stderr

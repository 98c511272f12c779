"""Write ``knowledge/oui-blocks.txt``: the IEEE's MA-M, MA-S and IAB assignments.

The IEEE Registration Authority keeps some MA-L blocks (24-bit prefixes) and assigns parts of
them: MA-M blocks (28-bit prefixes, about a million addresses) and MA-S and the older IAB blocks
(36-bit prefixes, 4,096 addresses). netaddr's copy of the registry names only the whole block,
"IEEE Registration Authority" (and lacks some such blocks altogether), so a camera from a maker
that bought a smaller block (Amcrest, Wyze, Hikrobot) has a MAC that names nobody. This script
writes those assignments so identify can read them.

    curl -O https://standards-oui.ieee.org/oui28/mam.csv
    curl -O https://standards-oui.ieee.org/oui36/oui36.csv
    curl -O https://standards-oui.ieee.org/iab/iab.csv
    .venv/bin/python scripts/oui_blocks.py mam.csv oui36.csv iab.csv --date 2026-12-01

Each input is one of the IEEE's CSV files (``Registry,Assignment,Organization Name,...``) or a
Wireshark ``manuf`` file, which assembles the same lists (``34:46:63:20:00:00/28<TAB>Name``
lines; its 24-bit lines are skipped). Run it again whenever the registry moves.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src/coverwatch/knowledge/oui-blocks.txt"
#: IEEE CSV registry name -> hex digits of its assignments
_REGISTRIES = {"MA-M": 7, "MA-S": 9, "IAB": 9}
_MANUF = re.compile(r"^([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})/(28|36)\t(?:.*\t)?(.+)$")


def _blocks(path: Path) -> dict[str, str]:
    """prefix (7 or 9 upper-case hex digits) -> organisation, from one registry file."""
    text = path.read_text(encoding="utf-8-sig")
    found: dict[str, str] = {}
    if text.startswith("Registry,"):
        for row in csv.reader(text.splitlines()[1:]):
            digits = _REGISTRIES.get(row[0]) if len(row) > 2 else None
            if digits and re.fullmatch(f"[0-9A-Fa-f]{{{digits}}}", row[1]):
                found[row[1].upper()] = row[2]
        return found
    for line in text.splitlines():
        match = _MANUF.match(line)
        if match:
            digits = int(match.group(2)) // 4
            found[match.group(1).replace(":", "").upper()[:digits]] = match.group(3)
    return found


def _name(org: str) -> str:
    """An organisation's name on one line: no control or invisible characters (some IEEE
    names carry a soft hyphen or a left-to-right mark), single spaces."""
    return " ".join("".join(c if c.isprintable() else " " for c in org).split())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "registry",
        type=Path,
        nargs="+",
        help="IEEE mam.csv, oui36.csv, iab.csv, or a Wireshark manuf file",
    )
    parser.add_argument("--date", required=True, help="the date the registry files were published")
    parser.add_argument("--via", default="", help="where this copy of the registry came from")
    parser.add_argument("--out", type=Path, default=OUT, help=f"file to write (default {OUT.name})")
    args = parser.parse_args()
    blocks: dict[str, str] = {}
    for path in args.registry:
        try:
            found = _blocks(path)
        except OSError as e:
            print(f"{path}: {e.strerror or e}", file=sys.stderr)
            return 2
        except UnicodeDecodeError as e:
            print(f"{path}: not UTF-8 text (byte {e.start})", file=sys.stderr)
            return 2
        if not found:
            print(f"{path}: no MA-M, MA-S or IAB assignment", file=sys.stderr)
            return 2
        blocks |= {prefix: name for prefix, org in found.items() if (name := _name(org))}
    header = (
        "# IEEE MA-M (28-bit), MA-S and IAB (36-bit) assignments: the parts of the MA-L blocks\n"
        "# the IEEE Registration Authority keeps, which netaddr names only as a whole (or\n"
        "# not at all).\n"
        "# Source: IEEE Registration Authority, https://standards-oui.ieee.org/oui28/mam.csv,\n"
        "# https://standards-oui.ieee.org/oui36/oui36.csv, https://standards-oui.ieee.org/iab/iab.csv\n"
        f"# (registry of {args.date}).\n"
        + (f"# Copy read: {args.via}\n" if args.via else "")
        + "# Written by scripts/oui_blocks.py; one PREFIX<TAB>Organization per line, 7 hex digits\n"
        "# for a 28-bit block and 9 for a 36-bit one. identify reads it only for an address in a\n"
        '# block netaddr names "IEEE Registration Authority" or does not know.\n'
    )
    body = "".join(f"{p}\t{o}\n" for p, o in sorted(blocks.items()))
    try:
        args.out.write_text(header + body, encoding="utf-8")
    except OSError as e:
        print(f"{args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(blocks)} blocks", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

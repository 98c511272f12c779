"""Write ``knowledge/oui-newer.txt``: IEEE MA-L assignments newer than netaddr's bundled copy.

netaddr (the IEEE registry coverwatch reads) ships a copy of the registry that ages between its
releases; camera makers are given new blocks every few months, and a device in a block the copy
lacks has a MAC that names nobody. This script compares a current registry file with netaddr's
copy and writes the assignments netaddr does not know, so identify can read them after it.

    curl -O https://standards-oui.ieee.org/oui/oui.txt
    .venv/bin/python scripts/oui_newer.py oui.txt --date 2025-11-30

The input is the IEEE's ``oui.txt`` (``XXXXXX     (base 16)\\t\\tOrganization`` lines) or a
``XXXXXX:Organization`` list of it. Run it again whenever netaddr or the registry moves.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from netaddr.eui import ieee

OUT = Path(__file__).resolve().parent.parent / "src/coverwatch/knowledge/oui-newer.txt"
_LINE = re.compile(rb"^([0-9A-Fa-f]{6})(?:\s+\(base 16\)\s*|:)(.*)$")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("registry", type=Path, help="IEEE oui.txt, or PREFIX:Organization lines")
    parser.add_argument("--date", required=True, help="the date the registry file was published")
    parser.add_argument("--via", default="", help="where this copy of the registry came from")
    parser.add_argument("--out", type=Path, default=OUT, help=f"file to write (default {OUT.name})")
    args = parser.parse_args()
    ieee.load_indices()
    known = set(ieee.OUI_INDEX)
    newer: dict[str, str] = {}
    for raw in args.registry.read_bytes().splitlines():
        match = _LINE.match(raw.strip())
        if not match:
            continue
        prefix, org = match.group(1).decode().upper(), match.group(2).decode("utf-8", "replace")
        org = " ".join(org.split())
        if org and int(prefix, 16) not in known:
            newer[prefix] = org
    if not newer:
        print(f"{args.registry}: no assignment newer than netaddr's copy", file=sys.stderr)
        return 2
    header = (
        "# IEEE MA-L assignments that the registry copy bundled with netaddr does not hold.\n"
        "# Source: IEEE Registration Authority, https://standards-oui.ieee.org/oui/oui.txt\n"
        f"# (registry of {args.date}{'; ' + args.via if args.via else ''}).\n"
        "# Written by scripts/oui_newer.py; one PREFIX<TAB>Organization per line.\n"
        "# identify reads it only for a prefix netaddr does not know.\n"
    )
    body = "".join(f"{p}\t{o}\n" for p, o in sorted(newer.items()))
    args.out.write_text(header + body, encoding="utf-8")
    print(f"{args.out}: {len(newer)} assignments", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

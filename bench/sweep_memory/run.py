"""Benchmark: peak memory of a /16 scope sweep, coverwatch against nmap on the same work.

Inside a network namespace of its own (``unshare -rn``: the host's interfaces are never
touched) every address of 127.46.0.0/16 is this machine's own, and one listener on port 8554
answers on all 65,536 of them, so the sweep finds a whole /16 of open hosts (the worst case
for what a scanner keeps in memory); port 8555 is closed everywhere.

Runs ``nmap -sT -Pn -n -T4`` and ``coverwatch scan --no-probes`` (sweep, attribution, and the
inventory written to SQLite) on those 65,536 hosts x 2 ports, under ``/usr/bin/time``, and
prints each tool's peak resident memory (maximum RSS) and wall time, and checks both found
every open port (nmap sweeps all 65,536 addresses; coverwatch leaves out the network and
broadcast addresses of a prefix). Not part of the test suite.

    .venv/bin/python bench/sweep_memory/run.py [--prefix 16]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

NETWORK = "127.46.0.0"
OPEN, CLOSED = 8554, 8555
_IN_NAMESPACE = "COVERWATCH_BENCH_NETNS"


def enter_namespace() -> None:
    """Re-run this script in a new user + network namespace with its loopback up."""
    if os.environ.get(_IN_NAMESPACE):
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return
    env = {**os.environ, _IN_NAMESPACE: "1"}
    command = ["unshare", "-rn", sys.executable, os.path.abspath(__file__), *sys.argv[1:]]
    sys.exit(subprocess.run(command, env=env, check=False).returncode)


def listen(stop: threading.Event) -> None:
    """Accept and close every connection to port ``OPEN`` on any address."""
    server = socket.create_server(("0.0.0.0", OPEN), backlog=4096)
    server.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        conn.close()
    server.close()


def measured(command: list[str], output: Path) -> tuple[float, float]:
    """Run ``command`` (stdout to ``output``); its wall seconds and peak RSS in MiB."""
    stats = output.with_suffix(".time")
    began = time.perf_counter()
    with output.open("w") as handle:
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", str(stats), *command],
            stdout=handle,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[:500]}")
    return elapsed, int(stats.read_text().split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", type=int, default=16, help="sweep a /PREFIX (default 16)")
    args = parser.parse_args()
    if not Path("/usr/bin/time").exists():
        sys.exit("/usr/bin/time not found: install Debian's time package")
    nmap = shutil.which("nmap") or sys.exit("nmap not found: install Debian's nmap package")
    enter_namespace()
    scope = ipaddress.ip_network(f"{NETWORK}/{args.prefix}")
    hosts = scope.num_addresses
    stop = threading.Event()
    listener = threading.Thread(target=listen, args=(stop,), daemon=True)
    listener.start()
    time.sleep(0.2)
    ports = f"{OPEN},{CLOSED}"
    try:
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch)
            nmap_time, nmap_rss = measured(
                [nmap, "-sT", "-Pn", "-n", "-T4", "-p", ports, "-oG", "-", str(scope)],
                out / "nmap.txt",
            )
            nmap_open = len(re.findall(rf"\b{OPEN}/open/", (out / "nmap.txt").read_text()))
            coverwatch = [sys.executable, "-m", "coverwatch", "--db", str(out / "cw.db"), "scan"]
            options = ["--no-probes", "--max-hosts", str(hosts), "--concurrency", "512"]
            cw_time, cw_rss = measured(
                [*coverwatch, str(scope), "--ports", ports, *options, "--jsonl"],
                out / "coverwatch.jsonl",
            )
            lines = (out / "coverwatch.jsonl").read_text().splitlines()
            cw_open = sum(OPEN in json.loads(line)["open_ports"] for line in lines)
    finally:
        stop.set()
    usable = hosts - 2 if args.prefix < 31 else hosts
    print(f"/{args.prefix} sweep: {hosts:,} addresses x 2 ports, every address open on {OPEN}")
    print(
        f"nmap -sT -Pn -n -T4:            peak RSS {nmap_rss:7.1f} MiB, {nmap_time:6.1f} s, "
        f"{nmap_open:,} open found"
    )
    print(
        f"coverwatch scan --no-probes:    peak RSS {cw_rss:7.1f} MiB, {cw_time:6.1f} s, "
        f"{cw_open:,} open found (inventory written; the network and broadcast addresses "
        "are not scanned)"
    )
    print(
        f"ratio: coverwatch uses {cw_rss / nmap_rss:.1f}x nmap's memory, takes "
        f"{cw_time / nmap_time:.2f}x its time"
    )
    if nmap_open != hosts or cw_open != usable:
        sys.exit("a tool missed open ports")


if __name__ == "__main__":
    main()

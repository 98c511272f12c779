"""A small lab on real (non-loopback) addresses, for multicast tests inside a network namespace.

``python -m coverwatch.lab.netlab --address 10.213.7.2 --profile hikvision-ipc --interface vb``
serves one lab host per address (profiles in order) with every TCP service and the discovery
responders, answering multicast probes on ``--interface``. It refuses to start outside a
private network namespace (``lab.discovery.in_private_netns``): on the initial namespace only
the loopback lab (``coverwatch lab``) may run. Prints ``coverwatch-lab-ready`` and then the
truth (address -> profile facts) as one JSON line once every socket is bound.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from dataclasses import replace

from coverwatch import eventloop
from coverwatch.errors import LabError
from coverwatch.lab.discovery import in_private_netns
from coverwatch.lab.runner import READY
from coverwatch.lab.server import LabServer
from coverwatch.lab.site import DEFAULT_PASSWORD, DEFAULT_USERNAME, LabHost, build_site


def build_hosts(addresses: list[str], profiles: list[str], seed: int) -> list[LabHost]:
    """One host per address, profile ``profiles[i]`` (cycled), serials and MACs from ``seed``."""
    hosts = []
    for index, address in enumerate(addresses):
        name = profiles[index % len(profiles)]
        (template,) = build_site(1, seed + index, "127.250.0.0", [name])
        hosts.append(replace(template, ip=address))
    return hosts


async def _serve(hosts: list[LabHost], interface: str | None, duration: float) -> None:
    server = LabServer(hosts, DEFAULT_USERNAME, DEFAULT_PASSWORD, discovery_interface=interface)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    print(READY, flush=True)
    print(json.dumps({h.ip: h.truth() for h in hosts}), flush=True)
    try:
        await asyncio.wait_for(stop.wait(), duration)
    except TimeoutError:
        pass
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit code 2 (with a message on stderr) when the lab cannot start."""
    parser = argparse.ArgumentParser(prog="python -m coverwatch.lab.netlab")
    parser.add_argument("--address", action="append", required=True)
    parser.add_argument("--profile", action="append", required=True)
    parser.add_argument("--interface")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--duration", type=float, default=120.0)
    args = parser.parse_args(argv)
    if not in_private_netns():
        print(
            "refusing: the network lab only runs inside a private network namespace",
            file=sys.stderr,
        )
        return 2
    try:
        hosts = build_hosts(args.address, args.profile, args.seed)
        eventloop.run(_serve(hosts, args.interface, args.duration))
    except LabError as e:
        print(f"lab: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

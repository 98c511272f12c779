"""``coverwatch sensor``: a site's scans and discovery, shipped to a central server."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import click

from coverwatch.cli.base import (
    MAX_HOSTS_OPTION,
    PORTS_OPTION,
    RATE_OPTION,
    TIMEOUT_OPTION,
    ProgressObserver,
    _parse_ports,
    cli,
    need_pcap,
    say,
)

if TYPE_CHECKING:
    from coverwatch.sensor import SensorPlan, Spool

EXIT_UNDELIVERED = 3
"""``sensor --once``: some batches stayed in the spool or the server refused them."""


@cli.command()
@click.option("--server", required=True, help="The central server, e.g. https://cw.example.org.")
@click.option("--site", required=True, help="This sensor's site (its token must be bound to it).")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="File holding the sensor token (else COVERWATCH_TOKEN). Never logged or spooled.",
)
@click.option("--every", default="1h", show_default=True, help="Time between cycles: 15m, 1h.")
@click.option(
    "--targets",
    "targets",
    multiple=True,
    help="The declared scope to scan (repeatable; address, CIDR, range, host or @FILE, as "
    "`scan` takes them). Nothing outside it is contacted.",
)
@click.option(
    "--interface", metavar="IF", help="Also ask the local link here with the discovery protocols."
)
@click.option(
    "--capture-dir",
    type=click.Path(file_okay=False, exists=True),
    help="Folder where captures (pcap, pcapng) are dropped, e.g. by tcpdump -G: each is read "
    "once, passively (ARP, DHCP, discovery replies, DNS, TLS SNI), 30 s after it last changed; "
    "its flows are sent as per-device aggregates (one row per conversation and minute) for the "
    "server's `traffic egress`. Needs the pcap extra.",
)
@PORTS_OPTION
@TIMEOUT_OPTION
@RATE_OPTION
@MAX_HOSTS_OPTION
@click.option(
    "--spool",
    "spool_dir",
    type=click.Path(file_okay=False),
    help="Where batches wait for the server (default: the user data folder, per site).",
)
@click.option(
    "--spool-max",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Batches the spool keeps; beyond, the oldest are dropped (and reported).",
)
@click.option(
    "--once",
    is_flag=True,
    help=f"One cycle, then exit: 0 when everything was delivered, {EXIT_UNDELIVERED} when "
    "some batches stayed spooled or were refused.",
)
def sensor(
    server: str,
    site: str,
    token_file: str | None,
    every: str,
    targets: tuple[str, ...],
    interface: str | None,
    capture_dir: str | None,
    ports_text: str,
    timeout: float,
    rate: float | None,
    max_hosts: int,
    spool_dir: str | None,
    spool_max: int,
    once: bool,
) -> None:
    """Run this site's scans and discovery on a schedule, read the captures dropped in
    --capture-dir, and send what they observed to a central `coverwatch serve`
    (POST /api/v1/ingest) with a sensor token.

    Each cycle's runs are spooled to disk first and leave the spool only when the server
    has acknowledged them; an unreachable server means they are resent, oldest first, next
    cycle. Every batch carries an idempotency key, so a retry is never recorded twice.

    \b
    Example: coverwatch token create --role sensor --site depot     # on the server
             COVERWATCH_TOKEN=cw_... coverwatch sensor --server https://cw.example.org \\
                 --site depot --targets 10.20.0.0/24 --every 1h
    """
    from pathlib import Path

    from platformdirs import user_data_path

    from coverwatch.durations import parse_duration
    from coverwatch.errors import InputError
    from coverwatch.sensor import SensorPlan, Spool, check_server, read_token
    from coverwatch.sources.active import ScanOptions
    from coverwatch.targets import expand_targets

    base = check_server(server)
    token = read_token(token_file)
    seconds = parse_duration(every)
    if not site.strip():
        raise InputError("--site: a site name is required")
    scope = [t for value in targets for t in value.replace(",", " ").split()]
    if not scope and not interface and not capture_dir:
        raise InputError("nothing to do: give --targets, --interface and/or --capture-dir")
    if scope:
        expand_targets(scope, max_hosts)  # out-of-scope or oversized lists fail here, at once
    options = ScanOptions(_parse_ports(ports_text), timeout=timeout, rate=rate)
    if capture_dir:
        need_pcap()
    captures = Path(capture_dir) if capture_dir else None
    plan = SensorPlan(site, scope, options, interface, max_hosts, captures)
    # NOTE: the site name becomes a folder name: nothing in it may climb out of the spool root.
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in site).lstrip(".") or "_"
    folder = Path(spool_dir) if spool_dir else user_data_path("coverwatch") / "spool" / safe
    spool = Spool(folder, spool_max)
    while True:
        complete = _cycle(plan, spool, base, token)
        if once:
            if not complete:
                sys.exit(EXIT_UNDELIVERED)
            return
        time.sleep(seconds)


def _cycle(plan: SensorPlan, spool: Spool, server: str, token: str) -> bool:
    """Collect, spool, deliver; say what happened. True when nothing was left behind."""
    from coverwatch.sensor import (
        batches_of,
        collect,
        deliver,
        flow_batches,
        remember_captures,
    )

    dropped: list[str] = []
    cycle = collect(plan, ProgressObserver(), spool.state)
    batches = [b for run in cycle.runs for b in batches_of(run, plan.site)]
    if cycle.flows:
        batches += flow_batches(cycle.flows, plan.site, cycle.runs[-1].started.isoformat())
    for batch in batches:
        dropped += spool.put(batch)
    remember_captures(spool.state, cycle.captures)  # only now: their batches are spooled
    made = len(batches)
    if dropped:
        say(
            f"sensor: spool full ({spool.max_batches} batches): dropped the {len(dropped)} "
            f"oldest: {', '.join(dropped[:10])}" + (" ..." if len(dropped) > 10 else "")
        )
    result = deliver(spool, server, token)
    say(
        f"sensor {plan.site}: {made} new batches; {result.sent} delivered, "
        f"{result.already} already recorded, {len(result.rejected)} refused, "
        f"{result.waiting} waiting in {spool.folder}"
    )
    for line in result.rejected:
        say(f"sensor: refused by the server: {line}")
    if result.problem:
        say(f"sensor: {result.problem}; the spooled batches are resent next cycle")
    return not (dropped or result.rejected or result.waiting)

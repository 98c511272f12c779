"""The simulated site and the demo audit of it."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from coverwatch.cli.base import FiniteFloat, ProgressObserver, cli, say
from coverwatch.errors import InputError
from coverwatch.lab.site import DEFAULT_BASE, DEFAULT_PASSWORD, DEFAULT_USERNAME

if TYPE_CHECKING:
    from coverwatch.lab.site import LabHost
    from coverwatch.report import ReportData


@cli.command()
@click.option(
    "--hosts",
    default=40,
    show_default=True,
    type=click.IntRange(1, 60000),
    help="Number of emulated devices.",
)
@click.option("--seed", default=7, show_default=True, help="Seed for the profile mix.")
@click.option(
    "--base",
    default=DEFAULT_BASE,
    show_default=True,
    help="Addresses start after this one; all must stay inside 127.0.0.0/8.",
)
@click.option(
    "--truth",
    type=click.Path(dir_okay=False),
    help="Write the ground truth (address -> profile, maker, brand, model, "
    "device_type, ports) to this JSON file.",
)
@click.option(
    "--duration",
    default=600.0,
    show_default=True,
    type=FiniteFloat(1, None),
    help="Stop by itself after this many seconds.",
)
@click.option("--profile", "profiles", multiple=True, help="Only these profiles (repeatable).")
@click.option("--list-profiles", is_flag=True, help="List the device profiles and exit.")
@click.option(
    "--hostile",
    is_flag=True,
    help="Add misbehaving devices (odd charsets, non-ASCII redirects, XML in unknown "
    "encodings, NUL bytes, markup and formulas in their strings, tarpits): a scan must "
    "complete and record every well-behaved neighbour.",
)
@click.option(
    "--username",
    default=DEFAULT_USERNAME,
    show_default=True,
    help="Credential the emulated devices accept.",
)
@click.option(
    "--capture",
    type=click.Path(dir_okay=False),
    help="Also write a pcap of the site's traffic (streams to the NVR, a camera phoning its "
    "vendor's cloud, a rebrand on a P2P relay, a core-network link, DHCP/ARP/discovery "
    "chatter). Deterministic for a seed; nothing is sent. Needs the pcap extra.",
)
@click.option("--ready-line", is_flag=True, hidden=True)
def lab(
    hosts: int,
    seed: int,
    base: str,
    truth: str | None,
    duration: float,
    profiles: tuple[str, ...],
    list_profiles: bool,
    username: str,
    capture: str | None,
    ready_line: bool,
    hostile: bool,
) -> None:
    """Run the simulated site: emulated cameras, NVRs and other hosts on loopback.

    Every device gets its own 127.x.y.z address and answers HTTP(S), RTSP, ONVIF and banners
    as its real counterpart does (profiles are data files with their public sources). Ctrl-C
    stops it, as does --duration. The password the devices accept comes from
    COVERWATCH_LAB_PASSWORD (default: coverwatch-lab).

    \b
    Example: coverwatch lab --hosts 256 --seed 7 --truth truth.json --duration 600 &
             coverwatch scan 127.31.0.0/23 --site lab
    """
    from coverwatch.lab.profiles import load_profiles
    from coverwatch.lab.runner import READY, run_lab

    if list_profiles:
        for name, profile in load_profiles(hostile).items():
            fields = (profile.truth.get(k) for k in ("device_type", "maker", "brand", "model"))
            # NOTE: a profile that cannot reveal a field (a HiSilicon OEM box names no maker)
            # shows "-", never Python's None
            click.echo("\t".join([name, *(str(f) if f else "-" for f in fields)]))
        return
    password = os.environ.get("COVERWATCH_LAB_PASSWORD", DEFAULT_PASSWORD)

    def ready(site: list[LabHost]) -> None:
        if capture:
            from coverwatch.lab.capture import write_lab_capture

            write_lab_capture(site, capture, seed)
        if ready_line:
            click.echo(READY)
            sys.stdout.flush()
        else:
            say(
                f"lab: {len(site)} devices on {site[0].ip} - {site[-1].ip}, "
                f"stopping in {duration:g}s (Ctrl-C to stop now)"
            )

    run_lab(
        hosts,
        seed,
        truth,
        duration,
        base,
        username,
        password,
        list(profiles) or None,
        ready,
        hostile,
    )


@cli.command()
@click.option(
    "--out",
    default="coverwatch-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for report.html and report.json.",
)
@click.option(
    "--hosts",
    default=40,
    show_default=True,
    type=click.IntRange(1, 2000),
    help="Size of the lab site.",
)
@click.option("--seed", default=7, show_default=True, help="Seed for the lab's profile mix.")
def demo(out: str, hosts: int, seed: int) -> None:
    """Start the lab on loopback, audit it, write a report, stop the lab.

    Everything goes into --out (your own inventory is not touched): report.html,
    report.json, the demo's inventory.db (with its traffic store) and the lab's policy.yaml,
    so that `coverwatch --db OUT/inventory.db serve --policy OUT/policy.yaml` shows the same
    audit in the dashboard. Prints a summary: cameras by real maker, covered devices,
    findings, rebrands; then the report's path.
    """
    import shutil
    from importlib import resources

    from coverwatch.credentials import Credential, CredentialStore
    from coverwatch.lab.runner import LabProcess
    from coverwatch.pipeline import build_report_data, default_traffic_dir, run_audit, run_scan
    from coverwatch.policy.loader import parse_policy
    from coverwatch.report import Format, write_report
    from coverwatch.sources.active import ScanOptions
    from coverwatch.store import open_inventory

    started = time.monotonic()
    policy_text = (resources.files("coverwatch.lab") / "policy.yaml").read_text(encoding="utf-8")
    folder = Path(out)
    db = folder / "inventory.db"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        db.unlink(missing_ok=True)  # the demo's own inventory from a previous run
        shutil.rmtree(default_traffic_dir(str(db)), ignore_errors=True)
        (folder / "policy.yaml").write_text(policy_text, encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot write into {out}: {e.strerror}") from e
    site_policy = parse_policy(policy_text, str(folder / "policy.yaml"))
    say(f"Starting the lab site ({hosts} emulated devices on 127.31.0.0/16)...")
    inventory = open_inventory(str(db))
    try:
        with LabProcess(hosts=hosts, seed=seed, duration=600) as site:
            addresses = list(site.truth)
            credentials = CredentialStore(default=Credential(DEFAULT_USERNAME, DEFAULT_PASSWORD))
            outcome = run_scan(
                [f"{addresses[0]}-{addresses[-1]}"],
                ScanOptions(credentials=credentials),
                "lab-hq",
                inventory,
                ProgressObserver(),
            )
        with tempfile.TemporaryDirectory(prefix="coverwatch-demo-") as scratch:
            traffic_dir = _lab_traffic(
                inventory, hosts, seed, Path(scratch), default_traffic_dir(str(db))
            )
        run_audit(inventory, site_policy, traffic_dir=traffic_dir)
        data = build_report_data(
            inventory, site_policy, None, "coverwatch audit: lab site", traffic_dir=traffic_dir
        )
    finally:
        inventory.close()
    html = write_report(data, Format.HTML, folder / "report.html")
    write_report(data, Format.JSON, folder / "report.json")
    _print_summary(data, outcome.hosts_scanned, time.monotonic() - started)
    click.echo(f"Report: {html.resolve()}")
    click.echo(
        f"Dashboard: coverwatch --db {db} token create --role admin\n"
        f"           coverwatch --db {db} serve --policy {folder / 'policy.yaml'}"
    )


def _print_summary(data: ReportData, scanned: int, seconds: float) -> None:
    from rich.console import Console
    from rich.markup import escape

    from coverwatch.cli.tables import Column, fit_table

    s = data.summary
    console = Console(highlight=False)
    console.print(
        f"Scanned {scanned} addresses in {seconds:.1f}s: {s.devices} hosts answered, "
        f"{s.video_devices} cameras/NVRs/DVRs, {s.covered} made by a covered entity, "
        f"{len(s.rebranded)} rebranded, {s.unidentified} maker unknown."
    )
    makers = []
    for maker, count in s.by_maker.items():
        covered = next(
            (
                d.attribution.covered
                for d in data.devices
                if d.attribution.maker == maker and d.attribution.covered
            ),
            "",
        )
        makers.append([escape(maker), str(count), escape(covered or "")])
    maker_columns = [
        Column("Maker", 1),
        Column("Devices", 1, keep=True, justify="right"),
        Column("Covered entity", 1),
    ]
    console.print(fit_table(maker_columns, makers, console.width, "Video devices by real maker"))
    _print_finding_summary(console, data)
    if s.rebranded:
        rebrand_columns = [
            Column("Address", 1, keep=True),
            Column("Brand", 1),
            Column("Real maker", 1),
            Column("Model", 2),
        ]
        rows = [
            [escape(str(r[k] or "")) for k in ("ip", "brand", "maker", "model")]
            for r in s.rebranded
        ]
        title = "Rebranded devices (brand on the box -> real maker)"
        console.print(fit_table(rebrand_columns, rows, console.width, title))


def _print_finding_summary(console: Any, data: ReportData) -> None:
    from rich.markup import escape

    from coverwatch.cli.tables import Column, fit_table

    if data.policy is None:
        return
    rows = []
    for rule in data.policy.rules:
        mine = [f for f in data.findings if f.rule == rule.id]
        if mine:
            rows.append(
                [
                    escape(rule.id),
                    rule.severity.value,
                    *(
                        str(sum(1 for f in mine if f.status.value == status))
                        for status in ("open", "waived", "unverified")
                    ),
                ]
            )
    columns = [
        Column("Rule", 1),
        Column("Severity", 1, keep=True),
        *(Column(c, 1, keep=True, justify="right") for c in ("Open", "Waived", "Unverified")),
    ]
    title = f"Findings ({escape(data.policy.name)})"
    console.print(fit_table(columns, rows, console.width, title))


def _lab_traffic(inventory: Any, hosts: int, seed: int, scratch: Path, store: str) -> str | None:
    """The lab site's capture, imported like a user's: flows and passive observations."""
    try:
        from coverwatch.lab.capture import write_lab_capture
        from coverwatch.traffic.ingest import ingest
        from coverwatch.traffic.passive import passive_observations
    except ImportError:
        say("(no traffic section: install the pcap extra for it)")
        return None
    from coverwatch.lab.site import build_site
    from coverwatch.models import SourceKind
    from coverwatch.pipeline import record_run

    capture = scratch / "lab.pcap"
    write_lab_capture(build_site(hosts, seed), str(capture), seed)
    ingest([str(capture)], store)
    found = {ip: obs for ip, obs in passive_observations([str(capture)]).items() if obs}
    record_run(
        inventory, "lab-hq", found, SourceKind.CAPTURE, [str(capture)], {}, datetime.now(UTC)
    )
    return store

"""The simulated site and the demo audit of it."""

from __future__ import annotations

import os
import sys
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
@click.option(
    "--capture-only",
    is_flag=True,
    help="Write --capture (and --truth) and exit without starting any device, so it works "
    "beside a running lab.",
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
    capture_only: bool,
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
    if capture_only:
        _capture_only(capture, truth, hosts, seed, base, list(profiles) or None, hostile)
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


def _capture_only(
    capture: str | None,
    truth: str | None,
    hosts: int,
    seed: int,
    base: str,
    profiles: list[str] | None,
    hostile: bool,
) -> None:
    """The lab's capture and truth files, with no device started (nothing is bound)."""
    from coverwatch.lab.runner import write_truth
    from coverwatch.lab.site import build_site

    if not capture:
        raise click.UsageError("--capture-only needs --capture FILE")
    site = build_site(hosts, seed, base, profiles, hostile)
    try:
        from coverwatch.lab.capture import write_lab_capture
    except ImportError as e:
        raise InputError("the lab capture needs the pcap extra: pip install -e '.[pcap]'") from e
    try:
        written = write_lab_capture(site, capture, seed)
    except OSError as e:
        raise InputError(f"cannot write {capture}: {e.strerror}") from e
    if truth:
        write_truth(site, truth)
    say(f"lab capture: {capture}: {written.packets} packets of {len(site)} devices")


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
@click.option(
    "--base",
    default=DEFAULT_BASE,
    show_default=True,
    help="The lab's addresses start after this one (a x.y.z.0 inside 127.0.0.0/8); choose "
    "another to run the demo beside a lab already running.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an inventory already in --out (its devices, tokens and waivers are lost).",
)
def demo(out: str, hosts: int, seed: int, base: str, force: bool) -> None:
    """Start the lab on loopback, audit it, write a report, stop the lab.

    Everything goes into --out (your own inventory is not touched): report.html,
    report.json, the demo's inventory.db (with its traffic store), the capture of the site's
    traffic (lab.pcap) and the lab's policy.yaml (zones moved to --base), so that
    `coverwatch --db OUT/inventory.db serve --policy OUT/policy.yaml` shows the same audit in
    the dashboard. An --out that already holds an inventory is refused unless --force. Prints
    a summary: cameras by real maker, covered devices, findings, rebrands; then the report's
    path.
    """
    import shutil
    from importlib import resources

    from coverwatch.credentials import Credential, CredentialStore
    from coverwatch.lab.runner import LabProcess
    from coverwatch.lab.site import build_site
    from coverwatch.pipeline import build_report_data, default_traffic_dir, run_audit, run_scan
    from coverwatch.policy.loader import parse_policy
    from coverwatch.report import Format, write_report
    from coverwatch.sources.active import ScanOptions
    from coverwatch.store import open_inventory

    started = time.monotonic()
    template = (resources.files("coverwatch.lab") / "policy.yaml").read_text(encoding="utf-8")
    policy_text = _moved_policy(template, base)
    folder = Path(out)
    db = folder / "inventory.db"
    if db.exists() and not force:
        raise InputError(
            f"{out} already holds an inventory ({db.name}, with its tokens and waivers): "
            "give --force to replace it, or another --out"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        db.unlink(missing_ok=True)  # --force: the demo's own inventory from a previous run
        shutil.rmtree(default_traffic_dir(str(db)), ignore_errors=True)
        (folder / "policy.yaml").write_text(policy_text, encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot write into {out}: {e.strerror}") from e
    site_policy = parse_policy(policy_text, str(folder / "policy.yaml"))
    say(f"Starting the lab site ({hosts} emulated devices after {base})...")
    inventory = open_inventory(str(db))
    try:
        with LabProcess(hosts=hosts, seed=seed, base=base, duration=600) as site:
            addresses = list(site.truth)
            credentials = CredentialStore(default=Credential(DEFAULT_USERNAME, DEFAULT_PASSWORD))
            outcome = run_scan(
                [f"{addresses[0]}-{addresses[-1]}"],
                ScanOptions(credentials=credentials),
                "lab-hq",
                inventory,
                ProgressObserver(),
            )
        traffic_dir = _lab_traffic(
            inventory, build_site(hosts, seed, base), seed, folder / "lab.pcap", str(db)
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


def _lab_traffic(
    inventory: Any, site: list[LabHost], seed: int, capture: Path, db: str
) -> str | None:
    """The lab site's capture, kept at ``capture`` (the dashboard links it) and imported like
    a user's: flows and passive observations."""
    try:
        from coverwatch.lab.capture import write_lab_capture
        from coverwatch.traffic.ingest import ingest
        from coverwatch.traffic.passive import passive_observations
    except ImportError:
        say("(no traffic section: install the pcap extra for it)")
        return None
    from coverwatch.models import SourceKind
    from coverwatch.pipeline import default_traffic_dir, record_run

    store = default_traffic_dir(db)
    try:
        write_lab_capture(site, str(capture), seed)
    except OSError as e:
        raise InputError(f"cannot write {capture}: {e.strerror}") from e
    ingest([str(capture)], store)
    found = {ip: obs for ip, obs in passive_observations([str(capture)]).items() if obs}
    record_run(
        inventory, "lab-hq", found, SourceKind.CAPTURE, [str(capture)], {}, datetime.now(UTC)
    )
    return store


def _moved_policy(text: str, base: str) -> str:
    """The lab policy with its zones and waivers moved from the default base to ``base``."""
    import ipaddress
    import re

    try:
        new = ipaddress.IPv4Address(base)
    except ValueError as e:
        raise InputError(f"--base {base!r} is not an IPv4 address") from e
    if new not in ipaddress.IPv4Network("127.0.0.0/8") or int(new) & 0xFF:
        raise InputError(f"--base {base}: use an address ending in .0 inside 127.0.0.0/8")
    offset = int(new) - int(ipaddress.IPv4Address(DEFAULT_BASE))

    def move(match: re.Match[str]) -> str:
        moved = int(ipaddress.IPv4Address(match.group(0))) + offset
        if not 0 <= moved < 2**32:
            raise InputError(f"--base {base}: the lab's zones would leave 127.0.0.0/8")
        address = ipaddress.IPv4Address(moved)
        if address not in ipaddress.IPv4Network("127.0.0.0/8"):
            raise InputError(f"--base {base}: the lab's zones would leave 127.0.0.0/8")
        return str(address)

    # NOTE: only the site's own 127.31.x.y addresses move; the capture's core servers
    # (127.32.0.0/16, lab.capture.CORE_SERVER) stay where the capture puts them.
    return re.sub(r"\b127\.31\.\d{1,3}\.\d{1,3}\b", move, text)

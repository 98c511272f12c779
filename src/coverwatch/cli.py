"""The command line: parse arguments, call the pipeline, render, map errors to exit codes.

Exit codes: 0 clean, 1 findings at or above --fail-on (audit), 2 usage or input error.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from coverwatch import __version__
from coverwatch.errors import CoverwatchError, InputError
from coverwatch.lab.site import DEFAULT_BASE, DEFAULT_PASSWORD, DEFAULT_USERNAME
from coverwatch.observer import Observer
from coverwatch.targets import DEFAULT_MAX_HOSTS, DEFAULT_PORTS

# NOTE: heavier modules (SQLAlchemy, the lab, reports, rich) are imported inside the commands
# that use them, so `coverwatch identify` in a shell pipeline starts fast.
if TYPE_CHECKING:
    from coverwatch.lab.site import LabHost
    from coverwatch.report import ReportData
    from coverwatch.store import DeviceRecord


class ProgressObserver(Observer):
    """Shows a progress bar on a terminal (stderr); silent when stderr is not a TTY."""

    def __init__(self) -> None:
        from rich.console import Console

        self._console = Console(stderr=True, highlight=False)
        self._progress: Any = None
        self._task: Any = None

    def stage(self, name: str, total: int | None = None) -> None:
        if not self._console.is_terminal:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(name, total=total)

    def advance(self, steps: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, steps)

    def note(self, message: str) -> None:
        self._console.print(f"[yellow]note:[/] {message}", markup=True)

    def done(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _fail(message: str) -> None:
    click.echo(f"coverwatch: error: {message}", err=True)


def main() -> None:
    """Console-script entry point: every CoverwatchError is one line and exit code 2."""
    try:
        cli.main(prog_name="coverwatch", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("coverwatch: interrupted", err=True)
        sys.exit(130)
    except CoverwatchError as e:
        _fail(str(e))
        sys.exit(2)
    except BrokenPipeError:
        # NOTE: `coverwatch devices --json | head` closes our stdout early; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)


def _parse_ports(text: str) -> tuple[int, ...]:
    ports: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part:
                low, high = (int(x) for x in part.split("-", 1))
                ports.update(range(low, high + 1))
            else:
                ports.add(int(part))
        except ValueError as e:
            raise click.BadParameter(f"{part!r} is not a port or port range") from e
    if not ports or not all(0 < p < 65536 for p in ports):
        raise click.BadParameter("ports must be between 1 and 65535")
    return tuple(sorted(ports))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="coverwatch")
@click.option(
    "--db",
    metavar="PATH|URL",
    envvar="COVERWATCH_DB",
    help="Inventory database: a SQLite file path or a SQLAlchemy URL "
    "(postgresql+psycopg://...). Default: inventory.db in the user data folder. "
    "Env: COVERWATCH_DB.",
)
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, db: str | None, verbose: int) -> None:
    """Audit a video-surveillance estate: find cameras, NVRs and DVRs, name who really made
    them (white-label rebrands included), and flag equipment of covered vendors.

    \b
    Start here:
      coverwatch demo                         audit the built-in lab site, write a report
      coverwatch scan 10.1.20.0/24 --site hq  scan your declared scope into the inventory
      coverwatch devices                      list the inventory (--json, --csv)
      coverwatch identify obs.jsonl           attribute observations from another tool

    Exit codes: 0 clean, 1 findings (audit), 2 usage or input error.
    """
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)],
        format="coverwatch: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    ctx.obj = {"db": db}


def _db(ctx: click.Context) -> str:
    from coverwatch.store import default_db

    return str(ctx.obj.get("db") or default_db())


@cli.command()
@click.argument("targets", nargs=-1, required=True)
@click.option("--site", default="default", show_default=True, help="Site label for these hosts.")
@click.option(
    "--ports",
    "ports_text",
    metavar="LIST",
    default=",".join(map(str, DEFAULT_PORTS)),
    show_default=True,
    help="TCP ports to sweep, e.g. 80,443,554 or 1-1024.",
)
@click.option(
    "--concurrency",
    default=256,
    show_default=True,
    type=click.IntRange(1, 10000),
    help="Most connections open at once.",
)
@click.option(
    "--timeout",
    default=3.0,
    show_default=True,
    type=click.FloatRange(0.05, 120),
    help="Seconds per connect and per read.",
)
@click.option(
    "--rate",
    type=click.FloatRange(0.1, None),
    default=None,
    help="Most new connections per second (default: no limit).",
)
@click.option(
    "--credentials",
    "credentials_file",
    type=click.Path(dir_okay=False),
    help="YAML file of device credentials for ONVIF GetDeviceInformation "
    "(else COVERWATCH_USERNAME / COVERWATCH_PASSWORD). Never printed or stored.",
)
@click.option(
    "--max-hosts",
    default=DEFAULT_MAX_HOSTS,
    show_default=True,
    help="Refuse target lists that expand to more hosts than this.",
)
@click.option(
    "--no-probes",
    is_flag=True,
    help="Only find open ports (a connect sweep, like nmap -sT): no banners, no "
    "ONVIF, so makers come from port numbers alone, if at all.",
)
@click.option("--jsonl", is_flag=True, help="Print one JSON object per host (identify's format).")
@click.pass_context
def scan(
    ctx: click.Context,
    targets: tuple[str, ...],
    site: str,
    ports_text: str,
    concurrency: int,
    timeout: float,
    rate: float | None,
    credentials_file: str | None,
    max_hosts: int,
    no_probes: bool,
    jsonl: bool,
) -> None:
    """Scan TARGETS and store what answers in the inventory.

    TARGETS are the declared scope; nothing outside them is contacted. Each is an address
    (10.1.2.3), a CIDR (10.1.2.0/24), a range (10.1.2.1-200 or 10.1.2.1-10.1.2.200), a host
    name, or @FILE with one target per line (# comments allowed).

    Each open port gets the probe its service speaks: HTTP(S) headers, title and a bounded
    body; TLS certificate; RTSP OPTIONS/DESCRIBE; ONVIF GetSystemDateAndTime (and
    GetDeviceInformation with credentials); SSH/Telnet/FTP banners. Read-only, no logins
    beyond the ONVIF call you supply credentials for.

    \b
    Example: coverwatch scan 10.1.20.0/24 @cameras.txt --site hq --rate 200
    """
    from coverwatch.credentials import load_credentials
    from coverwatch.pipeline import run_scan
    from coverwatch.sources.active import ScanOptions
    from coverwatch.store import open_inventory

    options = ScanOptions(
        _parse_ports(ports_text),
        concurrency,
        timeout,
        rate,
        load_credentials(credentials_file),
        probes=not no_probes,
    )
    inventory = open_inventory(_db(ctx))
    try:
        outcome = run_scan(list(targets), options, site, inventory, ProgressObserver(), max_hosts)
        answered = {h.ip for h in outcome.hosts}
        stored = [d for d in inventory.devices(site) if d.ip in answered]
    finally:
        inventory.close()
    if jsonl:
        for host in outcome.hosts:
            obj = _flat_observations(host.ip, host.observations)
            click.echo(json.dumps({**obj, **host.attribution.to_json()}))
        return
    video = [h for h in outcome.hosts if h.attribution.covered]
    click.echo(
        f"scan {outcome.scan_id}: {outcome.hosts_scanned} hosts in scope, "
        f"{len(outcome.hosts)} answered, {len(video)} made by a covered entity "
        f"(inventory: {_db(ctx)})",
        err=True,
    )
    _print_devices(stored)


def _flat_observations(ip: str, observations: Any) -> dict[str, Any]:
    flat: dict[str, Any] = {"ip": ip}
    for o in observations:
        if o.status.value == "ok" and o.signal != "tcp.port" and o.signal not in flat:
            flat[o.signal] = o.value
    flat["open_ports"] = sorted({o.port for o in observations if o.signal == "tcp.port"})
    return flat


_COLUMNS = (
    "ip",
    "site",
    "device_type",
    "maker",
    "brand",
    "model",
    "covered",
    "confidence",
    "last_seen",
)


def _print_devices(devices: list[DeviceRecord]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    if not console.is_terminal:
        # Piped: tab-separated with a header, one device per line (cut/awk/sort friendly).
        click.echo("\t".join(_COLUMNS))
        for d in devices:
            row = d.to_json()
            click.echo("\t".join("" if row.get(c) is None else str(row.get(c)) for c in _COLUMNS))
        return
    table = Table(show_lines=False)
    for column in (
        "Address",
        "Site",
        "Type",
        "Maker",
        "Brand",
        "Model",
        "Covered",
        "Conf.",
        "Last seen",
    ):
        table.add_column(column)
    for d in devices:
        a = d.attribution
        table.add_row(
            d.ip,
            d.site,
            a.device_type.value if a.device_type else "?",
            a.maker or "unknown",
            a.brand or "",
            a.model or "",
            f"[red]{a.covered}[/]" if a.covered else "",
            f"{a.confidence:.2f}",
            d.last_seen.strftime("%Y-%m-%d %H:%M") if d.last_seen else "",
        )
    console.print(table)


@cli.command()
@click.option("--site", help="Only this site.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per device.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@click.pass_context
def devices(ctx: click.Context, site: str | None, as_json: bool, as_csv: bool) -> None:
    """List the inventory: maker, brand, model, covered, confidence, site, last seen.

    --json uses identify's field names (ip, mac, maker, brand, model, firmware, device_type,
    covered, confidence, evidence) plus site, open_ports, first_seen and last_seen.
    """
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    from coverwatch.store import open_inventory

    inventory = open_inventory(_db(ctx))
    try:
        records = inventory.devices(site)
    finally:
        inventory.close()
    if as_json:
        click.echo(json.dumps([d.to_json() for d in records], indent=2))
    elif as_csv:
        fields = [
            "ip",
            "mac",
            "site",
            "device_type",
            "maker",
            "brand",
            "model",
            "firmware",
            "covered",
            "confidence",
            "open_ports",
            "first_seen",
            "last_seen",
        ]
        writer = csv.DictWriter(
            sys.stdout, fieldnames=fields, extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        for d in records:
            row = d.to_json()
            row["open_ports"] = " ".join(map(str, d.open_ports))
            writer.writerow(row)
    else:
        _print_devices(records)


@cli.command()
@click.argument("source", default="-", metavar="FILE|-")
def identify(source: str) -> None:
    """Attribute observations: read JSONL (FILE or - for stdin), write JSONL to stdout.

    Each input line is one host: a JSON object with optional keys ip, mac, hostname and
    dotted signals (http.server, http.title, rtsp.server, onvif.manufacturer, sadp.*, ...).
    Each output line is the input object plus maker, brand, model, firmware, device_type,
    covered, confidence (0-1) and evidence ([{signal, value, matched, source, ...}]).
    Unknown stays null: no guess without evidence.

    A malformed line is reported on stderr with its line number and skipped; the rest is
    still processed, and the exit code is then 2.

    \b
    Example: jq -c '{ip, "http.server": .server}' hosts.json | coverwatch identify -
    """
    if source == "-":
        name, stream = "<stdin>", sys.stdin
    else:
        name = source
        try:
            stream = open(source, encoding="utf-8", errors="replace")  # noqa: SIM115
        except OSError as e:
            raise InputError(f"cannot read {source}: {e.strerror}") from e
    bad = 0
    with stream:
        bad = _identify_stream(name, stream)
    if bad:
        raise InputError(f"{name}: {bad} malformed line(s) skipped")


def _identify_stream(name: str, stream: Any) -> int:
    from coverwatch.identify import attribute
    from coverwatch.sources.jsonl import read_records

    bad = 0
    for item in read_records(stream):
        if isinstance(item, tuple):
            number, error = item
            bad += 1
            _fail(f"{name}:{number}: {error}")
            continue
        result = {**item.data, **attribute(item.signals).to_json()}
        click.echo(json.dumps(result))
        sys.stdout.flush()
    return bad


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
    type=click.FloatRange(1, None),
    help="Stop by itself after this many seconds.",
)
@click.option("--profile", "profiles", multiple=True, help="Only these profiles (repeatable).")
@click.option("--list-profiles", is_flag=True, help="List the device profiles and exit.")
@click.option(
    "--username",
    default=DEFAULT_USERNAME,
    show_default=True,
    help="Credential the emulated devices accept.",
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
    ready_line: bool,
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
        for name, profile in load_profiles().items():
            t = profile.truth
            click.echo(f"{name}\t{t['device_type']}\t{t['maker']}\t{t['brand']}\t{t['model']}")
        return
    password = os.environ.get("COVERWATCH_LAB_PASSWORD", DEFAULT_PASSWORD)

    def ready(site: list[LabHost]) -> None:
        if ready_line:
            click.echo(READY)
            sys.stdout.flush()
        else:
            click.echo(
                f"lab: {len(site)} devices on {site[0].ip} - {site[-1].ip}, "
                f"stopping in {duration:g}s (Ctrl-C to stop now)",
                err=True,
            )

    run_lab(hosts, seed, truth, duration, base, username, password, list(profiles) or None, ready)


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

    Uses a temporary inventory (your own inventory is not touched). Prints a summary of what
    was found: cameras by real maker, covered devices, rebrands; then the report's path.
    """
    from importlib import resources

    from coverwatch.credentials import Credential, CredentialStore
    from coverwatch.lab.runner import LabProcess
    from coverwatch.pipeline import build_report_data, run_audit, run_scan
    from coverwatch.policy.loader import parse_policy
    from coverwatch.report import Format, write_report
    from coverwatch.sources.active import ScanOptions
    from coverwatch.store import open_inventory

    started = time.monotonic()
    lab_policy = resources.files("coverwatch.lab") / "policy.yaml"
    site_policy = parse_policy(lab_policy.read_text(encoding="utf-8"), "lab/policy.yaml")
    with tempfile.TemporaryDirectory(prefix="coverwatch-demo-") as scratch:
        click.echo(
            f"Starting the lab site ({hosts} emulated devices on 127.31.0.0/16)...", err=True
        )
        inventory = open_inventory(str(Path(scratch) / "demo.db"))
        try:
            with LabProcess(hosts=hosts, seed=seed, duration=600) as site:
                addresses = list(site.truth)
                credentials = CredentialStore(
                    default=Credential(DEFAULT_USERNAME, DEFAULT_PASSWORD)
                )
                outcome = run_scan(
                    [f"{addresses[0]}-{addresses[-1]}"],
                    ScanOptions(credentials=credentials),
                    "lab-hq",
                    inventory,
                    ProgressObserver(),
                )
            run_audit(inventory, site_policy)
            data = build_report_data(inventory, site_policy, None, "coverwatch audit: lab site")
        finally:
            inventory.close()
        folder = Path(out)
        html = write_report(data, Format.HTML, folder / "report.html")
        write_report(data, Format.JSON, folder / "report.json")
    _print_summary(data, outcome.hosts_scanned, time.monotonic() - started)
    click.echo(f"Report: {html.resolve()}")


def _print_summary(data: ReportData, scanned: int, seconds: float) -> None:
    from rich.console import Console
    from rich.table import Table

    s = data.summary
    console = Console(highlight=False)
    console.print(
        f"Scanned {scanned} addresses in {seconds:.1f}s: {s.devices} hosts answered, "
        f"{s.video_devices} cameras/NVRs/DVRs, {s.covered} made by a covered entity, "
        f"{len(s.rebranded)} rebranded, {s.unidentified} maker unknown."
    )
    table = Table(title="Video devices by real maker")
    table.add_column("Maker")
    table.add_column("Devices", justify="right")
    table.add_column("Covered entity")
    for maker, count in s.by_maker.items():
        covered = next(
            (
                d.attribution.covered
                for d in data.devices
                if d.attribution.maker == maker and d.attribution.covered
            ),
            "",
        )
        table.add_row(maker, str(count), covered or "")
    console.print(table)
    _print_finding_summary(console, data)
    if s.rebranded:
        rebrands = Table(title="Rebranded devices (brand on the box -> real maker)")
        for column in ("Address", "Brand", "Real maker", "Model"):
            rebrands.add_column(column)
        for r in s.rebranded:
            rebrands.add_row(r["ip"], r["brand"], r["maker"], r["model"])
        console.print(rebrands)


SEVERITIES = ("info", "low", "medium", "high", "critical")


def _print_finding_summary(console: Any, data: ReportData) -> None:
    from rich.table import Table

    if data.policy is None:
        return
    table = Table(title=f"Findings ({data.policy.name})")
    for column in ("Rule", "Severity", "Open", "Waived", "Unverified"):
        table.add_column(column, justify="left" if column in ("Rule", "Severity") else "right")
    for rule in data.policy.rules:
        mine = [f for f in data.findings if f.rule == rule.id]
        if mine:
            table.add_row(
                rule.id,
                rule.severity.value,
                *(
                    str(sum(1 for f in mine if f.status.value == status))
                    for status in ("open", "waived", "unverified")
                ),
            )
    console.print(table)


@cli.group()
def policy() -> None:
    """Validate and show policies (zones, rules, waivers as YAML).

    A site policy that has no `rules:` key uses the default rules and adds its own zones,
    waivers and unit costs.
    """


@policy.command("check")
@click.argument("file")
def policy_check(file: str) -> None:
    """Validate FILE; errors name the file, line and field (exit code 2)."""
    from datetime import date

    from coverwatch.policy.loader import load_policy

    loaded = load_policy(file)
    expired = sum(1 for w in loaded.waivers if not w.active(date.today()))
    click.echo(
        f"{file}: valid policy {loaded.name!r} version {loaded.version}: "
        f"{len(loaded.zones)} zones, {len(loaded.rules)} rules, {len(loaded.waivers)} waivers"
        f"{f' ({expired} expired)' if expired else ''}"
    )


@policy.command("show")
@click.option("--policy", "policy_file", help="Policy file (default: the shipped policy).")
def policy_show(policy_file: str | None) -> None:
    """Print the effective policy (defaults filled in) as YAML."""
    import yaml

    from coverwatch.policy.loader import load_policy

    loaded = load_policy(policy_file)
    document = {
        "name": loaded.name,
        "version": loaded.version,
        "source": loaded.source,
        "zones": [
            {
                "name": z.name,
                "cidrs": [str(n) for n in z.networks],
                "sensitive": z.sensitive,
                "core": z.core,
                **({"site": z.site} if z.site else {}),
            }
            for z in loaded.zones
        ],
        "rules": [
            {
                "id": r.id,
                "kind": r.kind,
                "severity": r.severity.value,
                "title": r.title,
                "remediation": r.remediation,
                "references": list(r.references),
                **({"options": r.options} if r.options else {}),
            }
            for r in loaded.rules
        ],
        "waivers": [
            {
                "rule": w.rule,
                **({"devices": list(w.devices)} if w.devices else {}),
                **({"zone": w.zone} if w.zone else {}),
                **({"maker": w.maker} if w.maker else {}),
                "reason": w.reason,
                "approver": w.approver,
                "expires": w.expires,
            }
            for w in loaded.waivers
        ],
        "unit_costs": loaded.unit_costs,
    }
    click.echo(yaml.safe_dump(document, sort_keys=False, width=100), nl=False)


@cli.command()
@click.option("--policy", "policy_file", help="Policy file (default: the shipped policy).")
@click.option("--site", help="Only devices of this site.")
@click.option(
    "--fail-on",
    type=click.Choice([*SEVERITIES, "none"]),
    default="none",
    show_default=True,
    help="Exit with code 1 when an open finding is at or above this severity.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON array.")
@click.pass_context
def audit(
    ctx: click.Context, policy_file: str | None, site: str | None, fail_on: str, as_json: bool
) -> None:
    """Evaluate the policy over the inventory and store the findings.

    Rules of the default policy: equipment of FCC Covered List entities (NDAA 889); the UK
    2022 direction (no PRC-produced surveillance equipment at sensitive sites or on core
    networks); firmware with known critical CVEs; clear-text management; video devices of
    unknown maker. Findings are open, waived (by a waiver in the policy) or unverified (not
    enough evidence, which is not the same as compliant).

    \b
    Example: coverwatch audit --policy site.yaml --fail-on high || echo "gate failed"
    """
    from coverwatch.pipeline import run_audit
    from coverwatch.policy.engine import worst_open
    from coverwatch.policy.loader import load_policy
    from coverwatch.policy.model import FindingStatus, Severity, finding_to_json
    from coverwatch.store import open_inventory

    loaded = load_policy(policy_file)
    inventory = open_inventory(_db(ctx))
    try:
        outcome = run_audit(inventory, loaded, site)
    finally:
        inventory.close()
    findings = sorted(outcome.findings, key=lambda f: (-f.severity.rank, f.site, f.ip, f.rule))
    if as_json:
        click.echo(json.dumps([finding_to_json(f) for f in findings], indent=2, default=str))
    else:
        _print_findings(findings)
    counts = {s: sum(1 for f in findings if f.status is s) for s in FindingStatus}
    click.echo(
        f"audit {outcome.audit_id}: {outcome.devices} devices, "
        f"{counts[FindingStatus.OPEN]} open, {counts[FindingStatus.WAIVED]} waived, "
        f"{counts[FindingStatus.UNVERIFIED]} unverified findings (policy {loaded.name} "
        f"{loaded.version})",
        err=True,
    )
    worst = worst_open(findings)
    if fail_on != "none" and worst and worst.severity.rank >= Severity(fail_on).rank:
        sys.exit(1)


def _print_findings(findings: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    columns = ("severity", "status", "site", "ip", "rule", "title", "detail")
    if not console.is_terminal:
        click.echo("\t".join(columns))
        for f in findings:
            click.echo(
                "\t".join(
                    [f.severity.value, f.status.value, f.site, f.ip, f.rule, f.title, f.detail]
                )
            )
        return
    table = Table()
    for column in ("Severity", "Status", "Address", "Rule", "Finding"):
        table.add_column(column)
    colours = {"critical": "bold red", "high": "red", "medium": "yellow"}
    for f in findings:
        style = colours.get(f.severity.value, "") if f.status.value == "open" else "dim"
        table.add_row(
            f.severity.value, f.status.value, f.ip, f.rule, f"{f.title}\n{f.detail}", style=style
        )
    console.print(table)


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "json", "csv", "md"]),
    default="html",
    show_default=True,
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="File to write (replaced whole)."
)
@click.option("--policy", "policy_file", help="Policy file (default: the shipped policy).")
@click.option("--site", help="Only devices of this site.")
@click.option(
    "--unit-cost",
    type=click.FloatRange(0, None),
    help="Replacement cost per device where the policy's unit_costs give none.",
)
@click.option("--title", default="coverwatch audit report", show_default=True)
@click.pass_context
def report(
    ctx: click.Context,
    fmt: str,
    out: str,
    policy_file: str | None,
    site: str | None,
    unit_cost: float | None,
    title: str,
) -> None:
    """Write the compliance report: html (self-contained), json (versioned schema), csv (one
    row per finding) or md (a summary for a ticket).

    The findings are those the policy gives for the inventory now (as `audit` computes them).

    \b
    Example: coverwatch report --policy site.yaml --format html --out audit.html
    """
    from coverwatch.pipeline import build_report_data
    from coverwatch.policy.loader import load_policy
    from coverwatch.report import Format, write_report
    from coverwatch.store import open_inventory

    loaded = load_policy(policy_file)
    inventory = open_inventory(_db(ctx))
    try:
        data = build_report_data(inventory, loaded, site, title, unit_cost)
    finally:
        inventory.close()
    path = write_report(data, Format(fmt), Path(out))
    click.echo(f"Report: {path.resolve()}")


@cli.command()
@click.argument("scan_a", required=False, type=int)
@click.argument("scan_b", required=False, type=int)
@click.option("--policy", "policy_file", help="Policy for new/resolved findings.")
@click.option("--json", "as_json", is_flag=True, help="Print the difference as JSON.")
@click.pass_context
def diff(
    ctx: click.Context,
    scan_a: int | None,
    scan_b: int | None,
    policy_file: str | None,
    as_json: bool,
) -> None:
    """What changed between two scans (default: the last two): devices added, removed, or
    changed in identity, firmware or ports; findings new and resolved."""
    from coverwatch.pipeline import diff_scans
    from coverwatch.policy.loader import load_policy
    from coverwatch.policy.model import finding_to_json
    from coverwatch.store import open_inventory

    loaded = load_policy(policy_file)
    inventory = open_inventory(_db(ctx))
    try:
        ids = [s.id for s in inventory.scans()]
        if scan_a is None or scan_b is None:
            if scan_a is not None or len(ids) < 2:
                raise InputError("diff needs two scans: give SCAN_A SCAN_B, or scan twice first")
            scan_a, scan_b = ids[-2], ids[-1]
        for number in (scan_a, scan_b):
            if number not in ids:
                raise InputError(
                    f"no scan {number} in the inventory (scans: "
                    f"{', '.join(map(str, ids[-10:])) or 'none'})"
                )
        result = diff_scans(inventory, scan_a, scan_b, loaded)
    finally:
        inventory.close()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "before": result.before,
                    "after": result.after,
                    "devices": [
                        {
                            "ip": c.ip,
                            "site": c.site,
                            "change": c.change,
                            "fields": {
                                k: {"before": v[0], "after": v[1]} for k, v in c.fields.items()
                            },
                        }
                        for c in result.devices
                    ],
                    "new_findings": [finding_to_json(f) for f in result.new_findings],
                    "resolved_findings": [finding_to_json(f) for f in result.resolved_findings],
                },
                indent=2,
                default=str,
            )
        )
        return
    click.echo(f"scan {result.before} -> scan {result.after}")
    for c in result.devices:
        detail = "; ".join(f"{k}: {v[0]} -> {v[1]}" for k, v in c.fields.items())
        click.echo(f"  {c.change:8} {c.site}/{c.ip}{'  ' + detail if detail else ''}")
    for label, items in (("new", result.new_findings), ("resolved", result.resolved_findings)):
        for f in items:
            click.echo(
                f"  {label} finding [{f.severity.value}] {f.site}/{f.ip} {f.rule}: {f.title}"
            )
    if not (result.devices or result.new_findings or result.resolved_findings):
        click.echo("  no changes")


@cli.command()
@click.argument("host")
@click.option("--site", help="The device's site, when the address is in several.")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@click.pass_context
def show(ctx: click.Context, host: str, site: str | None, as_json: bool) -> None:
    """Show every observation of HOST and how each moved its attribution.

    The attribution is made from the latest run of every source (scan, discovery, imports);
    each evidence line names the knowledge entry it matched, the maker or brand it points to,
    its weight and its public source. Conflicting evidence is marked.
    """
    from coverwatch.pipeline import explain
    from coverwatch.store import open_inventory

    inventory = open_inventory(_db(ctx))
    try:
        result = explain(inventory, host, site)
    finally:
        inventory.close()
    a = result.attribution
    if as_json:
        click.echo(
            json.dumps(
                {
                    "device": result.device.to_json(),
                    "attribution": a.to_json(),
                    "observations": [
                        {
                            "signal": o.signal,
                            "value": o.value,
                            "port": o.port,
                            "protocol": o.protocol,
                            "status": o.status.value,
                            "source": o.source.value,
                            "observed_at": o.observed_at.isoformat() if o.observed_at else None,
                        }
                        for o in result.observations
                    ],
                    "unmatched": [{"signal": o.signal, "value": o.value} for o in result.unmatched],
                    "history": result.history,
                },
                indent=2,
            )
        )
        return
    d = result.device
    click.echo(f"{d.ip} (site {d.site}){'  MAC ' + d.mac if d.mac else ''}")
    click.echo(
        f"  maker {a.maker or 'unknown'}  brand {a.brand or '-'}  model {a.model or '-'}  "
        f"firmware {a.firmware or '-'}  type {a.device_type.value if a.device_type else '-'}"
    )
    click.echo(
        f"  covered: {a.covered or 'no'}  confidence {a.confidence:.2f}  "
        f"open ports {', '.join(map(str, d.open_ports)) or '-'}"
    )
    click.echo(f"Evidence ({len(a.evidence)}; strongest first):")
    for e in a.evidence:
        points = (
            ", ".join(
                x for x in (e.maker and f"maker {e.maker}", e.brand and f"brand {e.brand}") if x
            )
            or "type/model only"
        )
        mark = "  CONFLICTS" if e.conflicts else ""
        click.echo(f"  {e.weight:4.2f}  {e.signal} = {e.value[:80]!r}")
        click.echo(f"        matched {e.matched} -> {points}{mark}")
        click.echo(f"        source: {e.source[:160]}")
    sources = sorted({o.source.value for o in result.observations})
    click.echo(
        f"Observations: {len(result.observations)} from the latest "
        f"{'/'.join(sources) or 'run'} ({result.history} kept in all)"
    )
    for o in result.observations:
        status = "" if o.status.value == "ok" else f" [{o.status.value}]"
        port = f":{o.port}" if o.port else ""
        click.echo(
            f"  {o.source.value:9} {o.protocol}{port:6} {o.signal} = {o.value[:90]!r}{status}"
        )
    if result.unmatched:
        click.echo(
            f"Moved nothing ({len(result.unmatched)}): "
            + ", ".join(sorted({o.signal for o in result.unmatched}))
        )


@cli.group()
def token() -> None:
    """API tokens for the web dashboard and REST API (stored hashed; shown once)."""


@token.command("create")
@click.option(
    "--role",
    type=click.Choice(["viewer", "admin"]),
    required=True,
    help="viewer: read-only; admin: may also waive findings.",
)
@click.option("--name", default="", help="A label to recognise the token by (e.g. a person).")
@click.pass_context
def token_create(ctx: click.Context, role: str, name: str) -> None:
    """Create a token and print it (the only time it is shown)."""
    from coverwatch.store import open_inventory

    inventory = open_inventory(_db(ctx))
    try:
        value = inventory.create_token(name or role, role)
    finally:
        inventory.close()
    click.echo(value)
    click.echo(f"Created a {role} token; store it now: coverwatch keeps only its hash.", err=True)


@token.command("list")
@click.pass_context
def token_list(ctx: click.Context) -> None:
    """List tokens (id, name, role, created, revoked); never the tokens themselves."""
    from coverwatch.store import open_inventory

    inventory = open_inventory(_db(ctx))
    try:
        for t in inventory.tokens():
            state = "revoked" if t["revoked"] else "active"
            click.echo(f"{t['id']}\t{t['name']}\t{t['role']}\t{t['created_at']:%Y-%m-%d}\t{state}")
    finally:
        inventory.close()


@token.command("revoke")
@click.argument("token_id", type=int)
@click.pass_context
def token_revoke(ctx: click.Context, token_id: int) -> None:
    """Revoke the token with this id (see `token list`)."""
    from coverwatch.store import open_inventory

    inventory = open_inventory(_db(ctx))
    try:
        if not inventory.revoke_token(token_id):
            raise InputError(f"no token with id {token_id}")
    finally:
        inventory.close()
    click.echo(f"Token {token_id} revoked.", err=True)


def _host_port(text: str, default: int, what: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    host = host or text
    try:
        return host.strip("[]"), int(port) if port else default
    except ValueError as e:
        raise click.BadParameter(f"{what} {text!r}: expected HOST or HOST:PORT") from e


@cli.command()
@click.argument("targets", nargs=-1, required=True)
@click.option(
    "--every", default="1h", show_default=True, help="Time between rounds: 30s, 15m, 1h, 1d."
)
@click.option("--rounds", type=click.IntRange(1, None), help="Stop after N rounds.")
@click.option("--site", default="default", show_default=True)
@click.option("--policy", "policy_file", help="Policy file (default: the shipped policy).")
@click.option(
    "--ports",
    "ports_text",
    default=",".join(map(str, DEFAULT_PORTS)),
    show_default=True,
    help="TCP ports to sweep each round.",
)
@click.option(
    "--credentials",
    "credentials_file",
    type=click.Path(dir_okay=False),
    help="Device credentials (as for scan).",
)
@click.option(
    "--webhook",
    multiple=True,
    metavar="URL",
    help="POST each alert as JSON to URL (retried with backoff). Repeatable.",
)
@click.option(
    "--syslog",
    "syslog_to",
    multiple=True,
    metavar="HOST[:PORT]",
    help="Send one syslog line (UDP) per change. Repeatable.",
)
@click.option("--email", multiple=True, metavar="ADDRESS", help="E-mail alerts to ADDRESS.")
@click.option(
    "--smtp",
    default="localhost:25",
    show_default=True,
    metavar="HOST[:PORT]",
    help="SMTP relay for --email.",
)
@click.option("--from", "sender", default="coverwatch@localhost", show_default=True)
@click.option(
    "--digest",
    is_flag=True,
    help="Send one daily digest of the day's changes instead of an alert per round.",
)
@click.pass_context
def watch(
    ctx: click.Context,
    targets: tuple[str, ...],
    every: str,
    rounds: int | None,
    site: str,
    policy_file: str | None,
    ports_text: str,
    credentials_file: str | None,
    webhook: tuple[str, ...],
    syslog_to: tuple[str, ...],
    email: tuple[str, ...],
    smtp: str,
    sender: str,
    digest: bool,
) -> None:
    """Re-scan and re-audit TARGETS on a schedule and alert on changes: new device, new
    covered device, identity or firmware change, new finding.

    The first round on an empty inventory is the baseline and alerts on nothing. Ctrl-C
    stops the loop (a pending digest is sent first).

    \b
    Example: coverwatch watch 10.1.20.0/24 --site hq --every 1h \\
               --webhook https://hooks.example/cw --syslog siem.local --email soc@example.org
    """
    from coverwatch.credentials import load_credentials
    from coverwatch.monitor.sinks import AlertSink, EmailSink, SyslogSink, WebhookSink
    from coverwatch.monitor.watch import WatchPlan, parse_duration
    from coverwatch.monitor.watch import watch as watch_loop
    from coverwatch.policy.loader import load_policy
    from coverwatch.sources.active import ScanOptions
    from coverwatch.store import open_inventory

    sinks: list[AlertSink] = [WebhookSink(url) for url in webhook]
    sinks += [SyslogSink(*_host_port(s, 514, "--syslog")) for s in syslog_to]
    if email:
        sinks.append(EmailSink(list(email), *_host_port(smtp, 25, "--smtp"), sender=sender))
    plan = WatchPlan(
        list(targets),
        site,
        parse_duration(every),
        load_policy(policy_file),
        ScanOptions(_parse_ports(ports_text), credentials=load_credentials(credentials_file)),
        sinks,
        digest,
        rounds,
    )
    inventory = open_inventory(_db(ctx))
    try:
        for result in watch_loop(inventory, plan, ProgressObserver()):
            state = "alert sent" if result.sent else ("collected" if result.events else "quiet")
            click.echo(
                f"round {result.number} (scan {result.scan_id}): "
                f"{len(result.events)} change(s), {state}",
                err=True,
            )
            for event in result.events:
                click.echo(f"  {event.kind.value}: {event.summary}")
            for error in result.errors:
                click.echo(f"  alert not delivered: {error}", err=True)
    finally:
        inventory.close()

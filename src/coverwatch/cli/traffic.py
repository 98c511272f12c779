"""Traffic verification: import captures and flow logs, and per-device egress verdicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from coverwatch.cli.base import (
    ENGINE_OPTION,
    JSONL_HELP,
    MASTER_OPTION,
    ProgressObserver,
    _db,
    _flow_engine,
    _known_site,
    _traffic_dir,
    cli,
    need_pcap,
    one_format,
    print_documents,
    say,
)
from coverwatch.errors import InputError

if TYPE_CHECKING:
    from coverwatch.traffic.engines.interface import FlowEngine


@cli.group()
def traffic() -> None:
    """Verify from traffic what each device sends outside the organisation.

    Import captures (pcap, pcapng) and flow logs (Zeek conn.log + dns.log, NetFlow v5/v9/IPFIX
    as nfcapd files, read through nfdump, or exported by `nfdump -o csv`); then `traffic egress`
    gives each device a measured verdict: no egress observed (with the window and hours of
    coverage), vendor cloud, third party, or unknown destination. Needs the pcap extra:
    pip install -e '.[pcap]'.
    """


@traffic.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--site",
    default="default",
    show_default=True,
    help="Site for the devices the captures reveal (ARP, DHCP, discovery chatter).",
)
@click.pass_context
def traffic_import(ctx: click.Context, files: tuple[str, ...], site: str) -> None:
    """Add FILES to the flow store; captures also yield passive observations of devices
    (ARP, DHCP and every discovery protocol coverwatch speaks: mDNS, SSDP, WS-Discovery,
    SADP, DHIP and the vendors' own, listed in the README), stored in the inventory.

    Damaged records (including times before 1990 or more than a day ahead, impossible counts
    and addresses that are not addresses) are counted and skipped, per file on stderr; a file
    that is not a capture or a supported log is a one-line error, and then nothing is stored.
    """
    need_pcap()
    from coverwatch.models import SourceKind
    from coverwatch.pipeline import record_run
    from coverwatch.store import open_inventory
    from coverwatch.traffic.ingest import ingest
    from coverwatch.traffic.passive import PassiveCollector

    store = _traffic_dir(ctx)
    # One pass per capture: the frames the flow ingest reads also feed passive discovery. A
    # file that fails stores nothing: the flow store swaps its files in only at the end.
    kinds = [(path, _capture_kind(path)) for path in files]
    captures = [path for path, is_capture in kinds if is_capture]
    passive = PassiveCollector()
    report = ingest(list(files), store, on_frame=passive.frame)
    found = passive.finish()
    for file in report.files:
        warnings = ", ".join(f"{count} {reason}" for reason, count in sorted(file.warnings.items()))
        say(
            f"{file.path}: {file.kind.value}, {file.packets} packets/records, "
            f"{file.flows} flows, {file.dns_answers} DNS answers"
            + (f"; skipped: {warnings}" if warnings else "")
        )
    if found:
        inventory = open_inventory(_db(ctx))
        try:
            record_run(
                inventory,
                site,
                {ip: obs for ip, obs in found.items() if obs},
                SourceKind.CAPTURE,
                captures,
                {"files": captures},
                datetime.now(UTC),
                ProgressObserver(),
            )
        finally:
            inventory.close()
    say(f"traffic store {store}: {report.flows} flows added; {len(found)} devices seen passively")


def _capture_kind(path: str) -> bool:
    """Whether a file starts like a pcap or pcapng capture (unreadable ones: ingest says)."""
    from coverwatch.traffic.pcap import sniff

    try:
        with open(path, "rb") as handle:
            return sniff(handle.read(4)) is not None
    except OSError:
        return False


def _window(
    text: str | None, anchor: str, store: str, engine: FlowEngine
) -> tuple[tuple[datetime, datetime] | None, str]:
    """The analysis window and a sentence saying what it is: a duration counts back from the
    data's last record (so a replayed old capture still shows its traffic), or from now with
    ``--window-from now``."""
    if text is None:
        return None, "Window: all the traffic in the store"
    from coverwatch.durations import parse_duration
    from coverwatch.traffic.egress import last_record

    if "/" in text:
        start, _, end = text.partition("/")
        try:
            span = (
                datetime.fromisoformat(start).astimezone(UTC),
                datetime.fromisoformat(end).astimezone(UTC),
            )
        except ValueError as e:
            raise InputError(f"bad window {text!r}: use START/END in ISO 8601 or e.g. 24h") from e
        origin = "as given"
    else:
        seconds = parse_duration(text)
        latest = last_record(store, engine) if anchor == "data" else None
        end_at = latest or datetime.now(UTC)
        span = (end_at - timedelta(seconds=seconds), end_at)
        origin = f"{text} back from " + ("the last record" if latest else "now")
    shown = " .. ".join(f"{at:%Y-%m-%d %H:%M:%S}" for at in span)
    return span, f"Window: {shown} UTC ({origin})"


@traffic.command("egress")
@click.option("--policy", "policy_file", help="Policy with the internal ranges (`internal:`).")
@click.option("--site", help="Only devices of this site.")
@click.option(
    "--window",
    metavar="24h|START/END",
    help="Only traffic in this window: a duration back from the data's last record "
    "(see --window-from), or START/END in ISO 8601.",
)
@click.option(
    "--window-from",
    "window_from",
    type=click.Choice(["data", "now"]),
    default="data",
    show_default=True,
    help="Where a --window duration ends: the last record in the flow store, or now.",
)
@ENGINE_OPTION
@MASTER_OPTION
@click.option("--json", "as_json", is_flag=True, help="Per-device verdicts as JSON.")
@click.option("--jsonl", is_flag=True, help=JSONL_HELP)
@click.pass_context
def traffic_egress(
    ctx: click.Context,
    policy_file: str | None,
    site: str | None,
    window: str | None,
    window_from: str,
    engine: str,
    master: str | None,
    as_json: bool,
    jsonl: bool,
) -> None:
    """Per device: every flow to an address outside the internal ranges, whether it matches
    a known vendor cloud, P2P relay, NTP or update endpoint, bytes, country, first/last seen,
    large uploads and UPnP port mappings; and a verdict."""
    need_pcap()
    one_format(json=as_json, jsonl=jsonl)
    engine_used = _flow_engine(engine, master)
    from coverwatch.pipeline import holds_flows
    from coverwatch.policy.loader import load_policy
    from coverwatch.store import open_inventory
    from coverwatch.traffic.egress import egress

    loaded = load_policy(policy_file)
    inventory = open_inventory(_db(ctx))
    try:
        _known_site(inventory, site)
        devices = inventory.devices(site)
    finally:
        inventory.close()
    store = _traffic_dir(ctx)
    span, statement = _window(window, window_from, store, engine_used)
    internal = [str(n) for n in loaded.internal]
    results = egress(store, devices, internal, span, engine=engine_used)
    if not holds_flows(store):
        say(f"{store}: no flows in this flow store yet (coverwatch traffic import FILE)")
    if as_json or jsonl:
        say(statement)
        print_documents([_egress_json(e) for e in results], jsonl)
        return
    click.echo(statement)
    for e in results:
        flags = (" LARGE UPLOAD" if e.large_uploads else "") + (
            " UPnP PORT MAPPING" if e.port_mappings else ""
        )
        click.echo(
            f"{e.ip:15} {e.maker or 'unknown':12} {e.verdict.value:20} "
            f"{e.coverage_hours:6.1f} h covered{flags}"
        )
        for d in e.destinations:
            known = (
                f"{d.endpoint.operator} {d.endpoint.category.value} (by {d.endpoint.match.value})"
                if d.endpoint
                else "unknown"
            )
            click.echo(
                f"    -> {d.dns_name or d.remote_ip} ({d.remote_ip}, "
                f"{d.country or '??'}) {d.proto}/{d.port} {known}: "
                f"{d.bytes_sent} B out, {d.bytes_received} B in, "
                f"{d.first_seen:%Y-%m-%d %H:%M}..{d.last_seen:%H:%M}"
            )


def _egress_json(e: Any) -> dict[str, Any]:
    from dataclasses import asdict

    document = asdict(e)
    document["verdict"] = e.verdict.value
    return document

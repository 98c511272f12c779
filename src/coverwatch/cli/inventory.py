"""Commands over the inventory: scan, devices, identify, show, import."""

from __future__ import annotations

import csv
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from coverwatch.cli.base import (
    JSONL_HELP,
    MAX_HOSTS_OPTION,
    PORTS_OPTION,
    RATE_OPTION,
    TIMEOUT_OPTION,
    FiniteFloat,
    ProgressObserver,
    _db,
    _fail,
    _known_site,
    _parse_ports,
    cli,
    one_format,
    print_documents,
    say,
)
from coverwatch.errors import InputError
from coverwatch.targets import ip_key

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from coverwatch.importing import ImportRow
    from coverwatch.models import DeviceRecord, SourceKind
    from coverwatch.sources.imports import BadRow


@cli.command()
@click.argument("targets", nargs=-1, required=True)
@click.option("--site", default="default", show_default=True, help="Site label for these hosts.")
@PORTS_OPTION
@click.option(
    "--concurrency",
    default=256,
    show_default=True,
    type=click.IntRange(1, 10000),
    help="Most connections open at once.",
)
@TIMEOUT_OPTION
@RATE_OPTION
@click.option(
    "--credentials",
    "credentials_file",
    type=click.Path(dir_okay=False),
    help="YAML file of device credentials for ONVIF GetDeviceInformation "
    "(else COVERWATCH_USERNAME / COVERWATCH_PASSWORD). Never printed or stored.",
)
@MAX_HOSTS_OPTION
@click.option(
    "--no-probes",
    is_flag=True,
    help="Only find open ports (a connect sweep, like nmap -sT): no banners, no "
    "ONVIF, so makers come from port numbers alone, if at all.",
)
@click.option(
    "--discovery",
    is_flag=True,
    help="Ask the targets with the discovery protocols first (ONVIF WS-Discovery, SSDP, "
    "mDNS and the makers' own: Hikvision SADP, Dahua DHIP, Bosch, Hanwha, Axis, ...; see "
    "'coverwatch discover --help'); with --interface also the local link.",
)
@click.option("--interface", metavar="IF", help="With --discovery: also probe multicast here.")
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
    discovery: bool,
    interface: str | None,
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
        outcome = run_scan(
            list(targets),
            options,
            site,
            inventory,
            ProgressObserver(),
            max_hosts,
            discovery,
            interface,
        )
        # NOTE: the devices this run recorded, read by run: not the whole site's inventory.
        stored = [] if jsonl else inventory.devices(site, run=outcome.scan_id)
    finally:
        inventory.close()
    if jsonl:
        for host in outcome.hosts:
            obj = _flat_observations(host.ip, host.observations)
            click.echo(json.dumps({**obj, **host.attribution.to_json()}))
        return
    video = [h for h in outcome.hosts if h.attribution.covered]
    say(
        f"scan {outcome.scan_id}: {outcome.hosts_scanned} hosts in scope, "
        f"{len(outcome.hosts)} answered, {len(video)} made by a covered entity "
        f"(inventory: {_db(ctx)})"
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
    console = None
    if sys.stdout.isatty() or os.environ.get("FORCE_TERMINAL"):
        from rich.console import Console  # NOTE: only for a terminal: piped output starts faster

        console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    if console is None or not console.is_terminal:
        # Piped: tab-separated with a header, one device per line (cut/awk/sort friendly).
        click.echo("\t".join(_COLUMNS))
        for d in devices:
            row = d.to_json()
            click.echo("\t".join("" if row.get(c) is None else str(row.get(c)) for c in _COLUMNS))
        return
    console.print(device_table(devices, console.width))


def device_table(devices: list[DeviceRecord], width: int) -> Any:
    """The devices as a terminal table ``width`` columns wide (``cli.tables``)."""
    from rich.markup import escape

    from coverwatch.cli.tables import Column, fit_table

    columns = [
        Column("Address", 1, keep=True),
        Column("Site", 4),
        Column("Type", 2, keep=True),
        Column("Maker", 1),
        Column("Brand", 3),
        Column("Model", 2),
        Column("Covered", 1),
        Column("Conf.", 5, keep=True, justify="right"),
        Column("Last seen", 6, keep=True),
    ]
    rows = []
    for d in sorted(devices, key=lambda d: (d.site, ip_key(d.ip))):
        a = d.attribution
        # NOTE: device strings are text, never Rich markup (a model "[red]x" is a model).
        rows.append(
            [
                *map(
                    escape,
                    (
                        d.ip,
                        d.site,
                        a.device_type.value if a.device_type else "?",
                        a.maker or "unknown",
                        a.brand or "",
                        a.model or "",
                    ),
                ),
                f"[red]{escape(a.covered)}[/]" if a.covered else "",
                f"{a.confidence:.2f}",
                d.last_seen.strftime("%Y-%m-%d %H:%M") if d.last_seen else "",
            ]
        )
    return fit_table(columns, rows, width)


@cli.command()
@click.option("--site", help="Only this site (one the inventory knows, else exit code 2).")
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per device.")
@click.option("--jsonl", is_flag=True, help=JSONL_HELP)
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@click.pass_context
def devices(ctx: click.Context, site: str | None, as_json: bool, jsonl: bool, as_csv: bool) -> None:
    """List the inventory: maker, brand, model, covered, confidence, site, last seen.

    One row per device, whatever its address: a device is recognised by its serial number,
    its MAC address within its site, then its address (see README, "One device, one row").

    --json uses identify's field names (ip, mac, maker, brand, model, firmware, device_type,
    covered, confidence, evidence) plus site, open_ports, first_seen, last_seen, id, serial,
    addresses (every address it has held, with first and last seen) and sources (the kinds
    of run that saw it). --csv has the same columns, addresses and sources space-separated.
    """
    one_format(json=as_json, jsonl=jsonl, csv=as_csv)
    from coverwatch.cells import safe_cell
    from coverwatch.store import open_reader

    inventory = open_reader(_db(ctx))
    try:
        _known_site(inventory, site)
        records = inventory.devices(site)
    finally:
        inventory.close()
    if as_json or jsonl:
        print_documents([d.to_json() for d in records], jsonl)
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
            "id",
            "serial",
            "addresses",
            "sources",
        ]
        writer = csv.DictWriter(
            sys.stdout, fieldnames=fields, extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        for d in records:
            row = d.to_json()
            row["open_ports"] = " ".join(map(str, d.open_ports))
            row["addresses"] = " ".join(a.ip for a in d.addresses)
            row["sources"] = " ".join(d.sources)
            # NOTE: device strings could be spreadsheet formulas (OWASP "CSV injection").
            writer.writerow({k: safe_cell(v) if isinstance(v, str) else v for k, v in row.items()})
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
    import orjson

    from coverwatch.identify import attribute, load_knowledge
    from coverwatch.sources.jsonl import read_records

    kb = load_knowledge()
    # NOTE: reading a pipe is streaming (a live feed): each answer goes out at once. A file is
    # a batch: answers are written through the ordinary buffer, which is much faster.
    live = name == "<stdin>" and not stream.seekable()
    sys.stdout.flush()
    out = sys.stdout.buffer
    bad = 0
    for item in read_records(stream):
        if isinstance(item, tuple):
            number, error = item
            bad += 1
            out.flush()
            _fail(f"{name}:{number}: {error}")
            continue
        answer = {**item.data, **attribute(item.signals, kb).to_json()}
        out.write(orjson.dumps(answer, option=orjson.OPT_APPEND_NEWLINE))
        if live:
            out.flush()
    out.flush()
    return bad


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
        _known_site(inventory, site)
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
                    "observations": [o.to_json() for o in result.observations],
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


@cli.group("import")
def import_() -> None:
    """Import observations others collected: an nmap scan, an asset register.

    Imported facts are fused with everything else known about each device; a register is a
    claim to verify (low weight), and where it disagrees with the device's own evidence the
    attribution marks it as conflicting.
    """


_IMPORT_SITE_HELP = (
    "Site of the imported hosts. Default: each host's site in the inventory (by address); "
    "hosts known nowhere go to site 'default', which the output names."
)


def _record_import(
    ctx: click.Context,
    rows: Iterable[ImportRow],
    bad: Sequence[BadRow],
    counts: Callable[[], int],
    notes: Sequence[str],
    kind: SourceKind,
    path: str,
    site: str | None,
) -> None:
    """Record imported rows (streamed: see ``importing``) and say what went where."""
    from coverwatch.importing import record_import
    from coverwatch.store import open_inventory

    inventory = open_inventory(_db(ctx))
    try:
        tally = record_import(
            inventory,
            rows,
            kind,
            path,
            site,
            lambda: {"file": path, "rows": counts(), "bad_rows": len(bad)},
            ProgressObserver(),
        )
    finally:
        inventory.close()
    for row in bad:
        say(f"coverwatch: warning: {row}")
    for note in notes:
        say(f"coverwatch: note: {path}: {note}")
    ids = ", ".join(str(t.run_id) for _, t in sorted(tally.sites.items()))
    per_site = "; ".join(
        f"{'new ' if target in tally.new_sites else ''}site {target}: {t.hosts}"
        for target, t in sorted(tally.sites.items())
    )
    disagreeing = sum(t.disagreeing for t in tally.sites.values())
    say(
        f"import {ids}: {path}: {tally.hosts} hosts recorded ({per_site}), "
        f"{len(bad)} bad rows skipped, {disagreeing} hosts where the import "
        "disagrees with other evidence"
    )
    for target, t in sorted(tally.sites.items()):
        if t.unplaced:
            state = "new site" if target in tally.new_sites else "site"
            say(
                f"coverwatch: note: {t.unplaced} host(s) known in no site were recorded in "
                f"{state} {target!r}; give --site (or a site column) to choose"
            )


@import_.command("nmap")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--site", help=_IMPORT_SITE_HELP)
@click.pass_context
def import_nmap(ctx: click.Context, file: str, site: str | None) -> None:
    """Import nmap XML (-oX; with or without -sV; MACs from LAN scans).

    \b
    Example: coverwatch import nmap lan.xml --site hq
    """
    from coverwatch.models import SourceKind
    from coverwatch.sources.nmap import nmap_rows

    rows, reader = nmap_rows(file)
    _record_import(
        ctx,
        ((None, ip, obs) for ip, obs in rows),
        reader.bad,
        lambda: reader.count,
        reader.notes,
        SourceKind.IMPORT,
        file,
        site,
    )


@import_.command("csv")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--map",
    "mapping",
    required=True,
    metavar="FIELD=COLUMN,...",
    help="Which column holds which field: ip (required), mac, brand, maker, model, "
    "site, serial, hostname. E.g. 'ip=IP Address,mac=MAC,brand=Make'.",
)
@click.option(
    "--site",
    help=_IMPORT_SITE_HELP + " A row's own site (the column mapped to site) comes first.",
)
@click.option(
    "--sheet",
    metavar="NAME|N",
    help="XLSX sheet to read, by name or number from 1 (default: the first sheet whose "
    "header holds the mapped columns).",
)
@click.option(
    "--header-row",
    type=click.IntRange(1),
    metavar="N",
    help="Row number of the header (default: the first row, among the first 50, holding "
    "every mapped column).",
)
@click.pass_context
def import_csv(
    ctx: click.Context,
    file: str,
    mapping: str,
    site: str | None,
    sheet: str | None,
    header_row: int | None,
) -> None:
    """Import an asset register (CSV or XLSX) with a column mapping.

    Title rows above the header are skipped: the header is found by the mapped column names
    (or given with --header-row), on the first sheet that has it (or the one --sheet names).

    Each row is recorded in the site its site column names (site=Column in --map), else in
    --site, else in the site already holding its address, else in site 'default'.

    \b
    Example: coverwatch import csv assets.xlsx --map "ip=IP Address,brand=Make,site=Location"
    """
    from coverwatch.models import SourceKind
    from coverwatch.sources.register import parse_mapping, register_rows

    bad: list[BadRow] = []
    counts: dict[str, int] = {}
    rows = register_rows(file, parse_mapping(mapping), bad, counts, sheet, header_row)
    _record_import(ctx, rows, bad, lambda: counts["read"], (), SourceKind.REGISTER, file, site)


@cli.command()
@click.argument("targets", nargs=-1)
@click.option(
    "--interface",
    metavar="IF",
    help="Also probe multicast on this interface (local link only, TTL 1).",
)
@click.option(
    "--timeout",
    default=3.0,
    show_default=True,
    type=FiniteFloat(0.1, 60),
    help="Seconds to collect replies.",
)
@click.option(
    "--site", default="default", show_default=True, help="Site label for the hosts that answer."
)
@MAX_HOSTS_OPTION
@click.option("--jsonl", is_flag=True, help="Print one JSON object per answering host.")
@click.pass_context
def discover(
    ctx: click.Context,
    targets: tuple[str, ...],
    interface: str | None,
    timeout: float,
    site: str,
    max_hosts: int,
    jsonl: bool,
) -> None:
    """Ask devices to introduce themselves: ONVIF WS-Discovery (UDP 3702), SSDP/UPnP (1900,
    then the device description), mDNS (5353) and the makers' own protocols: Hikvision SADP
    (37020), Dahua DHIP (37810) and its older protocol (5050), Bosch (1757), Hanwha (7701),
    Vivotek (10000), Sony (2380), Panasonic (10670), Ubiquiti (10001), 360 Vision, NiceVision,
    GigE Vision (3956), Vstarcam and Xiongmai NetSurveillance (34569). The README lists what
    each sends.

    TARGETS are asked directly (unicast, no privileges needed); --interface asks the local
    link (multicast). Give either or both. Answers are stored in the inventory as a
    discovery run and fused with everything else known about each device.

    \b
    Example: coverwatch discover --interface eth0 --site hq
             coverwatch discover 10.1.20.0/24 --timeout 5
    """
    from coverwatch.pipeline import run_discovery
    from coverwatch.store import open_inventory
    from coverwatch.targets import expand_targets

    hosts = expand_targets(list(targets), max_hosts) if targets else None
    if hosts is None and interface is None:
        raise click.UsageError("give TARGETS to ask, --interface to search the link, or both")
    inventory = open_inventory(_db(ctx))
    try:
        scan_id, results = run_discovery(
            inventory,
            site,
            hosts,
            interface,
            timeout,
            ProgressObserver(),
            list(targets) or [f"multicast on {interface}"],
        )
        stored = [] if jsonl else inventory.devices(site, run=scan_id)
    finally:
        inventory.close()
    if jsonl:
        for host in results:
            obj = _flat_observations(host.ip, host.observations)
            click.echo(json.dumps({**obj, **host.attribution.to_json()}))
        return
    say(f"discovery {scan_id}: {len(results)} devices answered (inventory: {_db(ctx)})")
    _print_devices(stored)

"""Policies, audits, reports, the list of runs and the differences between runs."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from coverwatch.cli.base import (
    ENGINE_OPTION,
    JSONL_HELP,
    MASTER_OPTION,
    FiniteFloat,
    _db,
    _flow_engine,
    _known_site,
    _traffic_dir,
    cli,
    one_format,
    print_documents,
    say,
)
from coverwatch.errors import InputError
from coverwatch.models import SourceKind
from coverwatch.targets import ip_key

if TYPE_CHECKING:
    from coverwatch.models import ScanRecord

SEVERITIES = ("info", "low", "medium", "high", "critical")


@cli.group()
def policy() -> None:
    """Validate and show policies (zones, rules, waivers as YAML).

    A site policy that has no `rules:` key uses the default rules and adds its own zones,
    waivers and unit costs.
    """


@policy.command("check")
@click.argument("file")
def policy_check(file: str) -> None:
    """Validate FILE; every error is reported, each naming the file, line and field (exit
    code 2)."""
    from datetime import date

    from coverwatch.policy.interface import PolicyError
    from coverwatch.policy.loader import load_policy

    try:
        loaded = load_policy(file)
    except PolicyError as e:
        for problem in e.problems:
            click.echo(f"coverwatch: error: {problem}", err=True)
        if len(e.problems) > 1:
            click.echo(f"{file}: {len(e.problems)} problems", err=True)
        sys.exit(2)
    expired = sum(1 for w in loaded.waivers if not w.active(date.today()))
    click.echo(
        f"{file}: valid policy {loaded.name!r} version {loaded.version}: "
        f"{len(loaded.zones)} zones, {len(loaded.rules)} rules, {len(loaded.waivers)} waivers"
        f"{f' ({expired} expired)' if expired else ''}"
    )


@policy.command("show")
@click.option("--policy", "policy_file", help="Policy file (default: the shipped policy).")
@click.option("--json", "as_json", is_flag=True, help="Print it as one JSON object instead.")
def policy_show(policy_file: str | None, as_json: bool) -> None:
    """Print the effective policy (defaults filled in) as YAML, or JSON with --json."""
    import yaml

    from coverwatch.policy.loader import load_policy
    from coverwatch.policy.model import policy_document

    document = policy_document(load_policy(policy_file))
    if as_json:
        click.echo(json.dumps(document, indent=2, default=str))
        return
    click.echo(yaml.safe_dump(document, sort_keys=False, width=100), nl=False)


@cli.command()
@click.option("--policy", "policy_file", help="Policy file (default: the shipped policy).")
@click.option("--site", help="Only devices of this site (one the inventory knows, else exit 2).")
@click.option(
    "--fail-on",
    type=click.Choice([*SEVERITIES, "none"]),
    default="none",
    show_default=True,
    help="Exit with code 1 when an open finding is at or above this severity.",
)
@ENGINE_OPTION
@MASTER_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON array.")
@click.option("--jsonl", is_flag=True, help=JSONL_HELP)
@click.pass_context
def audit(
    ctx: click.Context,
    policy_file: str | None,
    site: str | None,
    fail_on: str,
    engine: str,
    master: str | None,
    as_json: bool,
    jsonl: bool,
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
    one_format(json=as_json, jsonl=jsonl)
    engine_used = _flow_engine(engine, master)
    from coverwatch.pipeline import run_audit
    from coverwatch.policy.engine import worst_open
    from coverwatch.policy.loader import load_policy
    from coverwatch.policy.model import FindingStatus, Severity, finding_to_json
    from coverwatch.store import open_inventory

    loaded = load_policy(policy_file)
    inventory = open_inventory(_db(ctx))
    try:
        _known_site(inventory, site)
        outcome = run_audit(
            inventory, loaded, site, traffic_dir=_traffic_dir(ctx), engine=engine_used
        )
    finally:
        inventory.close()
    findings = sorted(
        outcome.findings, key=lambda f: (-f.severity.rank, f.site, ip_key(f.ip), f.rule)
    )
    if as_json or jsonl:
        print_documents([finding_to_json(f) for f in findings], jsonl)
    else:
        _print_findings(findings)
    counts = {s: sum(1 for f in findings if f.status is s) for s in FindingStatus}
    say(
        f"audit {outcome.audit_id}: {outcome.devices} devices, "
        f"{counts[FindingStatus.OPEN]} open, {counts[FindingStatus.WAIVED]} waived, "
        f"{counts[FindingStatus.UNVERIFIED]} unverified findings (policy {loaded.name} "
        f"{loaded.version})"
    )
    worst = worst_open(findings)
    if fail_on != "none" and worst and worst.severity.rank >= Severity(fail_on).rank:
        sys.exit(1)


def _print_findings(findings: list[Any]) -> None:
    from rich.console import Console

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
    console.print(findings_table(findings, console.width))


def findings_table(findings: list[Any], width: int) -> Any:
    """The findings as a terminal table ``width`` columns wide (``cli.tables``)."""
    from rich.markup import escape

    from coverwatch.cli.tables import Column, fit_table

    columns = [
        Column("Severity", 1, keep=True),
        Column("Status", 2, keep=True),
        Column("Site", 4),
        Column("Address", 1, keep=True),
        Column("Rule", 3),
        Column("Finding", 1),
    ]
    colours = {"critical": "bold red", "high": "red", "medium": "yellow"}
    rows, styles = [], []
    for f in findings:
        styles.append(colours.get(f.severity.value, "") if f.status.value == "open" else "dim")
        rows.append(
            [
                f.severity.value,
                f.status.value,
                escape(f.site),
                f.ip,
                escape(f.rule),
                escape(f"{f.title}\n{f.detail}"),
            ]
        )
    return fit_table(columns, rows, width, styles=styles)


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "json", "csv", "md", "summary"]),
    default="html",
    show_default=True,
    help="html: self-contained page; json: versioned schema; csv: one row per finding; "
    "md: headline counts for a ticket; summary: the one-page executive summary.",
)
@click.option(
    "--summary",
    is_flag=True,
    help="The one-page executive summary (as --format summary): HTML, or PDF printed by "
    "Chromium when --out ends in .pdf.",
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="File to write (replaced whole)."
)
@click.option("--policy", "policy_file", help="Policy file (default: the shipped policy).")
@click.option("--site", help="Only devices of this site (one the inventory knows, else exit 2).")
@click.option(
    "--unit-cost",
    type=FiniteFloat(0, None),
    help="Replacement cost per device where the policy's unit_costs give none.",
)
@click.option(
    "--title",
    default="coverwatch audit report",
    show_default=True,
    help="Title printed at the top of the report.",
)
@ENGINE_OPTION
@MASTER_OPTION
@click.pass_context
def report(
    ctx: click.Context,
    fmt: str,
    out: str,
    policy_file: str | None,
    site: str | None,
    unit_cost: float | None,
    title: str,
    summary: bool,
    engine: str,
    master: str | None,
) -> None:
    """Write the compliance report: html (self-contained), json (versioned schema), csv (one
    row per finding) or md (a summary for a ticket). HTML, JSON and Markdown state in their
    header which sites they cover (--site, else all); CSV rows each name their site.

    The findings are those the policy gives for the inventory now (as `audit` computes them).

    --summary writes one A4 page for management to read and sign: headline numbers, the
    worst findings, the plan and its cost, waivers expiring, sources, a sign-off block.

    \b
    Example: coverwatch report --policy site.yaml --format html --out audit.html
             coverwatch report --policy site.yaml --summary --out summary.pdf
    """

    from coverwatch.pipeline import build_report_data
    from coverwatch.policy.loader import load_policy
    from coverwatch.report import Format, write_report
    from coverwatch.store import open_inventory

    if summary and fmt not in ("html", "summary"):
        raise click.UsageError("--summary is a page of its own: leave out --format")
    chosen = Format.SUMMARY if summary else Format(fmt)
    if chosen is not Format.SUMMARY and out.lower().endswith(".pdf"):
        raise click.UsageError("only the summary prints to PDF: add --summary")
    loaded = load_policy(policy_file)
    inventory = open_inventory(_db(ctx))
    try:
        _known_site(inventory, site)
        data = build_report_data(
            inventory,
            loaded,
            site,
            title,
            unit_cost,
            traffic_dir=_traffic_dir(ctx),
            engine=_flow_engine(engine, master),
        )
    finally:
        inventory.close()
    path = write_report(data, chosen, Path(out))
    click.echo(f"Report: {path.resolve()}")


def _run_json(run: ScanRecord, counts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One run as ``runs --json`` and ``diff --json`` name it."""
    document: dict[str, Any] = {
        "id": run.id,
        "kind": run.kind,
        "site": run.site,
        "targets": run.targets,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "hosts_found": run.hosts_found,
    }
    if counts is not None:
        document.update(
            devices=counts["devices"],
            video_devices=counts["video_devices"],
            covered=counts["covered"],
            options=run.options,
        )
    return document


def _run_label(run: ScanRecord) -> str:
    targets = ", ".join(run.targets[:3]) + (
        f" +{len(run.targets) - 3}" if len(run.targets) > 3 else ""
    )
    return (
        f"{run.kind} run {run.id} ({run.started_at:%Y-%m-%d %H:%M} UTC, site {run.site}, "
        f"targets {targets or '-'})"
    )


@cli.command()
@click.option("--site", help="Only runs of this site (one the inventory knows, else exit 2).")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in SourceKind]),
    help="Only runs of this kind.",
)
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per run.")
@click.option("--jsonl", is_flag=True, help=JSONL_HELP)
@click.pass_context
def runs(
    ctx: click.Context, site: str | None, kind: str | None, as_json: bool, jsonl: bool
) -> None:
    """List the recorded runs, oldest first: scans, discoveries, imports and captures, each
    with its kind, site, targets and counts (hosts recorded, video devices, covered).

    The run ids are what `diff RUN_A RUN_B` compares.

    \b
    Example: coverwatch runs --site hq --kind scan
    """
    from coverwatch.store import open_inventory

    one_format(json=as_json, jsonl=jsonl)
    inventory = open_inventory(_db(ctx))
    try:
        _known_site(inventory, site)
        records = inventory.scans()
        counts = {point["scan_id"]: point for point in inventory.history()}
    finally:
        inventory.close()
    selected = [
        r for r in records if (site is None or r.site == site) and (kind is None or r.kind == kind)
    ]
    empty = {"devices": 0, "video_devices": 0, "covered": 0}
    documents = [_run_json(r, counts.get(r.id, empty)) for r in selected]
    if as_json or jsonl:
        print_documents(documents, jsonl)
        return
    columns = ("id", "kind", "site", "started_at", "hosts", "video", "covered", "targets")
    click.echo("\t".join(columns))
    for r, d in zip(selected, documents, strict=True):
        click.echo(
            "\t".join(
                [
                    str(r.id),
                    r.kind,
                    r.site,
                    f"{r.started_at:%Y-%m-%d %H:%M}",
                    str(r.hosts_found),
                    str(d["video_devices"]),
                    str(d["covered"]),
                    " ".join(r.targets),
                ]
            )
        )


def _choose_runs(
    records: list[ScanRecord],
    scan_a: int | None,
    scan_b: int | None,
    site: str | None,
    kind: str | None,
) -> tuple[ScanRecord, ScanRecord]:
    """The two runs ``diff`` compares: those given, else the latest comparable pair among the
    runs of ``site`` and ``kind`` (when given)."""
    by_id = {r.id: r for r in records}
    if scan_a is not None and scan_b is not None:
        for number in (scan_a, scan_b):
            if number not in by_id:
                raise InputError(
                    f"no run {number} in the inventory (runs: "
                    f"{', '.join(map(str, list(by_id)[-10:])) or 'none'}; see coverwatch runs)"
                )
        return by_id[scan_a], by_id[scan_b]
    if scan_a is not None:
        raise InputError("give two runs (RUN_A RUN_B), or none for the latest comparable pair")
    from coverwatch.pipeline import latest_comparable_runs

    pair = latest_comparable_runs(records, site, kind)
    if pair is None:
        raise InputError(
            "diff needs two runs of the same kind and site: scan twice, or give RUN_A RUN_B "
            "(see coverwatch runs)"
        )
    return pair


@cli.command()
@click.argument("scan_a", required=False, type=int, metavar="[RUN_A]")
@click.argument("scan_b", required=False, type=int, metavar="[RUN_B]")
@click.option("--policy", "policy_file", help="Policy for new/resolved findings.")
@click.option("--site", help="Default pair: only runs of this site (one the inventory knows).")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in SourceKind]),
    help="Default pair: only runs of this kind.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the difference as JSON.")
@click.pass_context
def diff(
    ctx: click.Context,
    scan_a: int | None,
    scan_b: int | None,
    policy_file: str | None,
    site: str | None,
    kind: str | None,
    as_json: bool,
) -> None:
    """What changed between two runs: devices added, removed, or changed in identity,
    firmware or ports; findings new and resolved.

    Without RUN_A RUN_B: the latest run that has an earlier run of the same kind and scope
    (site and targets), against that earlier run; failing that, the last two runs of one kind
    and site (with a note that their targets differ). A discovery is never compared with a
    scan, nor one site with another. The first line names the two runs compared.

    \b
    Example: coverwatch diff --site hq --kind scan
    """
    from coverwatch.pipeline import diff_scans
    from coverwatch.policy.loader import load_policy
    from coverwatch.report.common import numeric_diff
    from coverwatch.store import open_inventory

    loaded = load_policy(policy_file)
    inventory = open_inventory(_db(ctx))
    try:
        _known_site(inventory, site)
        before, after = _choose_runs(inventory.scans(), scan_a, scan_b, site, kind)
        result = diff_scans(inventory, before.id, after.id, loaded)
    finally:
        inventory.close()
    result = numeric_diff(result)  # one numeric address order everywhere
    comparable = before.scope == after.scope
    if not comparable:
        what = (
            "targets" if (before.kind, before.site) == (after.kind, after.site) else "kind or site"
        )
        say(
            f"coverwatch: note: the runs compared differ in {what}: devices only one of them "
            "looked for show as added or removed"
        )
    if as_json:
        document = {
            **result.to_json(),
            "before_run": _run_json(before),
            "after_run": _run_json(after),
            "same_scope": comparable,
        }
        click.echo(json.dumps(document, indent=2, default=str))
        return
    click.echo(f"{_run_label(before)} -> {_run_label(after)}")
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

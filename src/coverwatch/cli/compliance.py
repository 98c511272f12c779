"""Policies, audits, reports and scan differences."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from coverwatch.cli.base import FiniteFloat, _db, _traffic_dir, cli
from coverwatch.errors import InputError

if TYPE_CHECKING:
    pass

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
    from coverwatch.policy.model import policy_document

    document = policy_document(load_policy(policy_file))
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
        outcome = run_audit(inventory, loaded, site, traffic_dir=_traffic_dir(ctx))
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
    from rich.markup import escape
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
            f.severity.value,
            f.status.value,
            f.ip,
            escape(f.rule),
            escape(f"{f.title}\n{f.detail}"),
            style=style,
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
    type=FiniteFloat(0, None),
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
        data = build_report_data(
            inventory, loaded, site, title, unit_cost, traffic_dir=_traffic_dir(ctx)
        )
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
        click.echo(json.dumps(result.to_json(), indent=2, default=str))
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

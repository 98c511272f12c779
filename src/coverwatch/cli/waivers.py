"""Waivers from the command line: grant, list and revoke, with an audit trail."""

from __future__ import annotations

import getpass
import json
from datetime import date, datetime
from typing import TYPE_CHECKING

import click

from coverwatch.cli.base import JSONL_HELP, _db, cli, one_format, print_documents, say
from coverwatch.errors import InputError

if TYPE_CHECKING:
    from coverwatch.waivers import WaiverEntry

_POLICY_HELP = "Policy file whose rules and waivers apply (default: the shipped policy)."
_AUTHOR_HELP = "Who makes this change, recorded with the waiver (default: your OS user name)."


@cli.group()
def waiver() -> None:
    """Waivers with an audit trail: grant, list and revoke.

    A waiver in the policy file changes with the file. One granted here, in the dashboard or
    through the API is stored in the inventory with its author and time; revoking it keeps it
    (with who revoked it and when) and opens its finding again at the next audit.
    """


def _author(given: str | None) -> str:
    if given is not None:
        return given
    try:
        return getpass.getuser()
    except (OSError, KeyError) as e:  # no login name and no passwd entry (some containers)
        raise InputError("--author: your user name is unknown here; give --author NAME") from e


def _echo(entry: WaiverEntry, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(entry.to_json(), indent=2))


@waiver.command("add")
@click.option("--rule", required=True, help="Rule id of the policy to waive (see `policy show`).")
@click.option("--device", required=True, help="The device's address (one the inventory knows).")
@click.option("--site", help="The device's site, when the address is in several.")
@click.option("--reason", required=True, help="Why the exception is accepted.")
@click.option("--approver", required=True, help="Who accepted it (e.g. Head of Security).")
@click.option(
    "--expires",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day it is valid (YYYY-MM-DD, at most three years ahead).",
)
@click.option("--author", help=_AUTHOR_HELP)
@click.option("--policy", "policy_file", help=_POLICY_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the stored waiver as JSON.")
@click.pass_context
def waiver_add(
    ctx: click.Context,
    rule: str,
    device: str,
    site: str | None,
    reason: str,
    approver: str,
    expires: datetime,
    author: str | None,
    policy_file: str | None,
    as_json: bool,
) -> None:
    """Waive one rule for one device until a date; its finding is "waived" from the next audit."""
    from coverwatch.policy.loader import load_policy
    from coverwatch.store import open_inventory
    from coverwatch.waivers import WaiverRequest, grant

    policy = load_policy(policy_file)
    until = expires.date()
    ask = WaiverRequest(rule, device, site, reason, approver, until)
    inventory = open_inventory(_db(ctx))
    try:
        entry = grant(inventory, policy, ask, _author(author), date.today())
    finally:
        inventory.close()
    _echo(entry, as_json)
    say(f"Waiver {entry.id}: {entry.rule} for {entry.device} until {until.isoformat()}.")


@waiver.command("list")
@click.option("--policy", "policy_file", help=_POLICY_HELP)
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per waiver.")
@click.option("--jsonl", is_flag=True, help=JSONL_HELP)
@click.pass_context
def waiver_list(ctx: click.Context, policy_file: str | None, as_json: bool, jsonl: bool) -> None:
    """Every waiver: the policy file's, then the stored ones (revoked included), with state
    active, expired or revoked."""
    from coverwatch.policy.loader import load_policy
    from coverwatch.store import open_inventory
    from coverwatch.waivers import list_waivers

    one_format(json=as_json, jsonl=jsonl)
    policy = load_policy(policy_file)
    inventory = open_inventory(_db(ctx))
    try:
        found = list_waivers(policy, inventory, date.today())
    finally:
        inventory.close()
    if as_json or jsonl:
        print_documents([w.to_json() for w in found], jsonl)
        return
    for w in found:
        covers = w.device or (f"zone {w.zone}" if w.zone else f"maker {w.maker}")
        who = "policy file" if w.id is None else (w.author or "-")
        state = w.state.value + (f" by {w.revoked_by}" if w.revoked_by else "")
        click.echo(
            f"{w.id or '-'}\t{w.rule}\t{covers}\t{w.expires.isoformat()}\t{who}\t{state}"
            f"\t{w.reason}"
        )


@waiver.command("revoke")
@click.argument("waiver_id", type=click.IntRange(min=1))
@click.option("--author", help=_AUTHOR_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the revoked waiver as JSON.")
@click.pass_context
def waiver_revoke(ctx: click.Context, waiver_id: int, author: str | None, as_json: bool) -> None:
    """Revoke a stored waiver (see `waiver list`); it is kept, with who revoked it and when."""
    from coverwatch.store import open_inventory
    from coverwatch.waivers import revoke

    inventory = open_inventory(_db(ctx))
    try:
        entry = revoke(inventory, waiver_id, _author(author), date.today())
    finally:
        inventory.close()
    _echo(entry, as_json)
    say(f"Waiver {waiver_id} revoked ({entry.rule} for {entry.device}).")

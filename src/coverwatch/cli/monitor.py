"""Continuous monitoring (watch) and API tokens."""

from __future__ import annotations

import os

import click

from coverwatch.cli.base import (
    JSONL_HELP,
    ProgressObserver,
    _db,
    _parse_ports,
    _traffic_dir,
    cli,
    one_format,
    print_documents,
    say,
)
from coverwatch.errors import InputError
from coverwatch.monitor.options import SmtpSecurity, SyslogFormat, WebhookShape
from coverwatch.targets import DEFAULT_PORTS


@cli.group()
def token() -> None:
    """API tokens for the web dashboard and REST API (stored hashed; shown once)."""


@token.command("create")
@click.option(
    "--role",
    type=click.Choice(["viewer", "admin", "sensor"]),
    required=True,
    help="viewer: read-only; admin: may also waive findings; sensor: may only send the runs "
    "of its --site sites (coverwatch sensor).",
)
@click.option("--name", default="", help="A label to recognise the token by (e.g. a person).")
@click.option(
    "--site",
    "sites",
    multiple=True,
    help="A site a sensor token may write (repeatable; required with --role sensor).",
)
@click.pass_context
def token_create(ctx: click.Context, role: str, name: str, sites: tuple[str, ...]) -> None:
    """Create a token and print it (the only time it is shown).

    \b
    Example: coverwatch token create --role sensor --site depot --name depot-sensor
    """
    from coverwatch.store import open_inventory

    if role == "sensor" and not any(s.strip() for s in sites):
        raise InputError("--role sensor needs at least one --site it may write")
    if role != "sensor" and sites:
        raise InputError(f"--site: only sensor tokens are bound to sites, not {role} tokens")
    inventory = open_inventory(_db(ctx))
    try:
        value = inventory.create_token(name or role, role, tuple(s.strip() for s in sites))
    finally:
        inventory.close()
    click.echo(value)
    article = "an" if role[:1] in "aeiou" else "a"
    say(f"Created {article} {role} token; store it now: coverwatch keeps only its hash.")


@token.command("list")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="A JSON array: id, name, role, created_at, revoked, sites (a sensor's).",
)
@click.option("--jsonl", is_flag=True, help=JSONL_HELP)
@click.pass_context
def token_list(ctx: click.Context, as_json: bool, jsonl: bool) -> None:
    """List tokens (id, name, role, created, revoked); never the tokens themselves."""
    from coverwatch.store import open_inventory

    one_format(json=as_json, jsonl=jsonl)
    inventory = open_inventory(_db(ctx))
    try:
        found = inventory.tokens()
    finally:
        inventory.close()
    if as_json or jsonl:
        print_documents(
            [
                {
                    "id": t["id"],
                    "name": t["name"],
                    "role": t["role"],
                    "created_at": t["created_at"].isoformat(),
                    "revoked": bool(t["revoked"]),
                    "sites": t["sites"],
                }
                for t in found
            ],
            jsonl,
        )
        return
    for t in found:
        state = "revoked" if t["revoked"] else "active"
        sites = f"\t{','.join(t['sites'])}" if t["sites"] else ""
        line = f"{t['id']}\t{t['name']}\t{t['role']}\t{t['created_at']:%Y-%m-%d}\t{state}"
        click.echo(line + sites)


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
    say(f"Token {token_id} revoked.")


def _host_port(text: str, default: int, what: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    host = host or text
    try:
        return host.strip("[]"), int(port) if port else default
    except ValueError as e:
        raise click.BadParameter(f"{what} {text!r}: expected HOST or HOST:PORT") from e


def _print_event_schema(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from coverwatch.monitor.events import event_schema

    click.echo(event_schema(), nl=False)
    ctx.exit()


@cli.command()
@click.argument("targets", nargs=-1)
@click.option("--every", help="Time between rounds: 30s, 15m, 1h, 1d (default 1h).")
@click.option("--rounds", type=click.IntRange(1, None), help="Stop after N rounds.")
@click.option("--site", help="Site label (default: the policy's watch site, else 'default').")
@click.option(
    "--policy",
    "policy_file",
    help="Policy file; its watch: block gives the defaults of every option here.",
)
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
    help="Send one RFC 5424 syslog message per change; HOST[:PORT] is UDP, or give "
    "tcp://HOST[:PORT] or tls://HOST[:PORT] (6514). Repeatable.",
)
@click.option(
    "--webhook-format",
    type=click.Choice([s.value for s in WebhookShape]),
    help="Body of each POST: coverwatch (the event documents), splunk-hec, slack or teams "
    "(default coverwatch).",
)
@click.option(
    "--webhook-header",
    "webhook_headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="Extra HTTP header for every webhook; ${VAR} in VALUE is read from the environment, "
    "e.g. 'Authorization: Splunk ${SPLUNK_HEC_TOKEN}'. Repeatable.",
)
@click.option(
    "--syslog-format",
    type=click.Choice([f.value for f in SyslogFormat]),
    help="Payload of each RFC 5424 syslog message: plain text, cef or json (default plain).",
)
@click.option("--email", multiple=True, metavar="ADDRESS", help="E-mail alerts to ADDRESS.")
@click.option("--smtp", metavar="HOST[:PORT]", help="SMTP relay for --email (localhost:25).")
@click.option(
    "--smtp-security",
    type=click.Choice([s.value for s in SmtpSecurity]),
    help="none, starttls (upgrade a plain connection) or ssl (implicit TLS, usually port "
    "465); default none.",
)
@click.option(
    "--smtp-user",
    metavar="USER",
    help="Log in to the relay as USER (password from COVERWATCH_SMTP_PASSWORD; TLS only).",
)
@click.option(
    "--tls-ca",
    type=click.Path(dir_okay=False),
    help="CA bundle (PEM) to verify TLS syslog, SMTP and HTTPS webhook servers "
    "(default: the system's).",
)
@click.option("--from", "sender", help="Sender of alert e-mails (coverwatch@localhost).")
@click.option(
    "--event-schema",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_event_schema,
    help="Print the JSON Schema of the alert event document every sink sends, and exit.",
)
@click.option(
    "--digest",
    is_flag=True,
    help="Send one daily digest of the day's changes instead of an alert per round.",
)
@click.pass_context
def watch(
    ctx: click.Context,
    targets: tuple[str, ...],
    every: str | None,
    rounds: int | None,
    site: str | None,
    policy_file: str | None,
    ports_text: str,
    credentials_file: str | None,
    webhook: tuple[str, ...],
    syslog_to: tuple[str, ...],
    webhook_format: str | None,
    webhook_headers: tuple[str, ...],
    syslog_format: str | None,
    email: tuple[str, ...],
    smtp: str | None,
    smtp_security: str | None,
    smtp_user: str | None,
    tls_ca: str | None,
    sender: str | None,
    digest: bool,
) -> None:
    """Re-scan and re-audit TARGETS on a schedule and alert on changes: new device, new
    covered device, identity or firmware change, new finding.

    Each round is compared with the previous round's stored audit, so an open finding or an
    egress destination is announced once. Firmware and model are compared as the maker writes
    them (a build string spelt differently is not a change), and an uncredentialed round keeps
    what an earlier credentialed scan established (for 90 days). The first round on an empty
    inventory is the baseline and alerts on nothing. Ctrl-C
    stops the loop (a pending digest is sent first). A policy's `watch:` block (targets,
    site, every, digest, webhook, webhook_format, webhook_headers, syslog, syslog_format,
    email, smtp, smtp_security, smtp_user, tls_ca, from) is the schedule when TARGETS and
    options are not given on the command line. Every sink sends the same versioned event
    document (its JSON Schema: `coverwatch watch --event-schema`).

    \b
    Example: coverwatch watch 10.1.20.0/24 --site hq --every 1h \\
               --webhook https://hooks.example/cw --syslog siem.local --email soc@example.org
    """
    from coverwatch.credentials import load_credentials
    from coverwatch.durations import parse_duration
    from coverwatch.monitor.sinks import (
        AlertSink,
        EmailSink,
        SyslogSink,
        WebhookSink,
        parse_header,
        parse_syslog_target,
    )
    from coverwatch.monitor.watch import WatchPlan
    from coverwatch.monitor.watch import watch as watch_loop
    from coverwatch.policy.loader import load_policy
    from coverwatch.sources.active import ScanOptions
    from coverwatch.store import open_inventory

    policy = load_policy(policy_file)
    schedule = policy.watch

    def listed(given: tuple[str, ...], key: str) -> list[str]:
        default = schedule.get(key, [])
        return list(given) or (list(default) if isinstance(default, list) else [])

    def text(given: str | None, key: str, fallback: str) -> str:
        return given or str(schedule.get(key) or fallback)

    scope = listed(targets, "targets")
    if not scope:
        raise click.UsageError("give TARGETS, or a policy whose watch: block lists targets")
    ca = tls_ca or (str(schedule["tls_ca"]) if schedule.get("tls_ca") else None)
    headers = dict(
        parse_header(h, dict(os.environ)) for h in listed(webhook_headers, "webhook_headers")
    )
    shape = WebhookShape(text(webhook_format, "webhook_format", "coverwatch"))
    sinks: list[AlertSink] = [
        WebhookSink(url, headers=headers, shape=shape, ca_file=ca)
        for url in listed(webhook, "webhook")
    ]
    payload = SyslogFormat(text(syslog_format, "syslog_format", "plain"))
    for given in listed(syslog_to, "syslog"):
        target = parse_syslog_target(given)
        sinks.append(SyslogSink(target.host, target.port, payload, target.transport, ca))
    if listed(email, "email"):
        relay = _host_port(text(smtp, "smtp", "localhost:25"), 25, "--smtp")
        user = smtp_user or (str(schedule["smtp_user"]) if schedule.get("smtp_user") else None)
        sinks.append(
            EmailSink(
                listed(email, "email"),
                *relay,
                sender=text(sender, "from", "coverwatch@localhost"),
                security=SmtpSecurity(text(smtp_security, "smtp_security", "none")),
                username=user,
                password=os.environ.get("COVERWATCH_SMTP_PASSWORD"),
                ca_file=ca,
            )
        )
    plan = WatchPlan(
        scope,
        text(site, "site", "default"),
        parse_duration(text(every, "every", "1h")),
        policy,
        ScanOptions(_parse_ports(ports_text), credentials=load_credentials(credentials_file)),
        sinks,
        digest or bool(schedule.get("digest", False)),
        rounds,
        _traffic_dir(ctx),
    )
    inventory = open_inventory(_db(ctx))
    try:
        for result in watch_loop(inventory, plan, ProgressObserver()):
            state = "alert sent" if result.sent else ("collected" if result.events else "quiet")
            say(
                f"round {result.number} (scan {result.scan_id}): "
                f"{len(result.events)} change(s), {state}"
            )
            for event in result.events:
                click.echo(f"  {event.kind.value}: {event.summary}")
            for error in result.errors:
                click.echo(f"  alert not delivered: {error}", err=True)
    finally:
        inventory.close()


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; loopback only unless --allow-remote.",
)
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="TCP port to listen on.",
)
@click.option("--policy", "policy_file", help="Policy file (default: the shipped policy).")
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a non-loopback address (other machines can reach it; put TLS in front).",
)
@click.pass_context
def serve(
    ctx: click.Context, host: str, port: int, policy_file: str | None, allow_remote: bool
) -> None:
    """Serve the web dashboard and the REST API (/api/v1, OpenAPI at /api/v1/openapi.json).

    Sign in with a token from `coverwatch token create`. Viewers read; admins may also waive
    findings.

    \b
    Example: coverwatch token create --role admin --name alice
             coverwatch serve --policy site.yaml     # then open http://127.0.0.1:8080/
    """
    from coverwatch.web.server import check_bind

    check_bind(host, allow_remote)
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        raise InputError("the dashboard needs the web extra: pip install -e '.[web]'") from e
    from coverwatch.web.server import serve as run_server

    say(f"coverwatch dashboard on http://{host}:{port}/ (Ctrl-C stops it)")
    run_server(_db(ctx), host, port, policy_file, allow_remote, traffic_dir=_traffic_dir(ctx))

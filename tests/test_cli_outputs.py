"""Machine-readable output of every listing command: --json and --jsonl give the same objects;
the alert event schema is printable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli

ASSETS = Path(__file__).parent / "assets" / "nmap"


@pytest.fixture
def filled(cli: Cli) -> Cli:
    assert cli("import", "nmap", str(ASSETS / "lan_scan.xml"), "--site", "hq").returncode == 0
    assert cli("token", "create", "--role", "viewer", "--name", "alice").returncode == 0
    return cli


@pytest.mark.parametrize(
    "command",
    [("devices",), ("audit",), ("runs",), ("token", "list")],
)
def test_jsonl_is_the_json_array_one_object_per_line(filled: Cli, command: tuple[str]) -> None:
    as_json = filled(*command, "--json")
    as_jsonl = filled(*command, "--jsonl")
    assert as_json.returncode == as_jsonl.returncode and as_json.returncode in (0, 1)
    array = json.loads(as_json.stdout)
    lines = as_jsonl.stdout.splitlines()
    assert array and len(lines) == len(array)
    assert [json.loads(line) for line in lines] == array
    both = filled(*command, "--json", "--jsonl")
    assert both.returncode == 2 and "choose one of --json and --jsonl" in both.stderr


def test_token_list_json_never_shows_a_token(filled: Cli) -> None:
    created = filled("token", "create", "--role", "admin", "--name", "bob")
    secret = created.stdout.strip()
    tokens = filled.json("token", "list", "--json")
    assert [(t["name"], t["role"], t["revoked"]) for t in tokens] == [  # type: ignore[union-attr]
        ("alice", "viewer", False),
        ("bob", "admin", False),
    ]
    assert secret not in json.dumps(tokens)


def test_policy_show_json_is_the_yaml_document(cli: Cli) -> None:
    import yaml

    as_yaml = yaml.safe_load(cli("policy", "show", db=False).stdout)
    as_json = json.loads(cli("policy", "show", "--json", db=False).stdout)
    assert as_json == json.loads(json.dumps(as_yaml, default=str))
    assert {r["id"] for r in as_json["rules"]} >= {"covered-vendor"}


def test_watch_prints_the_event_schema(cli: Cli) -> None:
    from coverwatch.monitor.events import event_schema

    printed = cli("watch", "--event-schema", db=False)
    assert printed.returncode == 0 and json.loads(printed.stdout) == json.loads(event_schema())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--syslog", "http://siem.example"], "use udp://, tcp:// or tls://"),
        (["--email", "soc@example.org", "--smtp-user", "soc"], "starttls or ssl"),
        (
            ["--webhook", "http://127.0.0.1:9/", "--webhook-header", "X-Token: ${CW_NO_SUCH}"],
            "CW_NO_SUCH unset",
        ),
        (["--syslog", "tls://127.0.0.1", "--tls-ca", "/nonexistent/ca.pem"], "CA bundle"),
    ],
)
def test_watch_sink_mistakes_are_one_line_before_any_scan(
    cli: Cli, options: list[str], message: str
) -> None:
    result = cli("watch", "127.0.0.1", "--rounds", "1", *options)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

"""Machine-readable output of every listing command: --json and --jsonl give the same objects;
the alert event schema is printable."""

from __future__ import annotations

import json
import shutil
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


def test_policy_check_reports_every_error_in_one_run(cli: Cli, tmp_path: Path) -> None:
    policy = tmp_path / "site.yaml"
    policy.write_text(
        "zones:\n"
        "  - {name: roof, cidrs: [10.0.0.0/24]}\n"
        "  - {name: yard, cidrs: [10.0.300.0/24]}\n"
        "  - {name: roof, cidrs: [10.9.0.0/24]}\n"
        "waivers:\n"
        "  - {rule: covered-vendor, devices: [10.0.0.5], expires: soon, reason: r, approver: a}\n"
        "  - {rule: no-such-rule, devices: [10.0.0.6], expires: 2030-01-01, reason: r}\n"
        "unit_costs: {camera: lots}\n"
    )
    checked = cli("policy", "check", str(policy), db=False)
    assert checked.returncode == 2
    errors = [line for line in checked.stderr.splitlines() if "error:" in line]
    assert [e.split("site.yaml:")[1].split(":")[0] for e in errors] == ["3", "4", "6", "7", "8"]
    assert "zones[1].cidrs[0]" in errors[0] and "zones[2].name" in errors[1]
    assert "waivers[0].expires" in errors[2] and "waivers[1].rule" in errors[3]
    assert "unit_costs" in errors[4] and "5 problems" in checked.stderr
    audit = cli("audit", "--policy", str(policy))
    assert audit.returncode == 2 and "(and 4 more: see coverwatch policy check)" in audit.stderr
    assert len(audit.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed")
def test_report_summary_prints_one_pdf_page(filled: Cli, tmp_path: Path) -> None:
    from tests.report.test_summary import _pages

    pdf = tmp_path / "summary.pdf"
    printed = filled("report", "--summary", "--out", str(pdf))
    assert printed.returncode == 0, printed.stderr
    assert _pages(pdf) == 1
    html = filled("report", "--summary", "--out", str(tmp_path / "summary.html"))
    assert html.returncode == 0 and "Reviewed by" in (tmp_path / "summary.html").read_text()
    wrong = filled("report", "--format", "csv", "--out", str(tmp_path / "r.pdf"))
    assert wrong.returncode == 2 and "--summary" in wrong.stderr

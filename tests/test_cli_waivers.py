"""`coverwatch waiver add|list|revoke`: the audit trail from the command line, over a real
inventory filled from an asset register (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli

POLICY = """\
name: waiver site
version: "1"
zones:
  - {name: yard, cidrs: [10.9.0.0/24]}
waivers:
  - {rule: unidentified-video, zone: yard, reason: survey, approver: Estates, expires: 2099-01-01}
"""


@pytest.fixture
def estate(cli: Cli, tmp_path: Path) -> tuple[Cli, Path]:
    """A Hikvision camera and an Axis camera from a register, and a policy with one waiver."""
    register = tmp_path / "register.csv"
    register.write_text("IP Address,Make\n10.9.0.5,Hikvision\n10.9.0.6,Axis\n")
    imported = cli("import", "csv", str(register), "--map", "ip=IP Address,brand=Make")
    assert imported.returncode == 0, imported.stderr
    policy = tmp_path / "site.yaml"
    policy.write_text(POLICY)
    return cli, policy


def _status(cli: Cli, policy: Path, ip: str, rule: str) -> str:
    result = cli("audit", "--policy", str(policy), "--json")
    assert result.returncode == 0, result.stderr
    (finding,) = [f for f in json.loads(result.stdout) if (f["ip"], f["rule"]) == (ip, rule)]
    return str(finding["status"])


@pytest.mark.slow  # a subprocess per step
def test_add_list_revoke_keeps_the_trail_and_the_finding_follows(
    estate: tuple[Cli, Path],
) -> None:
    cli, policy = estate
    assert _status(cli, policy, "10.9.0.5", "covered-vendor") == "open"
    added = cli(
        "waiver", "add", "--rule", "covered-vendor", "--device", "10.9.0.5",
        "--reason", "replacement ordered, PO 4411", "--approver", "CISO",
        "--expires", "2027-03-01", "--policy", str(policy), "--json",
        env={"LOGNAME": "jdoe"},
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    stored = json.loads(added.stdout)
    assert stored["author"] == "jdoe"  # the OS user name by default
    assert stored["state"] == "active" and stored["origin"] == "stored"
    assert _status(cli, policy, "10.9.0.5", "covered-vendor") == "waived"

    listed = cli("waiver", "list", "--policy", str(policy), "--json")
    assert listed.returncode == 0, listed.stderr
    by_origin = {w["origin"]: w for w in json.loads(listed.stdout)}
    assert by_origin["policy"]["id"] is None and by_origin["policy"]["zone"] == "yard"
    assert by_origin["policy"]["author"] is None and by_origin["policy"]["state"] == "active"
    assert by_origin["stored"]["id"] == stored["id"]
    assert set(by_origin["policy"]) == set(by_origin["stored"])  # one shape

    revoked = cli("waiver", "revoke", str(stored["id"]), "--author", "auditor", "--json")
    assert revoked.returncode == 0, revoked.stderr
    after = json.loads(revoked.stdout)
    assert after["state"] == "revoked" and after["revoked_by"] == "auditor"
    assert after["revoked_at"] and after["author"] == "jdoe"  # the grant's author is kept
    assert _status(cli, policy, "10.9.0.5", "covered-vendor") == "open"
    lines = cli("waiver", "list", "--jsonl").stdout.splitlines()
    assert [json.loads(line)["state"] for line in lines] == ["revoked"]  # kept, not deleted


BAD = [
    (["--device", "10.9.0.99"], "device: no device 10.9.0.99 in the inventory"),
    (["--device", "camera-5"], "device: 'camera-5' is not an address"),
    (["--rule", "no-such-rule"], "rule: 'no-such-rule' is not a rule of the policy"),
    (["--expires", "2020-01-01"], "expires: 2020-01-01 is in the past"),
    (["--expires", "2099-01-01"], "expires: at most three years ahead"),
    (["--reason", " "], "reason: required"),
]


@pytest.mark.slow  # a subprocess per case
def test_a_bad_waiver_is_one_line_exit_2_and_nothing_stored(estate: tuple[Cli, Path]) -> None:
    cli, _ = estate
    for args, message in BAD:
        given = {
            "--rule": "covered-vendor",
            "--device": "10.9.0.5",
            "--reason": "r",
            "--approver": "a",
            "--expires": "2027-01-01",
        }
        given.update(dict(zip(args[::2], args[1::2], strict=True)))
        result = cli("waiver", "add", *[x for pair in given.items() for x in pair])
        assert result.returncode == 2, args
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert cli("waiver", "list", "--json").stdout.strip() == "[]"


@pytest.mark.slow  # a subprocess per step
def test_revoking_twice_or_an_unknown_waiver_is_exit_2(estate: tuple[Cli, Path]) -> None:
    cli, _ = estate
    missing = cli("waiver", "revoke", "7", "--author", "x")
    assert missing.returncode == 2 and "waiver 7: no such stored waiver" in missing.stderr
    cli(
        "waiver", "add", "--rule", "covered-vendor", "--device", "10.9.0.5", "--reason", "r",
        "--approver", "a", "--expires", "2027-01-01", "--author", "ann",
    )  # fmt: skip
    assert cli("waiver", "revoke", "1", "--author", "bob").returncode == 0
    again = cli("waiver", "revoke", "1", "--author", "carl")
    assert again.returncode == 2 and "already revoked by bob" in again.stderr
    (kept,) = json.loads(cli("waiver", "list", "--json").stdout)
    assert kept["revoked_by"] == "bob"  # the second attempt changed nothing

"""Policy files: the shipped policies load; every mistake names file, line and field."""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from coverwatch.policy.interface import PolicyError
from coverwatch.policy.loader import load_policy, parse_policy
from coverwatch.policy.rules import RULES, RuleKind


def test_default_policy_encodes_the_rules_users_rely_on() -> None:
    policy = load_policy(None)
    kinds = {r.kind for r in policy.rules}
    assert kinds >= {
        "covered-vendor",
        "sensitive-site",
        "core-network",
        "vulnerable-firmware",
        "insecure-management",
    }
    assert all(r.title and r.remediation for r in policy.rules)
    assert policy.zones == () and policy.waivers == ()
    assert policy.version.startswith("2026.11+")


def test_lab_policy_adds_zones_and_waivers_to_the_default_rules() -> None:
    text = (resources.files("coverwatch.lab") / "policy.yaml").read_text()
    policy = parse_policy(text, "lab/policy.yaml")
    assert {r.id for r in policy.rules} == {r.id for r in load_policy(None).rules}
    assert [z.name for z in policy.zones if z.sensitive] == ["ministerial-wing"]
    assert [z.name for z in policy.zones if z.core] == ["core-datacentre", "core-servers"]
    assert any(not w.active(date(2026, 11, 29)) for w in policy.waivers)


def test_every_rule_kind_has_an_implementation() -> None:
    assert set(RULES) == set(RuleKind)


def test_version_changes_with_the_content() -> None:
    one = parse_policy("version: '1'\nzones: []\n", "a.yaml")
    two = parse_policy("version: '1'\nzones: []\n# edited\n", "a.yaml")
    assert one.version != two.version and one.version.startswith("1+")


ZONE = "zones:\n  - name: hq\n    cidrs: [10.0.0.0/24]\n"


@pytest.mark.parametrize(
    ("text", "line", "field", "says"),
    [
        ("colour: blue\n", 1, "colour", "unknown key"),
        (
            "zones:\n  - name: hq\n    cidrs: [10.0.0.0/33]\n",
            3,
            "zones[0].cidrs[0]",
            "is not a network",
        ),
        (
            "zones:\n  - name: hq\n    cidrs: [10.0.0.0/24]\n    secure: true\n",
            4,
            "zones[0].secure",
            "unknown key",
        ),
        (
            ZONE + "  - name: lab\n    cidrs: [10.0.0.128/25]\n",
            4,
            "zones[1].cidrs",
            "overlaps 10.0.0.0/24",
        ),
        (ZONE + "  - name: hq\n    cidrs: [10.9.0.0/24]\n", 4, "zones[1].name", "defined twice"),
        (
            "zones:\n  - name: hq\n    cidrs: [10.0.0.0/24]\n    sensitive: yes please\n",
            4,
            "zones[0].sensitive",
            "true or false",
        ),
        (
            "rules:\n  - id: x\n    kind: covered-vendor\n    severity: urgent\n",
            4,
            "rules[0].severity",
            "unknown severity 'urgent'",
        ),
        (
            "rules:\n  - id: x\n    kind: telepathy\n    severity: low\n",
            3,
            "rules[0].kind",
            "unknown rule kind",
        ),
        (
            "rules:\n  - id: x\n    kind: covered-vendor\n    severity: low\n    options: {a: 1}\n",
            5,
            "rules[0].options.a",
            "unknown option",
        ),
        (
            "waivers:\n  - rule: nope\n    devices: [10.0.0.1]\n    reason: r\n    approver: a\n"
            "    expires: 2027-01-01\n",
            2,
            "waivers[0].rule",
            "no rule 'nope'",
        ),
        (
            "waivers:\n  - rule: covered-vendor\n    devices: [10.0.0.1]\n    reason: r\n"
            "    approver: a\n    expires: next year\n",
            6,
            "waivers[0].expires",
            "needs a date",
        ),
        (
            "waivers:\n  - rule: covered-vendor\n    devices: [camera-7]\n    reason: r\n"
            "    approver: a\n    expires: 2027-01-01\n",
            3,
            "waivers[0].devices[0]",
            "not an address",
        ),
        (
            "waivers:\n  - rule: covered-vendor\n    reason: r\n    approver: a\n"
            "    expires: 2027-01-01\n",
            2,
            "waivers[0]",
            "must name devices, a zone or a maker",
        ),
        ("unit_costs:\n  camera: cheap\n", 2, "unit_costs.camera", "must be a number"),
        ("zones: [\n", 2, "yaml", ""),
    ],
)
def test_invalid_policy_errors_name_file_line_and_field(
    text: str, line: int, field: str, says: str
) -> None:
    with pytest.raises(PolicyError) as error:
        parse_policy(text, "site.yaml")
    message = str(error.value)
    assert message.startswith(f"site.yaml:{line}: {field}"), message
    assert says in message and "\n" not in message


def test_unreadable_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy"):
        load_policy(str(tmp_path / "missing.yaml"))


def test_watch_schedule_in_the_policy() -> None:
    policy = parse_policy(
        "watch:\n  targets: [10.0.0.0/24]\n  every: 15m\n  digest: true\n"
        "  webhook: [http://127.0.0.1:9/hook]\n",
        "w.yaml",
    )
    assert policy.watch == {
        "targets": ["10.0.0.0/24"],
        "every": "15m",
        "digest": True,
        "webhook": ["http://127.0.0.1:9/hook"],
    }
    for text, field in [
        ("watch:\n  every: soon\n", "watch.every"),
        ("watch:\n  targets: 10.0.0.1\n", "watch.targets"),
        ("watch:\n  pager: yes\n", "watch.pager"),
    ]:
        with pytest.raises(PolicyError) as error:
            parse_policy(text, "w.yaml")
        assert str(error.value).startswith(f"w.yaml:2: {field}")


def test_currency_of_the_unit_costs() -> None:
    from coverwatch.policy.interface import PolicyError
    from coverwatch.policy.loader import parse_policy

    assert parse_policy("currency: EUR\nunit_costs: {camera: 300}\n", "p.yaml").currency == "EUR"
    assert parse_policy("unit_costs: {camera: 300}\n", "p.yaml").currency is None
    with pytest.raises(PolicyError, match=r"p\.yaml:1: currency: must be an ISO 4217 code"):
        parse_policy("currency: pounds\n", "p.yaml")

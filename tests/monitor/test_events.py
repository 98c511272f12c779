"""Which changes become events."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from coverwatch.models import Attribution, DeviceType
from coverwatch.monitor.events import (
    EventKind,
    changes,
    event_schema,
    open_finding_keys,
    waiver_changes,
)
from coverwatch.policy.loader import load_policy
from coverwatch.policy.model import Action, Finding, FindingStatus, Severity
from coverwatch.store import DeviceRecord, open_inventory

NOW = datetime(2026, 11, 29, tzinfo=UTC)
NEXT = date(2027, 6, 30)


def dev(
    ip: str,
    maker: str | None = "Axis",
    model: str = "M1",
    firmware: str = "1.0",
    covered: str | None = None,
) -> DeviceRecord:
    return DeviceRecord(
        ip,
        None,
        "hq",
        Attribution(maker, maker, model, firmware, DeviceType.CAMERA, covered, 0.9),
        [80],
        NOW,
        NOW,
    )


def finding(ip: str, status: FindingStatus = FindingStatus.OPEN) -> Finding:
    return Finding(
        ip, "hq", "covered-vendor", Severity.HIGH, status, "covered", "d", "r", Action.REPLACE
    )


def test_each_kind_of_change() -> None:
    before = [dev("10.0.0.1"), dev("10.0.0.2"), dev("10.0.0.3")]
    after = [
        dev("10.0.0.1"),
        dev("10.0.0.2", model="M2"),
        dev("10.0.0.3", firmware="2.0"),
        dev("10.0.0.4", "Hikvision", covered="Hikvision Co"),
        dev("10.0.0.5", None),
    ]
    events = changes(before, after, [], [finding("10.0.0.1")])
    kinds = {(e.ip, e.kind) for e in events}
    assert kinds == {
        ("10.0.0.2", EventKind.IDENTITY_CHANGED),
        ("10.0.0.3", EventKind.FIRMWARE_CHANGED),
        ("10.0.0.4", EventKind.NEW_COVERED_DEVICE),
        ("10.0.0.5", EventKind.NEW_DEVICE),
        ("10.0.0.1", EventKind.NEW_FINDING),
    }
    assert "M1 -> Axis M2" in next(e.summary for e in events if e.ip == "10.0.0.2")


def test_known_waived_and_unverified_findings_are_quiet() -> None:
    same = [dev("10.0.0.1")]
    old = [finding("10.0.0.1")]
    new = [
        finding("10.0.0.1"),
        replace(finding("10.0.0.1"), title="other", status=FindingStatus.WAIVED),
        replace(finding("10.0.0.1"), title="x", status=FindingStatus.UNVERIFIED),
    ]
    assert changes(same, same, open_finding_keys(old), new) == []


@pytest.mark.parametrize(
    ("maker", "model", "before", "after", "kinds"),
    [
        # The spurious alerts: a build string spelt differently, a build date left out.
        ("Hikvision", "DS-2CD2143G2-I", "V5.7.3 build 220112", "V5.7.3build 220112", []),
        (
            "Dahua",
            "IPC-HDBW4231F-AS",
            "V2.800.0000018.0.R, Build Date: 2021-07-07",
            "2.800.0000018.0.R",
            [],
        ),
        # Real upgrades still alert.
        (
            "Hikvision",
            "DS-2CD2143G2-I",
            "V5.7.3 build 220112",
            "V5.7.10 build 230301",
            [EventKind.FIRMWARE_CHANGED],
        ),
        (
            "Dahua",
            "IPC-HDBW4231F-AS",
            "2.800.0000018.0.R",
            "2.840.0000000.9.R",
            [EventKind.FIRMWARE_CHANGED],
        ),
    ],
)
def test_firmware_alerts_only_on_real_changes(
    maker: str, model: str, before: str, after: str, kinds: list[EventKind]
) -> None:
    old = [dev("10.0.0.1", maker, model, before)]
    new = [dev("10.0.0.1", maker, model.lower(), after)]  # a model in other case is no change
    assert [e.kind for e in changes(old, new, set(), [])] == kinds


def test_waivers_revoked_or_expired_since_the_last_round_are_events(tmp_path: Path) -> None:
    from coverwatch.policy.model import Waiver
    from coverwatch.waivers import list_waivers

    day = date(2026, 12, 1)
    policy = replace(
        load_policy(None),
        waivers=(Waiver("unidentified-video", "survey", "Estates", day, zone="yard"),),
    )
    inventory = open_inventory(str(tmp_path / "inv.db"))
    try:
        kept = inventory.add_waiver("covered-vendor", "10.0.0.5", "hq", "r", "CISO", day, "ann")
        gone = inventory.add_waiver("covered-vendor", "10.0.0.6", "hq", "r", "CISO", NEXT, "ann")
        before = list_waivers(policy, inventory, day)
        assert inventory.revoke_waiver(gone, "bob")
        after = list_waivers(policy, inventory, day + timedelta(days=1))
    finally:
        inventory.close()
    events = waiver_changes(before, after)
    by_kind = {(e.kind, e.ip) for e in events}
    assert by_kind == {
        (EventKind.WAIVER_REVOKED, "10.0.0.6"),
        (EventKind.WAIVER_EXPIRED, "zone yard"),  # the policy file's waiver
        (EventKind.WAIVER_EXPIRED, "10.0.0.5"),
    }
    revoked = next(e for e in events if e.kind is EventKind.WAIVER_REVOKED)
    assert revoked.summary == "waiver of covered-vendor for 10.0.0.6 revoked by bob"
    assert revoked.details["waiver"]["author"] == "ann"  # type: ignore[index]
    assert {e.details["waiver"]["id"] for e in events} == {kept, gone, None}  # type: ignore[index]
    assert waiver_changes(after, after) == []  # announced once
    schema = json.loads(event_schema())
    for event in events:  # the same versioned document every sink sends
        jsonschema.Draft202012Validator(schema).validate(event.to_json())

"""Which changes become events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from coverwatch.models import Attribution, DeviceType
from coverwatch.monitor.events import EventKind, changes, open_finding_keys
from coverwatch.policy.model import Action, Finding, FindingStatus, Severity
from coverwatch.store import DeviceRecord

NOW = datetime(2026, 11, 29, tzinfo=UTC)


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

"""The watch loop over a real lab: a device added between rounds raises exactly one alert per
sink; webhooks retry; digests collect."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest

from coverwatch.durations import parse_duration
from coverwatch.errors import InputError
from coverwatch.lab.runner import LabProcess
from coverwatch.monitor.events import EventKind
from coverwatch.monitor.sinks import EmailSink, SyslogSink, WebhookSink
from coverwatch.monitor.watch import WatchPlan, watch
from coverwatch.policy.loader import load_policy
from coverwatch.sources.active import ScanOptions
from coverwatch.store import open_inventory
from tests.monitor.conftest import Mailbox, Syslog, Webhook


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("30s", 30), ("15m", 900), ("1h", 3600), ("1d", 86400), ("0.5s", 0.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "1w", "soon", "-5m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InputError, match="bad duration"):
        parse_duration(text)


def test_a_device_added_between_rounds_alerts_once_per_sink(
    tmp_path,
    webhook: Webhook,
    syslog: Syslog,  # type: ignore[no-untyped-def]
    smtp: tuple[Mailbox, int],
) -> None:
    mailbox, smtp_port = smtp
    inventory = open_inventory(str(tmp_path / "watch.db"))
    sinks = [
        WebhookSink(webhook.url, backoff=0.01),
        SyslogSink("127.0.0.1", syslog.port),
        EmailSink(["soc@example.org"], "127.0.0.1", smtp_port),
    ]
    plan = WatchPlan(
        ["127.47.0.1-12"], "depot", 0.05, load_policy(None), ScanOptions(timeout=1), sinks, rounds=3
    )
    rounds = []
    try:
        with LabProcess(hosts=5, seed=3, base="127.47.0.0", duration=300):
            loop = watch(inventory, plan)
            rounds.append(next(loop))  # baseline: 5 devices, no alert
            rounds.append(next(loop))  # nothing changed
            with LabProcess(
                hosts=1, seed=1, base="127.47.0.9", duration=300, profiles=["hikvision-ipc"]
            ):
                rounds.append(next(loop))  # 127.47.0.10 appeared
    finally:
        inventory.close()
    assert [len(r.events) for r in rounds] == [0, 0, 1]
    (event,) = rounds[2].events
    assert event.kind is EventKind.NEW_COVERED_DEVICE and event.ip == "127.47.0.10"
    assert event.details["findings"]  # its findings travel inside the one alert
    deadline = time.monotonic() + 5
    while (not syslog.lines or not mailbox.messages) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(webhook.received) == 1
    assert webhook.received[0]["events"][0]["ip"] == "127.47.0.10"
    assert len(syslog.lines) == 1 and "new-covered-device" in syslog.lines[0]
    assert len(mailbox.messages) == 1 and "127.47.0.10" in mailbox.messages[0]
    assert not rounds[2].errors


def test_webhook_retries_with_backoff(webhook: Webhook) -> None:
    from coverwatch.monitor.events import Event

    webhook.failures = 2
    error = WebhookSink(webhook.url, attempts=4, backoff=0.01).send(
        [Event(EventKind.NEW_DEVICE, "hq", "10.0.0.1", "new device")], "test"
    )
    assert error is None and webhook.attempts == 3 and len(webhook.received) == 1
    webhook.failures = 10
    error = WebhookSink(webhook.url, attempts=2, backoff=0.01).send([], "test")
    assert error is not None and "HTTP 500" in error


def test_undeliverable_alerts_are_reported_not_raised() -> None:
    sink = EmailSink(["x@example.org"], "127.0.0.1", 1)  # nothing listens on port 1
    assert "e-mail via 127.0.0.1:1" in (sink.send([], "test") or "")
    assert WebhookSink("http://127.0.0.1:1/", attempts=1).send([], "t") is not None


def test_digest_collects_changes_into_one_message(tmp_path, webhook: Webhook) -> None:  # type: ignore[no-untyped-def]
    inventory = open_inventory(str(tmp_path / "digest.db"))
    plan = WatchPlan(
        ["127.48.0.1-6"],
        "yard",
        0.01,
        load_policy(None),
        ScanOptions(timeout=1),
        [WebhookSink(webhook.url, backoff=0.01)],
        digest=True,
        rounds=3,
    )
    results = []
    try:
        with LabProcess(hosts=2, seed=5, base="127.48.0.0", duration=300):
            loop = watch(inventory, plan)
            results.append(next(loop))
            with LabProcess(
                hosts=1, seed=2, base="127.48.0.2", duration=300, profiles=["axis-ipc"]
            ):
                results.append(next(loop))
                with LabProcess(
                    hosts=1, seed=2, base="127.48.0.3", duration=300, profiles=["dahua-ipc"]
                ):
                    results.append(next(loop))
    finally:
        inventory.close()
    assert [r.sent for r in results] == [False, False, True]
    assert len(webhook.received) == 1
    assert {e["ip"] for e in webhook.received[0]["events"]} == {"127.48.0.3", "127.48.0.4"}
    assert "digest" in webhook.received[0]["subject"]


def test_watch_command_runs_rounds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    with LabProcess(hosts=2, seed=5, base="127.49.0.0", duration=120):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "coverwatch",
                "--db",
                str(tmp_path / "w.db"),
                "watch",
                "127.49.0.1-3",
                "--every",
                "1s",
                "--rounds",
                "2",
                "--site",
                "w",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    assert "round 1 (scan 1): 0 change(s), quiet" in done.stderr
    assert "round 2 (scan 2)" in done.stderr


def test_watch_takes_its_schedule_from_the_policy(tmp_path, webhook: Webhook) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    policy = tmp_path / "site.yaml"
    policy.write_text(
        f"watch:\n  targets: [127.49.0.1-3]\n  site: yard\n  every: 1s\n"
        f"  webhook: [{webhook.url}]\n"
    )
    with LabProcess(hosts=2, seed=5, base="127.49.0.0", duration=120):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "coverwatch",
                "--db",
                str(tmp_path / "w.db"),
                "watch",
                "--policy",
                str(policy),
                "--rounds",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    assert "round 1 (scan 1)" in done.stderr
    devices = subprocess.run(
        [
            sys.executable,
            "-m",
            "coverwatch",
            "--db",
            str(tmp_path / "w.db"),
            "devices",
            "--json",
            "--site",
            "yard",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert len(__import__("json").loads(devices.stdout)) == 2


def test_a_new_egress_destination_alerts(tmp_path, webhook: Webhook) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("duckdb", reason="the pcap extra is not installed")
    from coverwatch.lab.capture import write_lab_capture
    from coverwatch.lab.site import build_site
    from coverwatch.traffic.ingest import ingest

    profiles = ["hikvision-ipc", "dahua-nvr", "axis-ipc"]
    store = str(tmp_path / "flows")
    inventory = open_inventory(str(tmp_path / "egress.db"))
    plan = WatchPlan(
        ["127.53.0.1-3"],
        "hq",
        0.01,
        load_policy(None),
        ScanOptions(timeout=1),
        [WebhookSink(webhook.url, backoff=0.01)],
        rounds=4,
        traffic_dir=store,
    )
    results = []
    try:
        with LabProcess(hosts=3, seed=4, base="127.53.0.0", duration=300, profiles=profiles):
            loop = watch(inventory, plan)
            results.append(next(loop))  # baseline
            results.append(next(loop))  # no traffic yet: quiet
            capture = tmp_path / "site.pcap"
            planted = write_lab_capture(build_site(3, 4, "127.53.0.0", profiles), str(capture), 4)
            ingest([str(capture)], store)
            results.append(next(loop))
            results.append(next(loop))  # the same traffic: its findings were already announced
            # A restarted watch compares with the stored audit: nothing is new to it either.
            restarted = list(watch(inventory, replace(plan, rounds=1)))
    finally:
        inventory.close()
    assert [len(r.events) for r in results[:2]] == [0, 0]
    assert results[3].events == [] and restarted[0].events == []
    egress_events = [e for e in results[2].events if e.kind is EventKind.NEW_EGRESS_DESTINATION]
    outside = {ip for ip, t in planted.egress.items() if t.destinations}
    assert outside and {e.ip for e in egress_events} == outside
    # The egress findings are announced once, when the traffic first shows them.
    egress_findings = [e for e in results[2].events if e.kind is EventKind.NEW_FINDING]
    assert {e.ip for e in egress_findings} == outside
    assert any("hik-connect" in e.summary for e in egress_events)
    assert len(webhook.received) == 1


def test_a_waiver_revoked_between_rounds_reaches_the_sink(tmp_path, webhook: Webhook) -> None:  # type: ignore[no-untyped-def]
    inventory = open_inventory(str(tmp_path / "waivers.db"))
    plan = WatchPlan(
        ["127.54.0.1"],
        "hq",
        0.01,
        load_policy(None),
        ScanOptions(timeout=1),
        [WebhookSink(webhook.url, backoff=0.01)],
        rounds=2,
    )
    try:
        with LabProcess(
            hosts=1, seed=2, base="127.54.0.0", duration=300, profiles=["hikvision-ipc"]
        ):
            loop = watch(inventory, plan)
            baseline = next(loop)
            waiver_id = inventory.add_waiver(
                "covered-vendor", "127.54.0.1", None, "PO 4411", "CISO", date(2027, 1, 1), "ann"
            )
            assert inventory.revoke_waiver(waiver_id, "bob")
            second = next(loop)
    finally:
        inventory.close()
    assert baseline.events == []
    (revoked,) = [e for e in second.events if e.kind is EventKind.WAIVER_REVOKED]
    assert revoked.ip == "127.54.0.1" and "revoked by bob" in revoked.summary
    sent = webhook.received[-1]["events"]
    assert any(
        e["kind"] == "waiver-revoked" and e["details"]["waiver"]["id"] == waiver_id for e in sent
    )


def test_a_waiver_expires_in_the_watch_on_the_day_the_audit_reopens_its_finding(
    tmp_path,  # type: ignore[no-untyped-def]
    webhook: Webhook,
    local_zone: Callable[[str], None],
) -> None:
    """A waiver holds through its expiry day on the local calendar, as `audit` reads it: the
    round whose audit opens the waived finding again is the round that says the waiver
    expired (the local day moves on here by moving the clock 26 hours east between rounds)."""
    inventory = open_inventory(str(tmp_path / "expiry.db"))
    plan = WatchPlan(
        ["127.55.0.1"],
        "hq",
        0.01,
        load_policy(None),
        ScanOptions(timeout=1),
        [WebhookSink(webhook.url, backoff=0.01)],
        rounds=3,
    )
    try:
        with LabProcess(
            hosts=1, seed=2, base="127.55.0.0", duration=300, profiles=["hikvision-ipc"]
        ):
            local_zone("Etc/GMT+12")  # UTC-12: the last day of the waiver, for a day still
            loop = watch(inventory, plan)
            baseline = next(loop)
            inventory.add_waiver(
                "covered-vendor", "127.55.0.1", None, "PO 4411", "CISO", date.today(), "ann"
            )
            waived = next(loop)
            local_zone("Etc/GMT-14")  # UTC+14: the day after (or the one after that)
            expired = next(loop)
    finally:
        inventory.close()
    assert baseline.events == []
    assert [e.kind for e in waived.events] == []
    kinds = {e.kind for e in expired.events if e.ip == "127.55.0.1"}
    assert kinds == {EventKind.WAIVER_EXPIRED, EventKind.NEW_FINDING}
    (notice,) = [e for e in expired.events if e.kind is EventKind.WAIVER_EXPIRED]
    assert "covered-vendor" in notice.summary

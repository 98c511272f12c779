"""Issue #10's watch scenario on the real lab: a credentialed scan names the cameras; later
uncredentialed rounds keep every identification and finding and send no alert."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from coverwatch.credentials import CredentialStore
from coverwatch.lab.runner import LabProcess
from coverwatch.lab.site import DEFAULT_PASSWORD, DEFAULT_USERNAME
from coverwatch.monitor.sinks import WebhookSink
from coverwatch.monitor.watch import WatchPlan, watch
from coverwatch.pipeline import explain, run_audit, run_scan
from coverwatch.policy.loader import load_policy
from coverwatch.policy.model import FindingStatus
from coverwatch.sources.active import ScanOptions
from coverwatch.store import open_inventory
from tests.conftest import Cli
from tests.monitor.conftest import Webhook

BASE = "127.46.0.0"
TARGETS = ["127.46.0.1-4"]
# Huawei's SDC shows no maker text without credentials (see its lab profile): only the
# credentialed ONVIF answer names it. The Hikvision ones show App-webs either way.
PROFILES = ["huawei-ipc", "hikvision-ipc", "hikvision-nvr", "dahua-ipc"]


@pytest.fixture(scope="module")
def site() -> Iterator[LabProcess]:
    with LabProcess(hosts=4, seed=5, base=BASE, duration=600, profiles=PROFILES) as lab:
        yield lab


def _identity(device: dict[str, object]) -> tuple[object, ...]:
    return tuple(device[k] for k in ("ip", "maker", "brand", "model", "firmware", "covered"))


def test_uncredentialed_watch_rounds_keep_identity_and_findings_and_stay_quiet(
    tmp_path: Path,
    site: LabProcess,
    lab_credentials: CredentialStore,
    webhook: Webhook,
) -> None:
    inventory = open_inventory(str(tmp_path / "inv.db"))
    policy = load_policy(None)
    try:
        run_scan(TARGETS, ScanOptions(timeout=1, credentials=lab_credentials), "hq", inventory)
        audited = run_audit(inventory, policy, "hq")
        named = [d.to_json() for d in inventory.devices("hq")]
        assert {d["ip"]: d["maker"] for d in named} == {
            ip: t["maker"] for ip, t in site.truth.items()
        }
        assert sum(1 for d in named if d["covered"]) == 4
        huawei = next(d for d in named if d["maker"] == "Huawei")
        plan = WatchPlan(
            TARGETS,
            "hq",
            0.01,
            policy,
            ScanOptions(timeout=1),  # no credentials
            [WebhookSink(webhook.url, backoff=0.01)],
            rounds=2,
        )
        rounds = list(watch(inventory, plan))
        after = [d.to_json() for d in inventory.devices("hq")]
        last = inventory.audits()[-1]
        findings = inventory.findings(int(last["id"]))
        why = explain(inventory, str(huawei["ip"]), "hq")
    finally:
        inventory.close()
    assert [r.events for r in rounds] == [[], []]
    assert webhook.received == []
    assert [_identity(d) for d in after] == [_identity(d) for d in named]
    open_before = sorted(
        (f.ip, f.rule, f.title) for f in audited.findings if f.status is FindingStatus.OPEN
    )
    open_after = sorted((f["ip"], f["rule"], f["title"]) for f in findings if f["status"] == "open")
    assert open_after == open_before
    # The device page says the maker rests on the credentialed answer, and when it was seen.
    assert any(o.signal == "onvif.manufacturer" for o in why.carried)
    assert "onvif.manufacturer" in why.last_confirmed


def test_the_same_scenario_through_the_command_line(
    cli: Cli, site: LabProcess, tmp_path: Path
) -> None:
    creds = tmp_path / "creds.yaml"
    creds.write_text(f"default: {{username: {DEFAULT_USERNAME}, password: {DEFAULT_PASSWORD}}}\n")
    first = cli("scan", *TARGETS, "--site", "hq", "--credentials", str(creds), "--timeout", "1")
    assert first.returncode in (0, 1), first.stderr
    named = cli.json("devices", "--json")
    assert isinstance(named, list) and {d["maker"] for d in named} >= {"Huawei", "Hikvision"}
    again = cli("scan", *TARGETS, "--site", "hq", "--timeout", "1")
    assert again.returncode in (0, 1), again.stderr
    # show --json lists the credentialed answer the maker rests on, with when it was seen.
    huawei = next(d for d in named if d["maker"] == "Huawei")
    shown = cli.json("show", str(huawei["ip"]), "--site", "hq", "--json")
    assert isinstance(shown, dict) and shown["attribution"]["maker"] == "Huawei"
    (answer,) = [o for o in shown["observations"] if o["signal"] == "onvif.manufacturer"]
    assert (
        answer["value"] == "Huawei" and answer["observed_at"] <= huawei["last_seen"]
    )  # the first scan
    diff = cli("diff", "--json")
    assert diff.returncode == 0, diff.stderr
    assert json.loads(diff.stdout)["devices"] == []
    rounds = cli("watch", *TARGETS, "--site", "hq", "--rounds", "2", "--every", "1s")
    assert rounds.returncode == 0, rounds.stderr
    assert rounds.stdout == ""  # no event lines
    assert rounds.stderr.count("0 change(s)") == 2
    assert [_identity(d) for d in cli.json("devices", "--json")] == [  # type: ignore[union-attr]
        _identity(d) for d in named
    ]


def test_a_camera_replaced_at_its_address_is_flagged_then_settled_by_a_credentialed_rescan(
    cli: Cli, tmp_path: Path
) -> None:
    """Rip and replace: an Axis camera takes a Hikvision camera's fixed address. The weekly
    uncredentialed rescan (no MAC, no serial: only the address links the two) cannot tell a
    replaced camera from a white label, so it keeps one device and says so; a credentialed
    rescan reads the Axis camera's serial and records it as the new device it is."""
    creds = tmp_path / "creds.yaml"
    creds.write_text(f"default: {{username: {DEFAULT_USERNAME}, password: {DEFAULT_PASSWORD}}}\n")
    scan = ("scan", "127.56.0.1", "--site", "hq", "--timeout", "1")
    credentialed = ("--credentials", str(creds))
    with LabProcess(hosts=1, base="127.56.0.0", duration=120, profiles=["hikvision-ipc"]):
        first = cli(*scan, "--discovery", *credentialed)
    assert first.returncode == 0, first.stderr
    with LabProcess(hosts=1, base="127.56.0.0", duration=120, profiles=["axis-ipc"]):
        weekly = cli(*scan)
        settled = cli(*scan, *credentialed)
    assert weekly.returncode == 0, weekly.stderr
    assert (
        "note: identity: 127.56.0.1 (site hq) answers as Axis now, as Hikvision before: kept as "
        "one device" in weekly.stderr
    )
    assert settled.returncode == 0, settled.stderr
    devices = cli.json("devices", "--json")
    assert isinstance(devices, list)
    old, new = sorted(devices, key=lambda d: d["last_seen"])
    assert (new["ip"], new["maker"], new["model"], new["covered"]) == (
        "127.56.0.1",
        "Axis",
        "P3228-LVE",
        None,
    )
    assert not any(e["signal"].startswith(("isapi.", "sadp.")) for e in new["evidence"])
    assert (old["ip"], old["maker"], old["model"]) == ("127.56.0.1", "Hikvision", "DS-2CD2143G2-I")
    runs = cli.json("runs", "--json")
    assert isinstance(runs, list)
    scans = [r["id"] for r in runs if r["kind"] == "scan"]
    diff = cli.json("diff", str(scans[0]), str(scans[-1]), "--json")
    assert isinstance(diff, dict)
    assert sorted((d["change"], d["ip"]) for d in diff["devices"]) == [
        ("added", "127.56.0.1"),
        ("removed", "127.56.0.1"),
    ]

"""Fusing evidence across runs and sources, and explaining a device."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from coverwatch.errors import InputError
from coverwatch.models import Observation, SourceKind
from coverwatch.pipeline import (
    EVIDENCE_HORIZON,
    build_report_data,
    changed_fields,
    diff_scans,
    explain,
    record_run,
)
from coverwatch.policy.loader import load_policy
from coverwatch.policy.model import FindingStatus
from coverwatch.report.overview import build_overview
from coverwatch.store import HostResult, Inventory, open_inventory

IP = "10.9.8.7"


def _obs(signal: str, value: str, kind: SourceKind) -> Observation:
    return Observation(IP, signal, value, 80, "http", source=kind, observed_at=datetime.now(UTC))


def test_each_source_kind_keeps_its_latest_run_and_all_are_fused(tmp_path: Path) -> None:
    inventory = open_inventory(str(tmp_path / "inv.db"))
    try:
        now = datetime.now(UTC)
        # An import says the box is an LTS with a MAC; a later scan sees Hikvision firmware.
        _, first = record_run(
            inventory,
            "hq",
            {
                IP: [
                    _obs("onvif.manufacturer", "LTS", SourceKind.IMPORT),
                    _obs("mac", "14:2f:fd:00:00:01", SourceKind.IMPORT),
                ]
            },
            SourceKind.IMPORT,
            ["register.csv"],
            {},
            now,
        )
        assert (first[0].attribution.maker, first[0].attribution.brand) == ("Hikvision", "LTS")
        _, scanned = record_run(
            inventory,
            "hq",
            {IP: [_obs("http.server", "App-webs/", SourceKind.SCAN)]},
            SourceKind.SCAN,
            [IP],
            {},
            now,
        )
        a = scanned[0].attribution
        assert (a.maker, a.brand) == ("Hikvision", "LTS")  # the import still counts
        assert any(e.signal == "http.server" for e in a.evidence)
        # A newer scan replaces the older scan's observations, not the import's.
        _, rescanned = record_run(
            inventory,
            "hq",
            {IP: [_obs("http.server", "nginx", SourceKind.SCAN)]},
            SourceKind.SCAN,
            [IP],
            {},
            now,
        )
        assert not any(e.signal == "http.server" for e in rescanned[0].attribution.evidence)
        assert rescanned[0].attribution.brand == "LTS"
        device = inventory.devices("hq")[0]
        assert device.mac == "14:2f:fd:00:00:01"
        why = explain(inventory, IP)
        assert {o.source for o in why.observations} == {SourceKind.IMPORT, SourceKind.SCAN}
        assert [o.value for o in why.unmatched] == ["nginx"]
        assert why.history == 4
        with pytest.raises(InputError, match=r"no device 10\.0\.0\.1"):
            explain(inventory, "10.0.0.1")
    finally:
        inventory.close()


def test_explain_counts_the_ports_of_a_matched_set_as_used(tmp_path: Path) -> None:
    # a plain sweep names Dahua by its set of ports: none of those ports "moved nothing"
    inventory = open_inventory(str(tmp_path / "inv.db"))
    try:
        ports = [_obs("tcp.port", p, SourceKind.SCAN) for p in ("80", "554", "37777")]
        ports.append(_obs("http.server", "nginx", SourceKind.SCAN))
        _, (host,) = record_run(
            inventory, "hq", {IP: ports}, SourceKind.SCAN, [IP], {}, datetime.now(UTC)
        )
        assert host.attribution.maker == "Dahua"
        assert [o.value for o in explain(inventory, IP).unmatched] == ["nginx"]
    finally:
        inventory.close()


# --- Evidence accumulates (issue #10 part 3) -------------------------------------------------

CAM = "10.9.8.20"


def _at(signal: str, value: str, when: datetime, port: int = 80) -> Observation:
    return Observation(CAM, signal, value, port, signal.split(".")[0], observed_at=when)


def _scan(inventory: Inventory, observations: list[Observation], started: datetime) -> HostResult:
    _, (host,) = record_run(
        inventory, "hq", {CAM: observations}, SourceKind.SCAN, [CAM], {}, started
    )
    return host


def _credentialed(when: datetime) -> list[Observation]:
    """What a credentialed scan of a Hikvision camera learns: its ISAPI and ONVIF answers."""
    return [
        _at("tcp.port", "80", when),
        _at("http.server", "nginx", when),
        _at("isapi.model", "DS-2CD2143G2-I", when),
        _at("isapi.firmware", "V5.7.3 build 220112", when),
        _at("isapi.serial", "DS-2CD2143G2-I20220112AAWRJ00000001", when),
        _at("onvif.manufacturer", "HIKVISION", when),
        _at("onvif.model", "DS-2CD2143G2-I", when),
    ]


def _uncredentialed(when: datetime) -> list[Observation]:
    return [_at("tcp.port", "80", when), _at("http.server", "nginx", when)]


@pytest.fixture
def inventory(tmp_path: Path) -> Iterator[Inventory]:
    inv = open_inventory(str(tmp_path / "inv.db"))
    yield inv
    inv.close()


def test_an_uncredentialed_rescan_keeps_the_credentialed_identification(
    inventory: Inventory,
) -> None:
    t0 = datetime.now(UTC) - timedelta(days=10)
    first = _scan(inventory, _credentialed(t0), t0).attribution
    assert (first.maker, first.model, first.covered) == (
        "Hikvision",
        "DS-2CD2143G2-I",
        "Hangzhou Hikvision Digital Technology Company",
    )
    for days in (5, 1):  # two weaker rescans in a row: the second still sees the first's answers
        later = datetime.now(UTC) - timedelta(days=days)
        again = _scan(inventory, _uncredentialed(later), later)
        assert again.attribution == first
        assert {o.signal for o in again.observations} == {"tcp.port", "http.server"}  # as seen
    (device,) = inventory.devices("hq")
    assert device.attribution == first
    why = explain(inventory, CAM)
    assert why.attribution == first
    assert {o.signal for o in why.carried} >= {"isapi.model", "onvif.manufacturer"}
    assert all(o.observed_at == t0 for o in why.carried)  # when each was last confirmed
    assert why.last_confirmed["isapi.model"] == t0
    assert set(why.last_confirmed) == {e.signal for e in first.evidence}


def test_lasting_evidence_ages_out_after_the_horizon(inventory: Inventory) -> None:
    old = datetime.now(UTC) - EVIDENCE_HORIZON - timedelta(days=1)
    _scan(inventory, _credentialed(old), old)
    now = datetime.now(UTC)
    aged = _scan(inventory, _uncredentialed(now), now).attribution
    assert aged.model is None and aged.firmware is None
    assert not any(e.signal.startswith(("isapi.", "onvif.")) for e in aged.evidence)
    # A shorter horizon set by the caller ages it sooner.
    recent = now - timedelta(days=3)
    _scan(inventory, _credentialed(recent), recent)
    short = _scan(inventory, _uncredentialed(now), now)
    assert short.attribution.model == "DS-2CD2143G2-I"
    _, (host,) = record_run(
        inventory,
        "hq",
        {CAM: _uncredentialed(now)},
        SourceKind.SCAN,
        [CAM],
        {},
        now,
        horizon=timedelta(days=1),
    )
    assert host.attribution.model is None


def test_equally_strong_new_evidence_replaces_the_old(inventory: Inventory) -> None:
    t0 = datetime.now(UTC) - timedelta(days=10)
    _scan(inventory, _credentialed(t0), t0)
    t1 = datetime.now(UTC) - timedelta(days=2)
    upgraded = [
        *_uncredentialed(t1),
        _at("isapi.model", "DS-2CD2143G2-I", t1),
        _at("isapi.firmware", "V5.8.0 build 230301", t1),
    ]
    assert _scan(inventory, upgraded, t1).attribution.firmware == "V5.8.0 build 230301"
    now = datetime.now(UTC)
    # The newer ISAPI answer is the one that lasts, not the older one.
    assert _scan(inventory, _uncredentialed(now), now).attribution.firmware == (
        "V5.8.0 build 230301"
    )


def test_a_discovery_answer_lasts_beside_later_scans(inventory: Inventory) -> None:
    t0 = datetime.now(UTC) - timedelta(days=4)
    record_run(
        inventory,
        "hq",
        {CAM: [_at("sadp.device_description", "DS-2CD2143G2-I", t0, 37020)]},
        SourceKind.DISCOVERY,
        [CAM],
        {},
        t0,
    )
    now = datetime.now(UTC)
    assert _scan(inventory, _uncredentialed(now), now).attribution.maker == "Hikvision"


# --- Changes are real changes (issue #10 part 4) ---------------------------------------------


def test_diff_ignores_firmware_spelling_and_shows_real_changes(inventory: Inventory) -> None:
    t0 = datetime.now(UTC) - timedelta(days=2)
    _scan(inventory, _credentialed(t0), t0)
    t1 = t0 + timedelta(hours=1)
    respelt = [o for o in _credentialed(t1) if o.signal != "isapi.firmware"]
    _scan(inventory, [*respelt, _at("isapi.firmware", "V5.7.3build 220112", t1)], t1)
    t2 = t1 + timedelta(hours=1)
    _scan(inventory, [*respelt, _at("isapi.firmware", "V5.8.0 build 230301", t2)], t2)
    first, second, third = (s.id for s in inventory.scans())
    policy = load_policy(None)
    assert diff_scans(inventory, first, second, policy).devices == []
    (change,) = diff_scans(inventory, second, third, policy).devices
    assert change.fields == {"firmware": ("V5.7.3build 220112", "V5.8.0 build 230301")}


@pytest.mark.parametrize(
    ("before", "after", "changed"),
    [
        ({"firmware": "V5.7.3 build 220112"}, {"firmware": "V5.7.3build 220112"}, {}),
        ({"firmware": "V5.7.3 build 220112"}, {"firmware": None}, {}),
        ({"model": "DS-2CD2143G2-I"}, {"model": "ds-2cd2143g2-i"}, {}),
        ({"model": "A"}, {"model": "B"}, {"model": ("A", "B")}),
        ({"covered": None}, {"covered": "X"}, {"covered": (None, "X")}),
        ({"open_ports": [80]}, {"open_ports": [80, 443]}, {"open_ports": ([80], [80, 443])}),
    ],
)
def test_changed_fields(
    before: dict[str, object], after: dict[str, object], changed: dict[str, object]
) -> None:
    maker: dict[str, object] = {"maker": "Hikvision"}
    assert changed_fields({**maker, **before}, {**maker, **after}) == changed


def test_a_new_device_at_the_address_inherits_nothing(inventory: Inventory) -> None:
    t0 = datetime.now(UTC) - timedelta(days=4)
    _scan(inventory, [*_credentialed(t0), _at("isapi.mac", "44:19:b6:00:00:01", t0)], t0)
    now = datetime.now(UTC)
    same = _scan(inventory, [*_uncredentialed(now), _at("mac", "44-19-B6-00-00-01", now)], now)
    assert same.attribution.model == "DS-2CD2143G2-I"
    # Another MAC answers at the address: the old camera's answers are not this device's.
    other = _scan(inventory, [*_uncredentialed(now), _at("mac", "00:40:8c:00:00:02", now)], now)
    assert other.attribution.model is None
    assert not any(e.signal.startswith("isapi.") for e in other.attribution.evidence)


# --- A host known by its address that answers as another maker ---------------------------------

AXIS_REALM = 'Digest realm="AXIS_ACCC8E012345", nonce="3a1b"'


def _axis(when: datetime) -> list[Observation]:
    """An uncredentialed scan of an Axis camera: its web server's realm names it (0.8)."""
    return [
        _at("tcp.port", "80", when),
        _at("http.server", "nginx", when),
        _at("http.www_authenticate", AXIS_REALM, when),
    ]


def _as(kind: SourceKind, observations: list[Observation]) -> dict[str, list[Observation]]:
    return {CAM: [replace(o, source=kind) for o in observations]}


def _register(inventory: Inventory, model: str, when: datetime) -> HostResult:
    """Import an asset register listing ``model`` at CAM."""
    row = _as(SourceKind.REGISTER, [_at("register.model", model, when)])
    _, (host,) = record_run(inventory, "hq", row, SourceKind.REGISTER, [CAM], {}, when)
    return host


def _conflicts(inventory: Inventory) -> list[str]:
    return list(inventory.scans()[-1].options.get("identity_conflicts", []))  # type: ignore[call-overload]


def test_a_host_answering_as_another_maker_is_noted_and_a_credentialed_rescan_settles_it(
    inventory: Inventory,
) -> None:
    t0 = datetime.now(UTC) - timedelta(days=3)
    _scan(inventory, _credentialed(t0), t0)
    # The Hikvision camera was replaced by an Axis one; the rescan has no credentials, so no
    # serial or MAC says which box answers. It stays one device (a white label the knowledge
    # base does not list looks the same here), and the run says what it saw.
    t1 = datetime.now(UTC) - timedelta(days=2)
    doubtful = _scan(inventory, _axis(t1), t1).attribution
    assert doubtful.covered == "Hangzhou Hikvision Digital Technology Company"
    assert any(e.maker == "Axis" and e.conflicts for e in doubtful.evidence)
    assert len(inventory.devices("hq")) == 1
    assert _conflicts(inventory) == [
        f"{CAM} (site hq) answers as Axis now, as Hikvision before: kept as one device (a "
        "replaced camera, or a white label the knowledge base does not list; a rescan with "
        "credentials that reads its serial or MAC tells them apart)"
    ]
    # A credentialed rescan reads the Axis camera's serial: another device, nothing carried.
    t2 = datetime.now(UTC) - timedelta(days=1)
    onvif = [
        _at("onvif.manufacturer", "AXIS", t2),
        _at("onvif.model", "M3106-L Mk II", t2),
        _at("onvif.serial", "ACCC8E012345", t2),
    ]
    axis = _scan(inventory, [*_axis(t2), *onvif], t2).attribution
    assert (axis.maker, axis.model, axis.covered) == ("Axis", "M3106-L Mk II", None)
    assert not any(e.signal.startswith("isapi.") for e in axis.evidence)
    old, new = sorted(inventory.devices("hq"), key=lambda d: d.id)
    assert (old.attribution.maker, new.attribution.maker) == ("Hikvision", "Axis")
    first, _, third = inventory.scans()
    changes = diff_scans(inventory, first.id, third.id, load_policy(None)).devices
    assert sorted(c.change for c in changes) == ["added", "removed"]


@pytest.mark.parametrize(
    "answers",
    [
        # A white label answering under its own name (oem.yaml: LTS is Hikvision's).
        [_at("onvif.manufacturer", "LTS", datetime.now(UTC))],
        # Open ports alone are a lead, not the device saying who it is (XM's set: 0.61).
        [_at("tcp.port", p, datetime.now(UTC)) for p in ("554", "8899", "9530", "34567")],
        # One word naming a maker in a banner (0.45) is too little to doubt the device.
        [_at("http.server", "Axis", datetime.now(UTC))],
    ],
)
def test_weak_or_compatible_answers_raise_no_doubt(
    inventory: Inventory, answers: list[Observation]
) -> None:
    t0 = datetime.now(UTC) - timedelta(days=3)
    _scan(inventory, _credentialed(t0), t0)
    now = datetime.now(UTC)
    assert _scan(inventory, answers, now).attribution.maker == "Hikvision"
    assert len(inventory.devices("hq")) == 1
    assert _conflicts(inventory) == []


def test_a_register_row_is_a_claim_not_the_device_answering(inventory: Inventory) -> None:
    t0 = datetime.now(UTC) - timedelta(days=3)
    _scan(inventory, _credentialed(t0), t0)
    now = datetime.now(UTC)
    host = _register(inventory, "AXIS P3245-LV Network Camera", now)
    assert host.attribution.covered == "Hangzhou Hikvision Digital Technology Company"
    assert _conflicts(inventory) == []  # the register's own conflict flag says it
    # Nor does the register row, once stored, make the next scan doubt the camera.
    later = datetime.now(UTC)
    uncredentialed = [*_uncredentialed(later), _at("http.server", "App-webs/", later)]
    assert _scan(inventory, uncredentialed, later).attribution.maker == "Hikvision"
    assert _conflicts(inventory) == []
    assert len(inventory.devices("hq")) == 1


def test_a_register_disagreeing_with_the_camera_raises_no_identity_doubt(
    inventory: Inventory,
) -> None:
    t0 = datetime.now(UTC) - timedelta(days=3)
    _register(inventory, "AXIS P3245-LV Network Camera", t0)
    now = datetime.now(UTC)
    camera = [*_uncredentialed(now), _at("http.server", "App-webs/", now)]
    assert _scan(inventory, camera, now).attribution.maker == "Hikvision"
    assert _conflicts(inventory) == []  # the register's own conflict flag says it


def test_a_host_stating_its_mac_is_that_device_whatever_it_answers(inventory: Inventory) -> None:
    mac = "0a:00:00:12:34:56"  # in no registry block: only the identity, no maker
    t0 = datetime.now(UTC) - timedelta(days=3)
    _scan(inventory, [*_credentialed(t0), _at("mac", mac, t0)], t0)
    now = datetime.now(UTC)
    _scan(inventory, [*_axis(now), _at("mac", mac, now)], now)
    assert len(inventory.devices("hq")) == 1
    assert _conflicts(inventory) == []  # its MAC says which box: no replaced camera to doubt


def test_a_register_naming_the_same_model_leaves_the_devices_own_answer_its_own(
    inventory: Inventory,
) -> None:
    # A Lorex (Dahua-made) camera, listed by its model in the register; its own UPnP answer
    # names the same model beside XM-like ports. The device's answer is the same knowledge
    # entry as the register's row; it must still count as the device speaking.
    t0 = datetime.now(UTC) - timedelta(days=2)
    _register(inventory, "E891AB", t0)
    now = datetime.now(UTC)
    ports = [_at("tcp.port", p, now) for p in ("554", "34567")]
    camera = _scan(inventory, [*ports, _at("upnp.model_name", "E891AB", now)], now).attribution
    assert (camera.maker, camera.brand, camera.covered) == (
        "Dahua",
        "Lorex",
        "Dahua Technology Company",
    )
    said = {(e.signal, e.matched) for e in camera.evidence}
    assert ("upnp.model_name", "fp:lorex-camera-model") in said  # shown as the device's words


def test_sources_that_keep_disagreeing_never_split_a_covered_camera(
    inventory: Inventory,
) -> None:
    # A Dahua-made camera sold under a label the knowledge base does not map (nmap calls it
    # "Honeywell"): its Dahua API and the nmap import disagree on every round.
    dahua = [
        _at("tcp.port", "80", datetime.now(UTC)),
        _at("dahua.device_type", "IPC-HDW5231R-ZE", datetime.now(UTC)),
    ]
    nmap = [
        _at("tcp.port", "80", datetime.now(UTC)),
        _at("nmap.product", "Honeywell IP camera httpd", datetime.now(UTC)),
    ]
    noted = []
    for day in (6, 4, 2):
        when = datetime.now(UTC) - timedelta(days=day)
        _scan(inventory, dahua, when)
        noted += _conflicts(inventory)
        record_run(
            inventory, "hq", _as(SourceKind.IMPORT, nmap), SourceKind.IMPORT, [CAM], {}, when
        )
        noted += _conflicts(inventory)
        (device,) = inventory.devices("hq")
        assert device.attribution.covered == "Dahua Technology Company"
    assert len(noted) == 1  # once, when the import first disagreed; not on every round


def test_a_label_answering_every_day_is_noted_once(inventory: Inventory) -> None:
    # Credentialed: the Dahua API. Then daily uncredentialed scans whose UPnP answer names the
    # label, "Honeywell" (not in oem.yaml): a doubt the first time, not a note a day.
    t0 = datetime.now(UTC) - timedelta(days=5)
    _scan(inventory, [_at("dahua.device_type", "IPC-HDW5231R-ZE", t0)], t0)
    notes = []
    for day in (4, 3, 2, 1):
        when = datetime.now(UTC) - timedelta(days=day)
        label = [_at("tcp.port", "80", when), _at("upnp.manufacturer", "Honeywell", when)]
        host = _scan(inventory, label, when)
        assert host.attribution.covered == "Dahua Technology Company"
        notes.append(len(_conflicts(inventory)))
    assert notes == [1, 0, 0, 0]


def test_a_label_that_also_makes_its_own_is_one_device_with_its_oem(inventory: Inventory) -> None:
    # Swann sells its own cameras and Reolink-made ones (oem.yaml): a Swann answer where
    # Reolink's discovery answer was known is the same box, and nothing to doubt.
    t0 = datetime.now(UTC) - timedelta(days=3)
    reolink = [_at("onvif.manufacturer", "Reolink", t0), _at("onvif.model", "RLC-810A", t0)]
    record_run(
        inventory, "hq", _as(SourceKind.DISCOVERY, reolink), SourceKind.DISCOVERY, [CAM], {}, t0
    )
    now = datetime.now(UTC)
    swann = [_at("onvif.manufacturer", "Swann", now), _at("onvif.model", "NHD-806", now)]
    assert _scan(inventory, swann, now).attribution.maker == "Reolink"
    assert _conflicts(inventory) == []


def test_a_device_that_answered_as_both_makers_before_raises_no_doubt(
    inventory: Inventory,
) -> None:
    # Hikvision firmware whose ONVIF answer says "Honeywell": the knowledge base does not list
    # Honeywell as a Hikvision label, but the device has already answered as both.
    t0 = datetime.now(UTC) - timedelta(days=3)
    _scan(inventory, [*_credentialed(t0)[:5], _at("onvif.manufacturer", "Honeywell", t0)], t0)
    now = datetime.now(UTC)
    answers = [_at("onvif.manufacturer", "Honeywell", now), _at("onvif.model", "HC30W45R3", now)]
    _scan(inventory, answers, now)
    assert _conflicts(inventory) == []


def _run(number: int, kind: str, site: str = "hq", targets: tuple[str, ...] = ("10.0.0.0/24",)):  # type: ignore[no-untyped-def]
    from coverwatch.store.interface import ScanRecord

    return ScanRecord(
        number,
        datetime(2026, 1, number, tzinfo=UTC),
        None,
        site,
        list(targets),
        {"source": kind},
        1,
    )


def test_the_default_diff_pair_is_two_runs_of_one_kind_and_scope() -> None:
    from coverwatch.pipeline import latest_comparable_runs

    runs = [_run(1, "scan"), _run(2, "discovery"), _run(3, "scan"), _run(4, "discovery", "lab")]
    before, after = latest_comparable_runs(runs) or (None, None)
    assert (before.id, after.id) == (1, 3)  # type: ignore[union-attr]
    # other targets of the same kind and site only when nothing of the same scope exists
    runs = [_run(1, "scan", targets=("10.0.0.1",)), _run(2, "scan")]
    assert [r.id for r in latest_comparable_runs(runs) or ()] == [1, 2]
    assert latest_comparable_runs([_run(1, "scan"), _run(2, "scan", "lab")]) is None
    assert latest_comparable_runs(runs, kind="discovery") is None


@pytest.fixture
def calendars_apart(local_zone: Callable[[str], None]) -> date:
    """A local time zone in which today is not today in UTC (``local_zone`` restores it);
    the earlier of the two dates."""
    utc_today = datetime.now(UTC).date()
    local_zone("Etc/GMT+12" if datetime.now(UTC).hour < 12 else "Etc/GMT-14")
    if date.today() == utc_today:  # the UTC hour turned over between the two readings
        pytest.skip("the clock crossed noon UTC while the test set its zone")
    return min(date.today(), utc_today)


def test_a_reports_waivers_are_judged_on_the_day_its_findings_are(
    tmp_path: Path, calendars_apart: date
) -> None:
    """The report lists a waiver as expired exactly when its finding is no longer waived."""
    inventory = open_inventory(str(tmp_path / "inv.db"))
    try:
        record_run(
            inventory,
            "hq",
            {IP: [_obs("http.server", "App-webs/", SourceKind.SCAN)]},
            SourceKind.SCAN,
            [IP],
            {},
            datetime.now(UTC),
        )
        inventory.add_waiver("covered-vendor", IP, None, "PO 4411", "CISO", calendars_apart)
        data = build_report_data(inventory, load_policy(None), None, "audit")
    finally:
        inventory.close()
    (finding,) = [f for f in data.findings if f.rule == "covered-vendor"]
    (view,) = build_overview(data).waivers
    assert view.expired == (finding.status is not FindingStatus.WAIVED)
    assert view.findings == (finding,)

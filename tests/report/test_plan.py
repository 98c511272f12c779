"""The remediation plan: one strongest action per device, per-site counts and costs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from coverwatch.models import DeviceType
from coverwatch.policy.model import Action, Finding, FindingStatus, Policy, Severity
from coverwatch.report import ReportData
from coverwatch.report.plan import ACTION_ORDER, build_plan, strongest, unit_cost_of
from tests.report.sample import POLICY

OP, W, U = FindingStatus.OPEN, FindingStatus.WAIVED, FindingStatus.UNVERIFIED
CAM, NVR, DVR = DeviceType.CAMERA, DeviceType.NVR, DeviceType.DVR
R, ISO, UP, D, V = (
    Action.REPLACE,
    Action.ISOLATE,
    Action.UPDATE,
    Action.DISABLE_SERVICE,
    Action.VERIFY,
)


def _finding(ip: str, action: Action, status: FindingStatus, kind: DeviceType | None) -> Finding:
    return Finding(
        ip, "hq", f"rule-{action.value}", Severity.HIGH, status, "t", "d", "r", action,
        device_type=kind,
    )  # fmt: skip


def _policy(unit_costs: dict[str, float]) -> Policy:
    return replace(POLICY, unit_costs=unit_costs)


@pytest.mark.parametrize(
    ("findings", "unit_costs", "default", "actions", "cost", "unpriced"),
    [
        pytest.param(
            [("a", V, OP, CAM), ("a", UP, OP, CAM), ("a", ISO, OP, CAM)], {}, None,
            {ISO: 1}, None, 0, id="strongest-action-wins",
        ),
        pytest.param(
            [("a", D, OP, CAM), ("a", UP, OP, CAM), ("b", V, OP, CAM), ("c", D, OP, None)],
            {}, None,
            {UP: 1, V: 1, D: 1}, None, 0, id="update-beats-disable-service",
        ),
        pytest.param(
            [("a", R, W, CAM), ("b", R, U, CAM), ("c", V, U, CAM)], {"camera": 350}, 99,
            {V: 2}, None, 0, id="waived-not-planned-unverified-means-verify",
        ),
        pytest.param(
            [("a", R, OP, CAM), ("a", R, OP, CAM), ("b", R, OP, CAM)], {"camera": 350}, None,
            {R: 2}, 700, 0, id="policy-price-per-type-once-per-device",
        ),
        pytest.param(
            [("a", R, OP, CAM), ("b", R, OP, DVR), ("c", R, OP, None)], {"camera": 350}, 200,
            {R: 3}, 750, 0, id="default-price-for-other-types",
        ),
        pytest.param(
            [("a", R, OP, CAM), ("b", R, OP, NVR)], {"camera": 350}, None,
            {R: 2}, 350, 1, id="partly-priced",
        ),
        pytest.param(
            [("a", R, OP, CAM), ("b", R, OP, NVR)], {}, None,
            {R: 2}, None, 2, id="no-price-no-estimate",
        ),
        pytest.param(
            [("a", R, OP, CAM), ("a", V, OP, CAM), ("b", ISO, OP, NVR)], {"camera": 1.5}, None,
            {R: 1, ISO: 1}, 1.5, 0, id="only-replaced-devices-cost",
        ),
    ],
)  # fmt: skip
def test_plan_counts_and_costs(
    findings: list[tuple[str, Action, FindingStatus, DeviceType | None]],
    unit_costs: dict[str, float],
    default: float | None,
    actions: dict[Action, int],
    cost: float | None,
    unpriced: int,
) -> None:
    plan = build_plan([_finding(*f) for f in findings], _policy(unit_costs), default)
    assert plan.totals.actions == {a: actions.get(a, 0) for a in ACTION_ORDER}
    assert plan.totals.replacement_cost == cost
    assert plan.totals.unpriced == unpriced


def test_sample_plan_per_site(data: ReportData) -> None:
    plan = build_plan(data.findings, data.policy, data.unit_cost, data.devices)
    sites = {s.site: s for s in plan.sites}
    assert list(sites) == ["depot", "hq"]
    hq, depot = sites["hq"].totals, sites["depot"].totals
    assert hq.actions == {R: 3, ISO: 0, UP: 0, D: 1, V: 1}
    assert hq.replacement_cost == 350 + 350 + 1200  # two cameras and the NVR
    assert depot.actions == {R: 1, ISO: 0, UP: 1, D: 0, V: 0}
    assert depot.replacement_cost == 200  # the DVR has no policy price: the default
    assert plan.totals.replacement_cost == 2100 and plan.totals.unpriced == 0
    assert [d.ip for d in sites["hq"].devices] == [
        "10.0.0.1", "10.0.1.5", "10.0.9.7", "10.0.0.4", "10.0.0.9",
    ]  # fmt: skip
    # The NVR is both in the core zone (isolate) and covered (replace): replace wins.
    nvr = next(d for d in sites["hq"].devices if d.ip == "10.0.9.7")
    assert (nvr.action, nvr.rules, nvr.unit_cost) == (R, ("covered-vendor",), 1200)
    assert plan.action_of("hq", "10.0.0.3") is None  # waived
    assert plan.action_of("depot", "10.1.0.2") is R  # its waiver expired


def test_device_type_comes_from_the_inventory_when_the_finding_has_none(
    data: ReportData,
) -> None:
    bare = [replace(f, device_type=None) for f in data.findings if f.ip == "10.0.9.7"]
    assert build_plan(bare, data.policy, None).totals.replacement_cost is None
    assert build_plan(bare, data.policy, None, data.devices).totals.replacement_cost == 1200


def test_strongest_and_unit_cost() -> None:
    assert strongest([]) is None
    assert strongest([V, D, UP]) is UP
    assert unit_cost_of(CAM, _policy({"camera": 10}), 5) == 10
    assert unit_cost_of(NVR, _policy({"camera": 10}), 5) == 5
    assert unit_cost_of(None, None, None) is None

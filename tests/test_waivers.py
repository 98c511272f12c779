"""The waiver trail's core: one shape for policy-file and stored waivers, their state on a
given day, and revocation (kept, never deleted), over a real SQLite inventory."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from coverwatch.errors import InputError
from coverwatch.policy.loader import load_policy
from coverwatch.policy.model import Waiver
from coverwatch.store import open_inventory
from coverwatch.waivers import WaiverOrigin, WaiverState, list_waivers, revoke

DAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("today", "revoked", "state"),
    [
        (DAY, False, WaiverState.ACTIVE),  # valid on its expiry day
        (date(2026, 12, 2), False, WaiverState.EXPIRED),
        (date(2026, 11, 1), True, WaiverState.REVOKED),  # revoked beats active
        (date(2026, 12, 2), True, WaiverState.REVOKED),
    ],
)
def test_state_on_a_given_day(
    tmp_path: Path, today: date, revoked: bool, state: WaiverState
) -> None:
    policy = replace(load_policy(None), waivers=(Waiver("*", "r", "a", DAY, maker="Axis"),))
    inventory = open_inventory(str(tmp_path / "inv.db"))
    try:
        waiver_id = inventory.add_waiver("covered-vendor", "10.0.0.5", None, "r", "a", DAY, "ann")
        if revoked:
            revoke(inventory, waiver_id, "bob", today)
        from_file, stored = list_waivers(policy, inventory, today)
    finally:
        inventory.close()
    assert (from_file.origin, from_file.id, from_file.maker) == (WaiverOrigin.POLICY, None, "Axis")
    assert from_file.state is (WaiverState.ACTIVE if today <= DAY else WaiverState.EXPIRED)
    assert stored.origin is WaiverOrigin.STORED and stored.state is state
    assert from_file.to_json().keys() == stored.to_json().keys()


@pytest.mark.parametrize("by", ["", "   ", "a\x1bb", "x" * 121])
def test_a_revoker_must_be_named_in_one_clean_line(tmp_path: Path, by: str) -> None:
    inventory = open_inventory(str(tmp_path / "inv.db"))
    try:
        waiver_id = inventory.add_waiver("covered-vendor", "10.0.0.5", None, "r", "a", DAY, "ann")
        with pytest.raises(InputError, match=r"^author: "):
            revoke(inventory, waiver_id, by, DAY)
        assert inventory.waivers()[0]["revoked_at"] is None  # nothing changed
    finally:
        inventory.close()

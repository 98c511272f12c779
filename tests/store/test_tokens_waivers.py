"""API tokens (hashed, revocable) and waivers stored in the inventory."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from coverwatch.store import open_inventory
from tests.conftest import Cli


def test_tokens_are_stored_hashed_and_can_be_revoked(tmp_path: Path) -> None:
    path = tmp_path / "inv.db"
    inventory = open_inventory(str(path))
    try:
        viewer = inventory.create_token("alice", "viewer")
        admin = inventory.create_token("bob", "admin")
        assert viewer != admin and viewer.startswith("cw_") and len(viewer) > 40
        assert inventory.token_role(viewer) == "viewer"
        assert inventory.token_role(admin) == "admin"
        assert inventory.token_role(viewer + "x") is None
        listed = inventory.tokens()
        assert [t["name"] for t in listed] == ["alice", "bob"]
        assert inventory.revoke_token(listed[0]["id"]) and not inventory.revoke_token(999)
        assert inventory.token_role(viewer) is None
    finally:
        inventory.close()
    raw = path.read_bytes()
    assert viewer.encode() not in raw and admin.encode() not in raw


def test_stored_waivers_round_trip(tmp_path: Path) -> None:
    inventory = open_inventory(str(tmp_path / "inv.db"))
    try:
        waiver_id = inventory.add_waiver(
            "covered-vendor", "10.0.0.5", "hq", "replacing", "CISO", date(2027, 1, 31)
        )
        (stored,) = inventory.waivers()
        assert stored["id"] == waiver_id and stored["expires"] == date(2027, 1, 31)
    finally:
        inventory.close()


def test_token_commands(cli: Cli) -> None:
    created = cli("token", "create", "--role", "admin", "--name", "ops")
    assert created.returncode == 0 and created.stdout.strip().startswith("cw_")
    listed = cli("token", "list")
    assert "ops\tadmin" in listed.stdout and created.stdout.strip() not in listed.stdout
    assert cli("token", "revoke", "1").returncode == 0
    assert "revoked" in cli("token", "list").stdout
    missing = cli("token", "revoke", "42")
    assert missing.returncode == 2 and "no token with id 42" in missing.stderr


def test_a_waiver_is_revoked_once_and_kept_with_who_and_when(tmp_path: Path) -> None:
    inventory = open_inventory(str(tmp_path / "inv.db"))
    try:
        admin = inventory.create_token("alice", "admin")
        assert inventory.token_name(admin) == "alice" and inventory.token_name("cw_x") is None
        waiver_id = inventory.add_waiver(
            "covered-vendor", "10.0.0.5", None, "replacing", "CISO", date(2027, 1, 31), "alice"
        )
        assert inventory.revoke_waiver(waiver_id, "bob")
        assert not inventory.revoke_waiver(waiver_id, "carl")  # already revoked: unchanged
        assert not inventory.revoke_waiver(999, "bob")
        (stored,) = inventory.waivers()
        assert stored["author"] == "alice" and stored["revoked_by"] == "bob"
        assert stored["revoked_at"] is not None and stored["revoked_at"].tzinfo is not None
    finally:
        inventory.close()


def test_sensor_tokens_are_bound_to_sites_on_the_command_line(cli: Cli) -> None:
    created = cli("token", "create", "--role", "sensor", "--site", "depot", "--site", "annex")
    assert created.returncode == 0, created.stderr
    listed = cli.json("token", "list", "--json")
    assert isinstance(listed, list) and listed[0]["sites"] == ["annex", "depot"]
    unbound = cli("token", "create", "--role", "sensor")
    assert unbound.returncode == 2 and "--site" in unbound.stderr
    viewer = cli("token", "create", "--role", "viewer", "--site", "depot")
    assert viewer.returncode == 2 and "only sensor tokens" in viewer.stderr

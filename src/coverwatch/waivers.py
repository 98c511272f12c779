"""Waivers with an audit trail: grant, list and revoke, for every front-end alike.

A waiver either lives in the policy file (reviewed with the policy) or is stored in the
inventory, granted through the dashboard, the API or ``coverwatch waiver add``. Both are listed
in one shape (``WaiverEntry``); only stored waivers can be revoked here (a policy file's waiver
is removed by editing the file). A stored waiver records who granted it and, once revoked, when
and by whom; it is never deleted, so the trail stays. A revoked waiver no longer applies
(``pipeline.with_stored_waivers``).
"""

from __future__ import annotations

import ipaddress
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from coverwatch.errors import InputError
from coverwatch.policy.model import Policy, Waiver
from coverwatch.store import Inventory
from coverwatch.store.interface import WaiverRow, WaiverStore

#: Longest waiver granted outside the policy file; longer exceptions belong in the policy.
MAX_WAIVER_DAYS = 3 * 366
#: Longest name recorded as a waiver's author or revoker.
MAX_AUTHOR = 120


class WaiverOrigin(str, Enum):
    """Where a waiver comes from."""

    POLICY = "policy"
    """The policy file."""
    STORED = "stored"
    """The inventory (dashboard, API or CLI)."""


class WaiverState(str, Enum):
    """Whether a waiver applies today."""

    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class WaiverEntry:
    """One waiver, from the policy file or the inventory, with its audit trail."""

    id: int | None
    """Inventory id (None for the policy file's waivers, which are not revoked here)."""
    origin: WaiverOrigin
    rule: str
    """Rule id it waives (``*`` for every rule)."""
    device: str | None
    """Addresses or CIDRs it covers, comma-separated (None for a zone or maker waiver)."""
    zone: str | None
    """Or: every device of this zone (policy file only)."""
    maker: str | None
    """Or: every device of this maker (policy file only)."""
    site: str | None
    reason: str
    approver: str
    author: str | None
    """Who granted it (a token's name or the CLI's ``--author``); None for the policy file."""
    created_at: datetime | None
    expires: date
    """Last day it is valid."""
    revoked_at: datetime | None
    revoked_by: str | None
    state: WaiverState

    def to_json(self) -> dict[str, object]:
        """The waiver as ``waiver list --json`` and ``GET /api/v1/waivers`` give it."""
        return {
            "id": self.id,
            "origin": self.origin.value,
            "rule": self.rule,
            "device": self.device,
            "zone": self.zone,
            "maker": self.maker,
            "site": self.site,
            "reason": self.reason,
            "approver": self.approver,
            "author": self.author,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "expires": self.expires.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revoked_by": self.revoked_by,
            "state": self.state.value,
        }


def _state(expires: date, revoked: bool, today: date) -> WaiverState:
    if revoked:
        return WaiverState.REVOKED
    return WaiverState.ACTIVE if today <= expires else WaiverState.EXPIRED


def _from_policy(w: Waiver, today: date) -> WaiverEntry:
    return WaiverEntry(
        None,
        WaiverOrigin.POLICY,
        w.rule,
        ", ".join(w.devices) or None,
        w.zone,
        w.maker,
        w.site,
        w.reason,
        w.approver,
        None,
        None,
        w.expires,
        None,
        None,
        _state(w.expires, False, today),
    )


def _from_row(w: WaiverRow, today: date) -> WaiverEntry:
    return WaiverEntry(
        w["id"],
        WaiverOrigin.STORED,
        w["rule"],
        w["device"],
        None,
        None,
        w["site"],
        w["reason"],
        w["approver"],
        w["author"],
        w["created_at"],
        w["expires"],
        w["revoked_at"],
        w["revoked_by"],
        _state(w["expires"], w["revoked_at"] is not None, today),
    )


def list_waivers(policy: Policy | None, store: WaiverStore, today: date) -> list[WaiverEntry]:
    """The policy file's waivers, then the stored ones (revoked included), in one shape."""
    listed = [_from_policy(w, today) for w in policy.waivers] if policy else []
    return listed + [_from_row(w, today) for w in store.waivers()]


def clean_text(value: str, field: str, limit: int) -> str:
    """One line of user text: stripped, no control characters, bounded; InputError if not."""
    text = " ".join(value.split())
    if not text:
        raise InputError(f"{field}: required")
    if len(text) > limit:
        raise InputError(f"{field}: at most {limit} characters")
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise InputError(f"{field}: control characters are not allowed")
    return text


@dataclass(frozen=True)
class WaiverRequest:
    """A waiver to grant: one rule, one device, until a date."""

    rule: str
    device: str
    """The device's address."""
    site: str | None
    reason: str
    approver: str
    expires: date


def grant(
    inventory: Inventory, policy: Policy, ask: WaiverRequest, author: str, today: date
) -> WaiverEntry:
    """Store a waiver for a device of the inventory and a rule of ``policy``, recording its
    author; InputError names the field that is wrong."""
    try:
        address = str(ipaddress.ip_address(ask.device.strip()))
    except ValueError as e:
        raise InputError(f"device: {ask.device[:60]!r} is not an address") from e
    if ask.rule not in {r.id for r in policy.rules}:
        raise InputError(f"rule: {ask.rule[:60]!r} is not a rule of the policy")
    if not inventory.devices(ask.site or None, ip=address):
        raise InputError(f"device: no device {address} in the inventory")
    if ask.expires < today:
        raise InputError(f"expires: {ask.expires.isoformat()} is in the past")
    if ask.expires > today + timedelta(days=MAX_WAIVER_DAYS):
        raise InputError("expires: at most three years ahead; longer waivers belong in the policy")
    waiver_id = inventory.add_waiver(
        ask.rule,
        address,
        ask.site or None,
        clean_text(ask.reason, "reason", 500),
        clean_text(ask.approver, "approver", 120),
        ask.expires,
        author=clean_text(author, "author", MAX_AUTHOR),
    )
    return _stored(inventory, waiver_id, today)


def revoke(store: WaiverStore, waiver_id: int, by: str, today: date) -> WaiverEntry:
    """Revoke a stored waiver, recording who did; InputError when there is no such waiver or
    it was already revoked."""
    who = clean_text(by, "author", MAX_AUTHOR)
    if not store.revoke_waiver(waiver_id, who):
        current = next((w for w in store.waivers() if w["id"] == waiver_id), None)
        if current is None:
            raise InputError(f"waiver {waiver_id}: no such stored waiver")
        raise InputError(
            f"waiver {waiver_id}: already revoked by {current['revoked_by']} "
            f"at {current['revoked_at']:%Y-%m-%d %H:%M} UTC"
        )
    return _stored(store, waiver_id, today)


def _stored(store: WaiverStore, waiver_id: int, today: date) -> WaiverEntry:
    return _from_row(next(w for w in store.waivers() if w["id"] == waiver_id), today)

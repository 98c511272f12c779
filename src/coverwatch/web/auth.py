"""Who may do what: bearer tokens for the API, server-side sessions for the pages.

- API: ``Authorization: Bearer <token>``; the token is checked against the inventory's hashed
  tokens on every request. Cookies are never accepted by the API, so it needs no CSRF defence.
- Pages: the sign-in form takes a token once and starts a session. The browser only gets a
  random session id in an HttpOnly, SameSite=Strict cookie; the session (role, CSRF token) is
  kept here in memory and dies with the server. Each request re-checks the token, so revoking
  it (``coverwatch token revoke``) ends its sessions at once.
- Every POST form carries the session's CSRF token in a hidden field (checked in constant time).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from enum import Enum

from coverwatch.store import Inventory

SESSION_COOKIE = "cw_session"
SIGNIN_COOKIE = "cw_signin"
SESSION_SECONDS = 8 * 3600
"""A session lasts a working day at most; then sign in again."""
MAX_SESSIONS = 1000
"""Oldest sessions are dropped beyond this many (bounded memory)."""
MAX_TOKEN_LENGTH = 256
"""Longer "tokens" are refused before hashing: ours are 46 characters."""


class Role(str, Enum):
    """What a token may do."""

    VIEWER = "viewer"
    """Read everything."""
    ADMIN = "admin"
    """Read everything and waive findings."""
    SENSOR = "sensor"
    """Send the runs of the sites it is bound to (``POST /api/v1/ingest``); read nothing."""


def role_of(inventory: Inventory, token: str) -> Role | None:
    """The role of a valid, unrevoked token, else None."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isprintable():
        return None
    role = inventory.token_role(token)
    try:
        return Role(role) if role else None
    except ValueError:
        return None


@dataclass
class Session:
    """One signed-in browser."""

    role: Role
    """The role of the token it signed in with."""
    token: str = field(repr=False)
    """The token, kept server-side only to notice revocation."""
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    """Expected in the hidden ``csrf`` field of every form it posts."""
    expires: float = field(default_factory=lambda: time.monotonic() + SESSION_SECONDS)
    """Monotonic time after which it is gone."""
    flash: list[tuple[str, str]] = field(default_factory=list)
    """Messages (kind, text) to show on the next page."""

    @property
    def admin(self) -> bool:
        """Whether it may change things."""
        return self.role is Role.ADMIN

    def csrf_ok(self, value: str) -> bool:
        """Constant-time check of a posted CSRF token."""
        return secrets.compare_digest(self.csrf.encode(), value.encode("utf-8", "replace"))


class SessionStore:
    """Random session id -> Session, in memory, bounded and expiring."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, role: Role, token: str) -> tuple[str, Session]:
        """A new session; returns its id (for the cookie) and the session."""
        sid = secrets.token_urlsafe(32)
        session = Session(role, token)
        with self._lock:
            self._prune()
            self._sessions[sid] = session
        return sid, session

    def get(self, sid: str | None, inventory: Inventory) -> Session | None:
        """The live session of ``sid`` whose token is still valid, else None."""
        if not sid or len(sid) > 64:
            return None
        with self._lock:
            session = self._sessions.get(sid)
        if session is None:
            return None
        if session.expires < time.monotonic() or role_of(inventory, session.token) is None:
            self.drop(sid)
            return None
        return session

    def drop(self, sid: str | None) -> None:
        """End a session (sign-out)."""
        with self._lock:
            self._sessions.pop(sid or "", None)

    def _prune(self) -> None:
        now = time.monotonic()
        for sid in [s for s, v in self._sessions.items() if v.expires < now]:
            del self._sessions[sid]
        while len(self._sessions) >= MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]

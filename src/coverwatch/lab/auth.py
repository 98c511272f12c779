"""HTTP digest authentication for the lab's management routes, as real devices do it.

A route marked ``auth: digest`` (profiles/FORMAT.md) answers its ``challenge`` -- a 401 with
the realm the profile declares -- until a request carries an ``Authorization: Digest`` header
that RFC 7616 verifies against the lab credentials: MD5 or SHA-256, ``qop=auth`` or none.
Nonces are stateless and expire (RFC 7616 section 3.3 suggests "time-stamp H(time-stamp ":"
ETag ":" secret)"): a hex timestamp plus an HMAC of it under a per-process secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import replace
from string import Template
from urllib.request import parse_http_list, parse_keqv_list

from coverwatch.lab.profiles import Reply

#: How long a nonce stays valid (seconds).
NONCE_LIFETIME = 300.0
_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
_REALM = re.compile(r'realm="([^"]*)"', re.IGNORECASE)


class DigestVerifier:
    """Issues nonces and checks digest responses for one username and password."""

    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password
        self._secret = secrets.token_bytes(32)

    def nonce(self, now: float | None = None) -> str:
        """A fresh nonce: hex timestamp + HMAC-SHA256 of it (truncated)."""
        stamp = f"{int((now if now is not None else time.time()) * 1000):x}"
        mac = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{stamp}{mac}"

    def _nonce_valid(self, nonce: str) -> bool:
        stamp, mac = nonce[:-32], nonce[-32:]
        if not stamp:
            return False
        expected = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(expected, mac):
            return False
        try:
            issued = int(stamp, 16) / 1000
        except ValueError:
            return False
        return 0 <= time.time() - issued <= NONCE_LIFETIME

    def verify(self, method: str, target: str, authorization: str, realm: str) -> bool:
        """True when ``authorization`` is a valid digest response for this request."""
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() != "digest" or len(rest) > 4096:
            return False
        try:
            fields = parse_keqv_list(parse_http_list(rest))
        except ValueError:
            return False
        hash_fn = _HASHES.get(fields.get("algorithm", "MD5").upper())
        nonce = fields.get("nonce", "")
        if (
            hash_fn is None
            or fields.get("username") != self._username
            or fields.get("realm") != realm
            or fields.get("uri") != target
            or not self._nonce_valid(nonce)
        ):
            return False

        def digest(text: str) -> str:
            return hash_fn(text.encode("utf-8")).hexdigest()

        ha1 = digest(f"{self._username}:{realm}:{self._password}")
        ha2 = digest(f"{method}:{target}")
        qop = fields.get("qop")
        if qop == "auth":
            expected = digest(
                f"{ha1}:{nonce}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:auth:{ha2}"
            )
        elif qop is None:
            expected = digest(f"{ha1}:{nonce}:{ha2}")
        else:
            return False
        return hmac.compare_digest(expected, fields.get("response", ""))

    def guard(
        self,
        reply: Reply,
        method: str,
        target: str,
        authorization: str | None,
        variables: dict[str, str],
    ) -> Reply:
        """``reply`` if its route needs no auth or the request is authenticated, else the
        route's challenge with a nonce this verifier will accept."""
        if reply.auth is None or reply.challenge is None:
            return reply
        challenge = reply.challenge
        header = next((v for k, v in challenge.headers if k.lower() == "www-authenticate"), "")
        match = _REALM.search(Template(header).safe_substitute(variables))
        realm = match.group(1) if match else ""
        if authorization and self.verify(method, target, authorization, realm):
            return reply
        nonce = self.nonce()
        headers = tuple((k, Template(v).safe_substitute(nonce=nonce)) for k, v in challenge.headers)
        return replace(challenge, headers=headers)

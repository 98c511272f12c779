"""Device credentials for authenticated, read-only look-ups (ONVIF GetDeviceInformation).

Credentials come from a YAML file or the environment. They are never printed, logged or
stored: `Credential.__repr__` hides the password, and nothing in the store has a column for it.

File format::

    default: {username: admin, password: "..."}
    hosts:
      127.31.0.7: {username: operator, password: "..."}

Environment: ``COVERWATCH_USERNAME`` and ``COVERWATCH_PASSWORD`` (used as the default).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from coverwatch.errors import InputError


@dataclass(frozen=True)
class Credential:
    """A username and password; the password never appears in repr or logs."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class CredentialStore:
    """Which credential to use for which host."""

    default: Credential | None = None
    hosts: dict[str, Credential] = field(default_factory=dict)

    def for_host(self, ip: str) -> Credential | None:
        """The host's own credential, else the default, else None."""
        return self.hosts.get(ip, self.default)


def _credential(path: str, where: str, value: object) -> Credential:
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("username"), str)
        or not isinstance(value.get("password"), str)
    ):
        raise InputError(f"{path}: {where} must be a mapping with string username and password")
    return Credential(value["username"], value["password"])


def load_credentials(path: str | None) -> CredentialStore:
    """Read credentials from ``path`` (YAML) or, without a path, from the environment."""
    if path is None:
        user, password = (
            os.environ.get("COVERWATCH_USERNAME"),
            os.environ.get("COVERWATCH_PASSWORD"),
        )
        if user and password is not None:
            return CredentialStore(default=Credential(user, password))
        return CredentialStore()
    import yaml  # only a credentials file needs a YAML parser

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(f"cannot read credentials file {path}: {e.strerror}") from e
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not valid YAML") from e  # no detail: it could echo a secret
    if not isinstance(data, dict) or not set(data) <= {"default", "hosts"}:
        raise InputError(f"{path}: expected top-level keys 'default' and/or 'hosts'")
    default = _credential(path, "default", data["default"]) if "default" in data else None
    hosts_raw = data.get("hosts") or {}
    if not isinstance(hosts_raw, dict):
        raise InputError(f"{path}: 'hosts' must map addresses to credentials")
    hosts = {str(ip): _credential(path, f"hosts.{ip}", value) for ip, value in hosts_raw.items()}
    return CredentialStore(default=default, hosts=hosts)

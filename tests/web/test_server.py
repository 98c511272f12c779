"""The bind check: loopback only unless --allow-remote."""

from __future__ import annotations

import pytest

from coverwatch.errors import InputError
from coverwatch.web.server import check_bind, serve, trusted_hosts


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.5.6.7", "::1", "[::1]", "localhost", "LOCALHOST"]
)
def test_loopback_is_allowed(host: str) -> None:
    check_bind(host, allow_remote=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "192.168.0.5", "example.org", ""])
def test_other_addresses_need_allow_remote(host: str) -> None:
    with pytest.raises(InputError, match="--"):
        check_bind(host, allow_remote=False)
    if host:
        check_bind(host, allow_remote=True)


def test_serve_refuses_before_starting_anything(tmp_path: object) -> None:
    with pytest.raises(InputError, match="--allow-remote"):
        serve("/nonexistent/inventory.db", "0.0.0.0", 8080, None, allow_remote=False)
    with pytest.raises(InputError, match="--port"):
        serve("/nonexistent/inventory.db", "127.0.0.1", 70000, None, allow_remote=False)


def test_trusted_hosts_cover_loopback_names() -> None:
    assert {"127.0.0.1", "localhost", "[::1]"} <= set(trusted_hosts("127.0.0.1"))
    assert "127.9.9.9" in trusted_hosts("127.9.9.9")

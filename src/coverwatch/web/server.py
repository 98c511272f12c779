"""Running the dashboard: the loopback-only bind check and the uvicorn server."""

from __future__ import annotations

import ipaddress
import logging

from coverwatch.errors import InputError

logger = logging.getLogger(__name__)

#: Host names that always mean this machine (RFC 6761 section 6.3 reserves "localhost").
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or "localhost") can only be reached from this machine."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, allow_remote: bool) -> None:
    """Refuse to serve on an address other machines can reach unless ``allow_remote``.

    A host name other than localhost counts as remote: it may resolve to anything.
    """
    if not host.strip():
        raise InputError("--host: an address to bind is required")
    if not is_loopback(host) and not allow_remote:
        raise InputError(
            f"--host {host}: not a loopback address; the dashboard would be reachable from "
            "other machines. Add --allow-remote to serve it there (behind TLS)"
        )


def trusted_hosts(host: str) -> list[str]:
    """Host header values accepted when serving on loopback (guards against DNS rebinding)."""
    name = host.strip().strip("[]")
    return sorted({"127.0.0.1", "localhost", "::1", "[::1]", name, f"[{name}]"})


def serve(
    db: str,
    host: str,
    port: int,
    policy_path: str | None,
    allow_remote: bool,
    traffic_dir: str | None = None,
) -> None:
    """Serve the dashboard and API on ``host:port`` until interrupted (``traffic_dir``: the
    flow store for egress verdicts, None for none)."""
    check_bind(host, allow_remote)
    if not 0 < port < 65536:
        raise InputError(f"--port {port}: must be between 1 and 65535")
    import uvicorn

    from coverwatch.web.app import create_app

    app = create_app(
        db,
        policy_path,
        trusted=None if allow_remote else trusted_hosts(host),
        traffic_dir=traffic_dir,
    )
    logger.info("serving the dashboard on http://%s:%d/", host, port)
    # NOTE: proxy_headers off: without a declared proxy, X-Forwarded-* are client-controlled.
    uvicorn.run(
        app,
        host=host.strip("[]"),
        port=port,
        log_level="warning",
        proxy_headers=False,
        server_header=False,
    )

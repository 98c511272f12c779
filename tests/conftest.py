"""Shared fixtures: a real lab site on loopback, the real CLI in a subprocess, temp inventories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from coverwatch.credentials import Credential, CredentialStore
from coverwatch.lab.profiles import load_profiles
from coverwatch.lab.runner import LabProcess
from coverwatch.lab.site import DEFAULT_PASSWORD, DEFAULT_USERNAME

#: The session lab lives here; other tests that start labs use other /16s of 127.0.0.0/8.
SESSION_LAB_BASE = "127.40.0.0"


@pytest.fixture(scope="session")
def lab() -> Iterator[LabProcess]:
    """Every profile at least twice, on 127.40.0.x, for the whole test session."""
    hosts = 2 * len(load_profiles())
    with LabProcess(hosts=hosts, seed=11, base=SESSION_LAB_BASE, duration=1800) as site:
        yield site


@pytest.fixture(scope="session")
def lab_credentials() -> CredentialStore:
    """The credential every lab device accepts."""
    return CredentialStore(default=Credential(DEFAULT_USERNAME, DEFAULT_PASSWORD))


class Cli:
    """Runs the real ``coverwatch`` command line in a subprocess."""

    def __init__(self, db: Path) -> None:
        self.db = db

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        db: bool = True,
        env: dict[str, str] | None = None,
        timeout: float = 240,
    ) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "coverwatch"]
        if db:
            command += ["--db", str(self.db)]
        return subprocess.run(
            [*command, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )

    def json(self, *args: str) -> object:
        """Run and parse stdout as JSON, asserting success."""
        result = self(*args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """The CLI with a fresh inventory file in the test's temp folder."""
    return Cli(tmp_path / "inventory.db")


#: Debian's Chromium, driven by Playwright in the browser tests (scripts/test.sh installs it).
CHROMIUM = Path("/usr/bin/chromium")
#: Headless flags that keep Chromium off the network (no background services, no updates).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium)"
)


def free_port() -> int:
    """A TCP port nothing listens on at the moment, on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL cluster of its own, listening on 127.0.0.1 only, removed afterwards
    (skips where Debian's server is not installed)."""
    from tests.pg import PostgresMissing, throwaway_postgres

    try:
        with throwaway_postgres() as url:
            yield url
    except PostgresMissing as e:
        pytest.skip(str(e))


@pytest.fixture
def local_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Sets this process's local time zone (TZ) for the test, restored after it."""

    def use(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()

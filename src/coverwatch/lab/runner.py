"""Running a lab site: in this process (`run_lab`) or in a child process (`LabProcess`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from coverwatch import eventloop
from coverwatch.errors import LabError
from coverwatch.lab.server import LabServer
from coverwatch.lab.site import (
    DEFAULT_BASE,
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    LabHost,
    build_site,
)

READY = "coverwatch-lab-ready"


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = hard if hard == resource.RLIM_INFINITY else min(hard, max(needed, soft))
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < needed:
            raise LabError(f"the lab needs {needed} open files; the limit is {soft} (ulimit -n)")


def write_truth(site: list[LabHost], path: str) -> None:
    """Write the ``--truth`` file: address -> {profile, maker, brand, model, device_type, ...}."""
    truth = {host.ip: host.truth() for host in site}
    try:
        Path(path).write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    except OSError as e:
        raise LabError(f"cannot write truth file {path}: {e.strerror}") from e


async def serve_site(
    site: list[LabHost],
    duration: float | None,
    username: str,
    password: str,
    on_ready: Callable[[], None],
) -> None:
    """Serve ``site`` until ``duration`` seconds pass or SIGINT/SIGTERM arrives."""
    _raise_fd_limit(sum(len(h.profile.services) for h in site) + 1024)
    server = LabServer(site, username, password)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    on_ready()
    try:
        await asyncio.wait_for(stop.wait(), duration)
    except TimeoutError:
        pass
    finally:
        await server.stop()


def run_lab(
    hosts: int,
    seed: int,
    truth: str | None,
    duration: float | None,
    base: str = DEFAULT_BASE,
    username: str = DEFAULT_USERNAME,
    password: str = DEFAULT_PASSWORD,
    profiles: list[str] | None = None,
    on_ready: Callable[[list[LabHost]], None] = lambda site: None,
    hostile: bool = False,
) -> list[LabHost]:
    """Build and serve a lab site in this process; returns the site once it has stopped."""
    site = build_site(hosts, seed, base, profiles, hostile)
    if truth:
        write_truth(site, truth)
    eventloop.run(serve_site(site, duration, username, password, lambda: on_ready(site)))
    return site


class LabProcess:
    """A lab in a child process: ``with LabProcess(hosts=40) as lab: lab.truth ...``."""

    def __init__(
        self,
        hosts: int = 40,
        seed: int = 7,
        base: str = DEFAULT_BASE,
        duration: float = 900,
        profiles: list[str] | None = None,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        hostile: bool = False,
    ) -> None:
        self.args = [
            "--hosts",
            str(hosts),
            "--seed",
            str(seed),
            "--base",
            base,
            "--duration",
            str(duration),
            "--username",
            username,
        ]
        for name in profiles or []:
            self.args += ["--profile", name]
        if hostile:
            self.args.append("--hostile")
        self.password = password
        self.truth: dict[str, dict[str, Any]] = {}
        self._dir = tempfile.TemporaryDirectory(prefix="coverwatch-lab-")
        self._proc: subprocess.Popen[str] | None = None

    @property
    def truth_path(self) -> str:
        """Where the child wrote the truth file."""
        return os.path.join(self._dir.name, "truth.json")

    @property
    def pid(self) -> int | None:
        """The lab process's id while it runs (benchmarks read what answering cost it)."""
        return self._proc.pid if self._proc is not None else None

    def __enter__(self) -> LabProcess:
        env = {**os.environ, "COVERWATCH_LAB_PASSWORD": self.password}
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "coverwatch",
                "lab",
                *self.args,
                "--truth",
                self.truth_path,
                "--ready-line",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if line.strip() != READY:
            self._proc.wait(15)
            assert self._proc.stderr is not None
            why = self._proc.stderr.read().strip().splitlines()
            self.__exit__(None, None, None)
            raise LabError(f"the lab did not start: {why[-1] if why else line.strip()}")
        self.truth = json.loads(Path(self.truth_path).read_text(encoding="utf-8"))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.send_signal(signal.SIGINT)
                try:
                    self._proc.wait(15)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            for stream in (self._proc.stdout, self._proc.stderr):
                if stream:
                    stream.close()
        self._dir.cleanup()

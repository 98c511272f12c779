"""Active scan: every declared host and port, bounded in concurrency and rate.

A connect sweep finds the open ports; each open port with a known service is then probed as
soon as it is found (any other is just recorded open), and a host's web ports are asked for
ONVIF once its ports have settled (conversations.py says what each probe sends). Every answer
and every failure becomes an Observation; nothing is decided here about who made the device.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from typing import TYPE_CHECKING, assert_never

from coverwatch import eventloop
from coverwatch.credentials import CredentialStore
from coverwatch.models import Observation, ObsStatus
from coverwatch.observer import Observer
from coverwatch.probes.transport import connect_sweep
from coverwatch.sources import conversations
from coverwatch.sources.conversations import HostRecord
from coverwatch.sources.interface import Source
from coverwatch.targets import DEFAULT_PORTS

if TYPE_CHECKING:
    from aiolimiter import AsyncLimiter

logger = logging.getLogger(__name__)


class Probe(str, Enum):
    """What to say to an open port."""

    HTTP = "http"
    HTTPS = "https"
    RTSP = "rtsp"
    BANNER = "banner"


PORT_PROBES: dict[int, Probe] = {
    80: Probe.HTTP, 8080: Probe.HTTP, 8000: Probe.HTTP, 2020: Probe.HTTP, 8899: Probe.HTTP,
    443: Probe.HTTPS, 8443: Probe.HTTPS,
    554: Probe.RTSP, 8554: Probe.RTSP,
    21: Probe.BANNER, 22: Probe.BANNER, 23: Probe.BANNER,
}  # fmt: skip


@dataclass(frozen=True)
class ScanOptions:
    """How to scan: ports, politeness and credentials."""

    ports: tuple[int, ...] = DEFAULT_PORTS
    """TCP ports to sweep on every host."""
    concurrency: int = 256
    """Most connections open at once."""
    timeout: float = 3.0
    """Seconds allowed for each connect and each read."""
    rate: float | None = None
    """Most new connections per second, or None for no limit."""
    credentials: CredentialStore = field(default_factory=CredentialStore, repr=False)
    """Credentials for authenticated look-ups; never logged."""
    probes: bool = True
    """False: only find open ports (a connect sweep, like nmap -sT without -sV)."""


class ActiveScanSource(Source):
    """Sweeps ``hosts`` x ``options.ports`` and probes what answers."""

    def __init__(self, hosts: list[str], options: ScanOptions) -> None:
        self.hosts = hosts
        self.options = options
        self.failed_probes = 0
        """Probes that raised on what a device sent (each is a note on its host)."""

    def collect(self, observer: Observer) -> dict[str, list[Observation]]:
        """Run the scan; hosts with no open port are left out."""
        return eventloop.run(self.scan(observer))

    async def scan(self, observer: Observer) -> dict[str, list[Observation]]:
        """The scan as a coroutine, for callers that already run an event loop.

        A connect sweep of every host and port (one poller, no task per connection, in a
        worker thread) feeds the probes: each port is probed as soon as the sweep finds it
        open, and each host is asked for ONVIF and its management API once all its ports have
        answered or timed out and its port probes are done, while the sweep goes on, so a slow
        or filtered port never holds up the others. The sweep and the probes share
        ``options.concurrency`` (three quarters and a quarter). With ``options.rate``, the
        probes wait for the sweep (one pace for both).
        """
        ports = self.options.ports
        hosts = list(dict.fromkeys(self.hosts))
        concurrency = self.options.concurrency
        if not self.options.probes:
            return await self._sweep_only(hosts, observer)
        overlap = self.options.rate is None and concurrency > 1
        # NOTE: a filtered port holds its place in the sweep for the whole timeout, so the
        # sweep gets most of the budget.
        sweep_budget = max(1, concurrency * 3 // 4) if overlap else concurrency
        connections = asyncio.Semaphore(
            max(1, concurrency - sweep_budget) if overlap else concurrency
        )
        limiter: AsyncLimiter | None = None
        if self.options.rate:
            from aiolimiter import AsyncLimiter

            limiter = AsyncLimiter(self.options.rate, 1.0)
        loop = asyncio.get_running_loop()
        # Work for the probe workers, in the order the sweep settled it: (ip, port) for an open
        # port, (ip, None) once a host's every port has answered (always after its ports).
        work: asyncio.Queue[tuple[str, int | None] | None] = asyncio.Queue()
        remaining = dict.fromkeys(hosts, len(ports))
        open_ports: dict[str, list[int]] = {}
        records: dict[str, HostRecord] = {}
        probing: dict[str, int] = {}  # port probes of a host not finished yet
        probed: dict[str, asyncio.Event] = {}  # set once they are
        results: dict[str, list[Observation]] = {}
        observer.stage("scan", len(remaining))

        def answered(target: tuple[str, int], status: ObsStatus) -> None:
            # NOTE: runs in the sweep's thread; the loop reads a host's ports only after
            # call_soon_threadsafe hands them over, and this thread no longer writes them.
            ip, port = target
            if status is ObsStatus.OK:
                open_ports.setdefault(ip, []).append(port)
                if overlap:
                    loop.call_soon_threadsafe(work.put_nowait, (ip, port))
            remaining[ip] -= 1
            if remaining[ip] == 0:
                if ip not in open_ports:
                    observer.advance()
                elif overlap:
                    loop.call_soon_threadsafe(work.put_nowait, (ip, None))

        async def paced(call: Awaitable[None], host: HostRecord, port: int, what: str) -> None:
            async with connections:
                if limiter is not None:
                    await limiter.acquire()
                await self._guarded(call, host, port, what)

        async def probe_port(ip: str, port: int) -> None:
            host = records.get(ip) or records.setdefault(ip, HostRecord(ip, self.options.timeout))
            host.mark_open(port)
            probing[ip] = probing.get(ip, 0) + 1
            try:
                await paced(self._port(host, port), host, port, "probe")
            finally:
                probing[ip] -= 1
                if not probing[ip] and ip in probed:
                    probed[ip].set()

        async def finish_host(ip: str) -> None:
            host = records[ip]
            if probing.get(ip):  # its last port probes are still talking
                await probed.setdefault(ip, asyncio.Event()).wait()
            if host.web_ports:
                credential = self.options.credentials.for_host(ip)
                web = host.web_ports[0][0]
                await paced(conversations.probe_onvif(host, credential), host, web, "onvif")
                await paced(
                    conversations.probe_management(host, credential), host, web, "management"
                )
            # NOTE: probes answer in any order; a host's record is kept in port order.
            host.observations.sort(key=lambda o: o.port if o.port is not None else -1)
            results[ip] = host.observations
            observer.advance()

        async def worker() -> None:
            # NOTE: a host's ports are queued before the host itself, so by the time a worker
            # takes the host every port probe it waits for has started: no worker waits for
            # work still queued behind it.
            while (item := await work.get()) is not None:
                ip, port = item
                await (finish_host(ip) if port is None else probe_port(ip, port))
            work.put_nowait(None)  # pass the end on to the next worker

        sweep = self._sweep(hosts, sweep_budget, answered)
        workers = [asyncio.create_task(worker()) for _ in range(max(1, concurrency // 2))]
        try:
            await sweep
        except BaseException:  # cancelled (Ctrl-C) or the sweep failed: no probe outlives it
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        if not overlap:
            for ip in hosts:
                for port in sorted(open_ports.get(ip, ())):
                    work.put_nowait((ip, port))
                if ip in open_ports:
                    work.put_nowait((ip, None))
        work.put_nowait(None)
        await asyncio.gather(*workers)
        observer.done()
        if self.failed_probes:
            observer.note(
                f"{self.failed_probes} probe(s) could not read what a device sent; each is a "
                "note on its host (probe.error), the rest of the scan is kept (-v for details)"
            )
        return {ip: results[ip] for ip in hosts if ip in results}

    async def _sweep_only(
        self, hosts: list[str], observer: Observer
    ) -> dict[str, list[Observation]]:
        """Without probes the sweep's answers are the whole result: its open ports, in port
        order, each host counted done as its last port answers (no probe machinery)."""
        remaining = dict.fromkeys(hosts, len(self.options.ports))
        observer.stage("scan", len(remaining))

        def answered(target: tuple[str, int], _status: ObsStatus) -> None:
            ip = target[0]
            remaining[ip] -= 1
            if remaining[ip] == 0:
                observer.advance()

        swept = await self._sweep(hosts, self.options.concurrency, answered)
        records: dict[str, HostRecord] = {}
        for (ip, port), status in sorted(swept.items(), key=lambda r: r[0][1]):
            if status is ObsStatus.OK:
                if ip not in records:
                    records[ip] = HostRecord(ip, self.options.timeout)
                records[ip].mark_open(port)
        observer.done()
        return {ip: records[ip].observations for ip in hosts if ip in records}

    def _sweep(
        self,
        hosts: list[str],
        budget: int,
        answered: Callable[[tuple[str, int], ObsStatus], None],
    ) -> asyncio.Future[dict[tuple[str, int], ObsStatus]]:
        """The connect sweep of ``hosts`` x the ports, at most ``budget`` connects in flight,
        in a worker thread (``answered`` is called there, as each target settles)."""
        return asyncio.get_running_loop().run_in_executor(
            None,
            partial(
                connect_sweep,
                ((ip, port) for ip in hosts for port in self.options.ports),
                self.options.timeout,
                budget,
                self.options.rate,
                on_result=answered,
            ),
        )

    async def _guarded(self, call: Awaitable[None], host: HostRecord, port: int, what: str) -> None:
        """The error boundary of one (host, port, probe): whatever a device's bytes make a
        parser raise becomes a note on that host, never the end of the scan."""
        try:
            await call
        except Exception as e:  # device input is hostile: the scan goes on
            self.failed_probes += 1
            logger.debug("%s on %s:%s failed", what, host.ip, port, exc_info=True)
            reason = f"{what} failed on the device's answer: {e.__class__.__name__}: {e}"
            host.fail(port, "probe", ObsStatus.ERROR, reason[:300])

    async def _port(self, host: HostRecord, port: int) -> None:
        kind = PORT_PROBES.get(port)
        match kind:
            case None:
                pass  # the sweep found it open; nothing more to ask
            case Probe.HTTP | Probe.HTTPS:
                await conversations.probe_http(host, port, tls_wrapped=kind is Probe.HTTPS)
            case Probe.RTSP:
                await conversations.probe_rtsp(host, port)
            case Probe.BANNER:
                await conversations.probe_banner(host, port)
            case _:
                assert_never(kind)

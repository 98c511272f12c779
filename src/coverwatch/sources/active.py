"""Active scan: a TCP connect sweep with bounded concurrency, then a probe on each open port.

Each open port gets the probe its service usually speaks (HTTP, HTTPS+TLS, RTSP, ONVIF,
banner). Every answer and every failure becomes an Observation; nothing is decided here about
who made the device.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import partial
from typing import assert_never

from aiolimiter import AsyncLimiter

from coverwatch.credentials import Credential, CredentialStore
from coverwatch.models import Observation, ObsStatus, SourceKind
from coverwatch.observer import Observer
from coverwatch.probes import banner, http, onvif, rtsp, tls
from coverwatch.probes.transport import ProbeFailure, is_port_open, open_stream
from coverwatch.sources.interface import Source
from coverwatch.targets import DEFAULT_PORTS


class Probe(str, Enum):
    """What to say to an open port."""

    HTTP = "http"
    HTTPS = "https"
    RTSP = "rtsp"
    BANNER = "banner"


#: Same-origin redirects followed from the root page (as a browser would, but bounded).
MAX_REDIRECTS = 2

PORT_PROBES: dict[int, Probe] = {
    80: Probe.HTTP,
    8080: Probe.HTTP,
    8000: Probe.HTTP,
    2020: Probe.HTTP,
    8899: Probe.HTTP,
    443: Probe.HTTPS,
    8443: Probe.HTTPS,
    554: Probe.RTSP,
    8554: Probe.RTSP,
    21: Probe.BANNER,
    22: Probe.BANNER,
    23: Probe.BANNER,
}


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


class _Host:
    """Collects one host's observations with a shared timestamp and port context."""

    def __init__(self, ip: str) -> None:
        self.ip = ip
        self.observations: list[Observation] = []
        self.at = datetime.now(UTC)

    def add(self, port: int, protocol: str, values: dict[str, str]) -> None:
        for signal, value in values.items():
            self.observations.append(
                Observation(
                    self.ip, signal, value, port, protocol, ObsStatus.OK, SourceKind.SCAN, self.at
                )
            )

    def fail(self, port: int, protocol: str, status: ObsStatus, reason: str) -> None:
        self.observations.append(
            Observation(
                self.ip,
                f"{protocol}.error",
                reason,
                port,
                protocol,
                status,
                SourceKind.SCAN,
                self.at,
            )
        )


class ActiveScanSource(Source):
    """Sweeps ``hosts`` x ``options.ports`` and probes what answers."""

    def __init__(self, hosts: list[str], options: ScanOptions) -> None:
        self.hosts = hosts
        self.options = options
        self._semaphore: asyncio.Semaphore | None = None
        self._limiter: AsyncLimiter | None = None

    def collect(self, observer: Observer) -> dict[str, list[Observation]]:
        """Run the scan; hosts with no open port are left out."""
        return asyncio.run(self.scan(observer))

    async def scan(self, observer: Observer) -> dict[str, list[Observation]]:
        """The scan as a coroutine, for callers that already run an event loop."""
        self._semaphore = asyncio.Semaphore(self.options.concurrency)
        rate = self.options.rate
        self._limiter = AsyncLimiter(rate, 1.0) if rate else None
        queue: asyncio.Queue[str] = asyncio.Queue()
        for ip in self.hosts:
            queue.put_nowait(ip)
        results: dict[str, list[Observation]] = {}
        observer.stage("scan", len(self.hosts))

        async def worker() -> None:
            while not queue.empty():
                ip = queue.get_nowait()
                observations = await self._scan_host(ip)
                if observations:
                    results[ip] = observations
                observer.advance()

        workers = max(1, min(len(self.hosts), self.options.concurrency // 2 or 1))
        await asyncio.gather(*(worker() for _ in range(workers)))
        observer.done()
        return {ip: results[ip] for ip in self.hosts if ip in results}

    def _slot(self) -> AbstractAsyncContextManager[object]:
        assert self._semaphore is not None
        return self._semaphore

    async def _guarded(self, call: Callable[[], Awaitable[None]]) -> None:
        limiter: AbstractAsyncContextManager[object] = self._limiter or nullcontext()
        async with self._slot():
            async with limiter:
                pass
            await call()

    async def _scan_host(self, ip: str) -> list[Observation]:
        host = _Host(ip)
        statuses: dict[int, ObsStatus] = {}

        async def check(port: int) -> None:
            statuses[port] = await is_port_open(ip, port, self.options.timeout)

        await asyncio.gather(*(self._guarded(partial(check, port)) for port in self.options.ports))
        open_ports = sorted(p for p, s in statuses.items() if s is ObsStatus.OK)
        for port in open_ports:
            host.add(port, "tcp", {"tcp.port": str(port)})
        probes = [port for port in open_ports if port in PORT_PROBES]
        await asyncio.gather(*(self._guarded(partial(self._probe, host, p)) for p in probes))
        return host.observations

    async def _probe(self, host: _Host, port: int) -> None:
        kind = PORT_PROBES[port]
        match kind:
            case Probe.HTTP | Probe.HTTPS:
                await self._probe_http(host, port, tls_wrapped=kind is Probe.HTTPS)
            case Probe.RTSP:
                await self._probe_rtsp(host, port)
            case Probe.BANNER:
                await self._probe_banner(host, port)
            case _:
                assert_never(kind)

    async def _exchange(
        self,
        host: _Host,
        port: int,
        request: bytes,
        tls_wrapped: bool,
        complete: Callable[[bytes], bool],
    ) -> tuple[bytes, bytes | None]:
        async with open_stream(host.ip, port, self.options.timeout, tls_wrapped) as stream:
            await stream.send(request)
            reply = await stream.read_message(complete)
            return reply, stream.peer_certificate

    async def _probe_http(self, host: _Host, port: int, tls_wrapped: bool) -> None:
        protocol = "https" if tls_wrapped else "http"
        authority = host.ip if ":" not in host.ip else f"[{host.ip}]"
        path = "/"
        for hop in range(1 + MAX_REDIRECTS):
            try:
                reply, cert = await self._exchange(
                    host,
                    port,
                    http.build_request(f"{authority}:{port}", path),
                    tls_wrapped,
                    http.is_complete,
                )
            except ProbeFailure as failure:
                host.fail(port, protocol, failure.status, failure.reason)
                return
            if cert and hop == 0:
                host.add(port, "tls", tls.certificate_signals(cert))
            try:
                status, headers, body = http.parse_response(reply)
            except http.MalformedReply as e:
                host.fail(port, protocol, ObsStatus.MALFORMED, str(e))
                return
            host.add(port, protocol, http.signals(status, headers, body))
            next_path = http.same_origin_redirect(status, headers, path, authority, port)
            if next_path is None:
                break
            path = next_path
        await self._probe_onvif(host, port, tls_wrapped, authority)

    async def _soap(
        self, host: _Host, port: int, tls_wrapped: bool, authority: str, envelope: bytes
    ) -> tuple[int, object]:
        request = http.build_request(
            f"{authority}:{port}",
            onvif.DEFAULT_PATH,
            "POST",
            envelope,
            [("Content-Type", "application/soap+xml; charset=utf-8")],
        )
        reply, _ = await self._exchange(host, port, request, tls_wrapped, http.is_complete)
        status, _headers, body = http.parse_response(reply, "POST")
        return status, onvif.parse_envelope(body.encode("utf-8"))

    async def _probe_onvif(self, host: _Host, port: int, tls_wrapped: bool, authority: str) -> None:
        try:
            _status, root = await self._soap(
                host, port, tls_wrapped, authority, onvif.build_envelope("GetSystemDateAndTime")
            )
        except (ProbeFailure, http.MalformedReply, onvif.MalformedSoap):
            return  # most web servers are not ONVIF services: not worth an observation
        facts = onvif.system_date_time(root)  # type: ignore[arg-type]
        if not facts:
            return
        host.add(port, "onvif", facts)
        credential = self.options.credentials.for_host(host.ip)
        if credential is not None:
            await self._onvif_device_information(host, port, tls_wrapped, authority, credential)

    async def _onvif_device_information(
        self, host: _Host, port: int, tls_wrapped: bool, authority: str, credential: Credential
    ) -> None:
        envelope = onvif.build_envelope(
            "GetDeviceInformation", credential.username, credential.password
        )
        try:
            _status, root = await self._soap(host, port, tls_wrapped, authority, envelope)
        except ProbeFailure as failure:
            host.fail(port, "onvif", failure.status, failure.reason)
            return
        except (http.MalformedReply, onvif.MalformedSoap) as e:
            host.fail(port, "onvif", ObsStatus.MALFORMED, str(e))
            return
        fault = onvif.fault_reason(root)  # type: ignore[arg-type]
        if fault:
            host.fail(port, "onvif", ObsStatus.ERROR, f"GetDeviceInformation refused: {fault}")
            return
        host.add(port, "onvif", onvif.device_information(root))  # type: ignore[arg-type]

    async def _probe_rtsp(self, host: _Host, port: int) -> None:
        authority = host.ip if ":" not in host.ip else f"[{host.ip}]"
        url = f"rtsp://{authority}:{port}/"
        try:
            async with open_stream(host.ip, port, self.options.timeout) as stream:
                for cseq, method in enumerate(("OPTIONS", "DESCRIBE"), start=1):
                    await stream.send(rtsp.build_request(method, url, cseq))
                    reply = await stream.read_message(rtsp.is_complete, 64 * 1024)
                    status, headers = rtsp.parse_response(reply)
                    host.add(port, "rtsp", rtsp.signals(method, status, headers))
        except ProbeFailure as failure:
            host.fail(port, "rtsp", failure.status, failure.reason)
        except rtsp.MalformedRtsp as e:
            host.fail(port, "rtsp", ObsStatus.MALFORMED, str(e))

    async def _probe_banner(self, host: _Host, port: int) -> None:
        signal = banner.BANNER_SIGNALS[port]
        protocol = signal.split(".")[0]
        try:
            async with open_stream(host.ip, port, self.options.timeout) as stream:
                data = await stream.read_message(banner.is_complete, 4096)
        except ProbeFailure as failure:
            host.fail(port, protocol, failure.status, failure.reason)
            return
        text = banner.parse_banner(data)
        if text:
            host.add(port, protocol, {signal: text})

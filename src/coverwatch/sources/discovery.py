"""Discovery: ask the network who is there, in the protocols cameras and recorders answer.

Every protocol of the registry (``coverwatch.discovery.PROTOCOLS``: ONVIF WS-Discovery, SADP,
DHIP, SSDP/UPnP with the device description over HTTP, mDNS/DNS-SD and the vendors' own
protocols), each a module of ``coverwatch.probes`` (what is sent, how replies parse). Each runs
unicast to a target list, link-wide on one interface (multicast, TTL 1, or broadcast), or
both. Replies become Observations of the replying address with the device's own words;
malformed, oversized or surplus replies are dropped and counted per protocol
(``DiscoveryReport.warnings``, the malformed ones by why in ``DiscoveryReport.malformed``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from coverwatch import eventloop
from coverwatch.discovery import PROTOCOLS, DiscoveryProtocol
from coverwatch.identity import normalise_mac
from coverwatch.models import Observation, ObsStatus, SourceKind
from coverwatch.observer import NULL_OBSERVER, Observer
from coverwatch.probes import http, ssdp
from coverwatch.probes.protocol import MalformedReply
from coverwatch.probes.transport import (
    Datagram,
    DatagramCounts,
    ProbeFailure,
    Send,
    UdpSetupError,
    open_stream,
    udp_exchange,
)
from coverwatch.sources.interface import Source, SourceError

logger = logging.getLogger(__name__)

#: Most observations kept per host and protocol: a chatty device cannot grow the result.
MAX_SIGNALS_PER_HOST = 64
#: Most device descriptions fetched per SSDP run (one per replying host).
MAX_DESCRIPTIONS = 1024
#: The fixed ports a discovery run may listen on (a protocol's group port, a fixed reply port):
#: no protocol's sending socket takes one while another protocol needs it.
_LISTENED_PORTS = frozenset(
    port for spec in PROTOCOLS.values() for port in (spec.port, spec.reply_port) if port
)


@dataclass(frozen=True)
class DiscoveryOptions:
    """Where and how long to ask."""

    targets: tuple[str, ...] = ()
    """Addresses to probe unicast (each protocol's port on each address)."""
    interface: str | None = None
    """Interface to probe multicast on; None: no multicast."""
    timeout: float = 3.0
    """Seconds to collect replies (per protocol; protocols run concurrently)."""
    protocols: tuple[DiscoveryProtocol, ...] = tuple(DiscoveryProtocol)
    """Which protocols to run."""


@dataclass
class DiscoveryReport:
    """Observations keyed by replying address, and per-protocol drop counts."""

    observations: dict[str, list[Observation]] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    """``<protocol>.<reason>`` -> count: oversized, flood, malformed, unexpected_source,
    send_errors, description_failed, setup_failed."""
    malformed: dict[str, int] = field(default_factory=dict)
    """``<protocol>.<why>`` -> count of the malformed replies by why (truncated, bad_magic,
    encoding, contradictory, not_a_reply, empty; ``invalid`` when the parser gives none)."""

    def warn(self, protocol: DiscoveryProtocol, reason: str, count: int = 1) -> None:
        """Count ``count`` dropped replies (or failures) of ``protocol`` for ``reason``."""
        if count:
            key = f"{protocol.value}.{reason}"
            self.warnings[key] = self.warnings.get(key, 0) + count


class _Recorder:
    """Turns parsed signals into Observations, bounded per host."""

    def __init__(self, report: DiscoveryReport) -> None:
        self.report = report
        self.at = datetime.now(UTC)

    def add(
        self, ip: str, port: int, protocol: DiscoveryProtocol, signals: dict[str, list[str]]
    ) -> None:
        observations = self.report.observations.setdefault(ip, [])
        for signal, values in signals.items():
            for value in values:
                if signal == "mac":
                    value = normalise_mac(value) or ""
                if not value or len(observations) >= MAX_SIGNALS_PER_HOST * len(PROTOCOLS):
                    continue
                observation = Observation(
                    ip,
                    signal,
                    value,
                    port,
                    protocol.value,
                    ObsStatus.OK,
                    SourceKind.DISCOVERY,
                    self.at,
                )
                if observation not in observations:
                    observations.append(observation)


def _as_lists(signals: dict[str, str]) -> dict[str, list[str]]:
    return {k: [v] for k, v in signals.items()}


def parse(protocol: DiscoveryProtocol, data: bytes) -> list[dict[str, list[str]]]:
    """Signals in one reply (several for a multi-match WS-Discovery reply); ValueError when the
    reply is malformed. SSDP replies give their headers; the description is fetched later."""
    return PROTOCOLS[protocol].parse(data)


class DiscoverySource(Source):
    """Runs the discovery protocols unicast to ``options.targets`` and/or multicast."""

    def __init__(self, options: DiscoveryOptions) -> None:
        if not options.targets and not options.interface:
            raise SourceError("discovery needs targets (unicast) or an interface (multicast)")
        self.options = options
        self.report = DiscoveryReport()

    def collect(self, observer: Observer) -> dict[str, list[Observation]]:
        """Run discovery; ``self.report.warnings`` holds the drop counts afterwards."""
        self.report = eventloop.run(self.discover(observer))
        return self.report.observations

    async def discover(self, observer: Observer = NULL_OBSERVER) -> DiscoveryReport:
        """Discovery as a coroutine, for callers that already run an event loop."""
        report = DiscoveryReport()
        recorder = _Recorder(report)
        protocols = self.options.protocols
        observer.stage("discovery", len(protocols))

        async def one(protocol: DiscoveryProtocol) -> None:
            await self._protocol(protocol, report, recorder)
            observer.advance()

        await asyncio.gather(*(one(p) for p in protocols))
        for key, count in sorted(report.warnings.items()):
            protocol = key.rsplit(".", 1)[0]
            why = [
                f"{n} {k.rsplit('.', 1)[1]}"
                for k, n in sorted(report.malformed.items())
                if key.endswith(".malformed") and k.rsplit(".", 1)[0] == protocol
            ]
            detail = f": {', '.join(why)}" if why else ""
            observer.note(f"discovery: dropped {count} reply(ies) ({key}{detail})")
        observer.done()
        targets = set(self.options.targets)
        order = [ip for ip in self.options.targets if ip in report.observations]
        order += sorted(ip for ip in report.observations if ip not in targets)
        report.observations = {ip: report.observations[ip] for ip in order}
        return report

    async def _protocol(
        self, protocol: DiscoveryProtocol, report: DiscoveryReport, recorder: _Recorder
    ) -> None:
        wire = PROTOCOLS[protocol]
        sends = [Send(ip, wire.port, wire.build(ip)) for ip in self.options.targets]
        if self.options.interface:
            sends.append(Send(wire.group, wire.port, wire.build(wire.group)))
        counts = DatagramCounts()
        listen = None
        if wire.reply_to_group and self.options.interface:
            listen = (wire.group, wire.port)
        elif wire.reply_port is not None:
            listen = ("0.0.0.0", wire.reply_port)  # NOTE: answers come to a fixed port
        exchange = functools.partial(
            udp_exchange,
            sends,
            self.options.timeout,
            counts,
            self.options.interface,
            keep_free=_LISTENED_PORTS,
        )
        try:
            replies = await exchange(listen)
        except UdpSetupError as e:
            if listen is None:
                raise SourceError(f"discovery ({protocol.value}): {e}") from e
            report.warn(protocol, "setup_failed")  # group port busy: unicast replies only
            replies = await exchange()
        report.warn(protocol, "oversized", counts.oversized)
        report.warn(protocol, "flood", counts.flood)
        report.warn(protocol, "send_errors", counts.send_errors)
        # NOTE: a listener on the protocol's own port hears our broadcast requests too, those
        # of every protocol sharing the port included (Vivotek and Foscam both use 10000)
        sent = {s.data for s in sends} | {
            other.build(other.group) for other in PROTOCOLS.values() if other.port == wire.port
        }
        accepted = self._accepted(protocol, [r for r in replies if r.data not in sent], report)
        described: set[str] = set()
        for reply in accepted:
            try:
                matches = parse(protocol, reply.data)
            except ValueError as e:
                report.warn(protocol, "malformed")
                why = e.reason if isinstance(e, MalformedReply) else "invalid"
                key = f"{protocol.value}.{why}"
                report.malformed[key] = report.malformed.get(key, 0) + 1
                logger.debug(
                    "discovery %s: malformed reply from %s: %s", protocol.value, reply.ip, e
                )
                continue
            for signals in matches:
                recorder.add(reply.ip, wire.port, protocol, signals)
                location = signals.get("upnp.location", [""])[0]
                if location and reply.ip not in described and len(described) < MAX_DESCRIPTIONS:
                    described.add(reply.ip)
                    await self._describe(reply.ip, location, report, recorder)

    def _accepted(
        self, protocol: DiscoveryProtocol, replies: Iterable[Datagram], report: DiscoveryReport
    ) -> list[Datagram]:
        # NOTE: in unicast-only mode a reply from an address we did not ask is not evidence
        # about any target (spoofed or stray); it is dropped and counted.
        if self.options.interface:
            return list(replies)
        targets = set(self.options.targets)
        kept = [r for r in replies if r.ip in targets]
        report.warn(protocol, "unexpected_source", sum(1 for r in replies if r.ip not in targets))
        return kept

    async def _describe(
        self, ip: str, location: str, report: DiscoveryReport, recorder: _Recorder
    ) -> None:
        target = ssdp.location_target(location, ip)
        if target is None:
            report.warn(DiscoveryProtocol.SSDP, "foreign_location")
            return
        host, port, path = target
        authority = f"{host}:{port}"
        try:
            async with open_stream(host, port, self.options.timeout) as stream:
                await stream.send(http.build_request(authority, path))
                raw = await stream.read_message(http.is_complete, 64 * 1024)
            status, _headers, body = http.parse_response(raw)
            if status != 200:
                raise ssdp.MalformedSsdp(f"description answered HTTP {status}")
            signals = ssdp.parse_description(body)
        except (ProbeFailure, ValueError) as e:
            report.warn(DiscoveryProtocol.SSDP, "description_failed")
            logger.debug("discovery ssdp: description at %s failed: %s", location, e)
            return
        recorder.add(ip, port, DiscoveryProtocol.SSDP, _as_lists(signals))


def discover(
    targets: list[str] | None,
    interface: str | None,
    timeout: float = 3.0,
    observer: Observer = NULL_OBSERVER,
) -> DiscoveryReport:
    """Run every discovery protocol: unicast to ``targets``, multicast on ``interface``.

    Returns observations keyed by the replying address plus per-protocol warning counts.
    Raises SourceError when neither is given or the interface does not exist.
    """
    source = DiscoverySource(DiscoveryOptions(tuple(targets or ()), interface, timeout))
    source.collect(observer)
    return source.report

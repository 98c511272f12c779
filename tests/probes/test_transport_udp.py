"""UDP primitives of probes.transport: bounded replies, flood cap, counted drops (loopback only)."""

from __future__ import annotations

import asyncio
import resource
import socket
from pathlib import Path

import pytest

from coverwatch.probes.transport import (
    DatagramCounts,
    Send,
    UdpSetupError,
    udp_exchange,
)


class _Echo(asyncio.DatagramProtocol):
    """Answers each datagram with ``copies`` replies of ``size`` bytes."""

    def __init__(self, size: int, copies: int) -> None:
        self.size, self.copies = size, copies
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        for _ in range(self.copies):
            self.transport.sendto(b"x" * self.size, addr)


async def _exchange(size: int, copies: int, **kwargs: int) -> tuple[list[int], DatagramCounts]:
    loop = asyncio.get_running_loop()
    transport, _protocol = await loop.create_datagram_endpoint(
        lambda: _Echo(size, copies), local_addr=("127.41.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    counts = DatagramCounts()
    try:
        replies = await udp_exchange([Send("127.41.0.1", port, b"?")], 0.3, counts, **kwargs)
    finally:
        transport.close()
    assert all(r.ip == "127.41.0.1" and r.port == port for r in replies)
    return [len(r.data) for r in replies], counts


def test_replies_are_collected() -> None:
    sizes, counts = asyncio.run(_exchange(100, 3))
    assert sizes == [100, 100, 100] and counts.received == 3


def test_oversized_replies_are_dropped_and_counted() -> None:
    sizes, counts = asyncio.run(_exchange(60_000, 2, max_bytes=16 * 1024))
    assert sizes == [] and counts.oversized == 2


def test_a_flood_is_capped_and_counted() -> None:
    sizes, counts = asyncio.run(_exchange(10, 500, max_replies=50))
    assert len(sizes) == 50
    assert counts.flood == counts.received - 50 > 0


def test_multicast_needs_an_interface() -> None:
    with pytest.raises(UdpSetupError, match="interface"):
        asyncio.run(udp_exchange([Send("239.255.255.250", 3702, b"x")], 0.1, DatagramCounts()))


def test_unknown_interface() -> None:
    with pytest.raises(UdpSetupError, match="no network interface"):
        asyncio.run(udp_exchange([], 0.1, DatagramCounts(), interface="cw-nope0"))


def test_closed_port_gives_no_reply_and_no_error() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.41.0.2", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: ICMP port unreachable
    counts = DatagramCounts()
    replies = asyncio.run(udp_exchange([Send("127.41.0.2", port, b"x")], 0.2, counts))
    assert replies == [] and counts.received == 0


class _Mirror(asyncio.DatagramProtocol):
    """Sends each datagram back to its sender."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(data, addr)


def test_exchanges_running_at_once_each_get_their_own_replies() -> None:
    # A discovery run asks every protocol at once, each from its own ephemeral socket, and
    # scans can run side by side. Two sockets that shared a port would have one exchange's
    # answers delivered to the other: a protocol's devices lost, another's answers misread.
    # 800 exchanges at once make such a shared port all but certain if the kernel allows it.
    exchanges = 800

    async def run() -> list[list[bytes]]:
        loop = asyncio.get_running_loop()
        # one mirror for every 100 exchanges: a socket's receive buffer holds a few hundred
        mirrors = [
            (await loop.create_datagram_endpoint(_Mirror, local_addr=("127.41.0.3", 0)))[0]
            for _ in range(exchanges // 100)
        ]
        ports = [m.get_extra_info("sockname")[1] for m in mirrors]
        try:
            answers = await asyncio.gather(
                *(
                    udp_exchange(
                        [Send("127.41.0.3", ports[n % len(ports)], b"%d" % n)],
                        0.5,
                        DatagramCounts(),
                    )
                    for n in range(exchanges)
                )
            )
        finally:
            for mirror in mirrors:
                mirror.close()
        return [[r.data for r in replies] for replies in answers]

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * exchanges)), hard))
    try:
        got = asyncio.run(run())
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert [n for n, data in enumerate(got) if data != [b"%d" % n]] == []


class _Senders(asyncio.DatagramProtocol):
    """Remembers the port each datagram came from."""

    def __init__(self) -> None:
        self.ports: list[int] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.ports.append(addr[1])


def test_an_exchange_sends_from_no_port_a_listener_may_need() -> None:
    # A discovery run listens on fixed ports (SADP's 37020, Xiongmai's 34569 lie in the
    # ephemeral range) while other protocols send: a sender on such a port would keep the
    # listener from binding. Keeping half the ephemeral range free shows the rule holds.
    ports_file = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low, high = map(int, ports_file.read_text().split())
    kept = range(low, (low + high) // 2)

    async def run() -> list[int]:
        loop = asyncio.get_running_loop()
        senders = _Senders()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: senders, local_addr=("127.41.0.4", 0)
        )
        port = transport.get_extra_info("sockname")[1]
        try:
            for _ in range(40):
                await udp_exchange(
                    [Send("127.41.0.4", port, b"?")], 0.01, DatagramCounts(), keep_free=kept
                )
        finally:
            transport.close()
        return senders.ports

    ports = asyncio.run(run())
    assert len(ports) == 40 and not [p for p in ports if p in kept]

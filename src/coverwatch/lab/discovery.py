"""The lab's discovery responders: every registered protocol (``coverwatch.discovery``) over UDP.

Unicast: every lab host that speaks a protocol binds that protocol's UDP port on its own
address and answers there. Multicast: only when the lab runs inside a network namespace other
than the initial one (a namespace a test created, see ``in_private_netns``) and is given an
interface, one socket per protocol joins the protocol's group on that interface and every
host that speaks the protocol answers from its own address, as a segment of real devices would.
What each host answers comes from ``lab.answers``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
import struct
from collections.abc import Callable
from pathlib import Path
from typing import cast

from coverwatch.discovery import PROTOCOLS
from coverwatch.errors import LabError
from coverwatch.lab.answers import Answerer, speaks
from coverwatch.lab.site import LabHost
from coverwatch.probes.transport import UdpSetupError, interface_index

logger = logging.getLogger(__name__)

_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
#: Larger requests are ignored (every real probe is well under 2 KiB).
MAX_REQUEST = 9000
_NETNS_DIR = Path("/run/netns")


def in_private_netns() -> bool:
    """True when this process runs in a network namespace other than the initial one.

    The initial namespace is PID 1's: compare inode numbers of ``/proc/self/ns/net`` and
    ``/proc/1/ns/net``. Where PID 1's is unreadable (a container without ptrace rights on its
    init), a namespace created by ``ip netns add`` (a bind mount under ``/run/netns``) is
    recognised by its inode instead; anything else counts as the initial namespace.
    """
    try:
        own = os.stat("/proc/self/ns/net").st_ino
    except OSError:
        return False
    try:
        return own != os.stat("/proc/1/ns/net").st_ino
    except OSError:
        pass
    try:
        return any(entry.stat().st_ino == own for entry in _NETNS_DIR.iterdir())
    except OSError:
        return False


def check_bind_address(ip: str) -> None:
    """Refuse any address outside 127.0.0.0/8 unless the lab runs in a private namespace."""
    if ipaddress.ip_address(ip) in _LOOPBACK:
        return
    if not in_private_netns():
        raise LabError(
            f"refusing to bind {ip}: outside a private network namespace the lab only uses "
            "127.0.0.0/8"
        )


class _Responder(asyncio.DatagramProtocol):
    """Answers datagrams for one or more hosts on one protocol."""

    def __init__(
        self,
        protocol: str,
        hosts: list[Answerer],
        senders: dict[str, _Responder],
        reply_port: int | None = None,
    ):
        self.protocol = protocol
        self.hosts = hosts
        self.senders = senders
        self.reply_port = reply_port
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) > MAX_REQUEST:
            return
        # NOTE: some devices answer to a fixed port rather than the asker's (Bosch 1758,
        # Panasonic 10669: probes/bosch.py, probes/panasonic.py).
        addr = (addr[0], self.reply_port) if self.reply_port is not None else addr
        for answerer in self.hosts:
            reply = answerer.answer(self.protocol, data)
            if reply is None:
                continue
            transport = self.senders.get(answerer.host.ip, self).transport
            if transport is not None:
                try:
                    transport.sendto(reply, addr)
                except OSError as e:  # the prober left; nothing to answer to
                    logger.debug("lab %s reply to %s failed: %s", self.protocol, addr, e)


def _socket(bind: tuple[str, int], group: str | None, ifindex: int | None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setblocking(False)
        sock.bind(bind)
        if group is not None and ifindex is not None:
            request = socket.inet_aton(group) + socket.inet_aton("0.0.0.0")
            request += struct.pack("@i", ifindex)  # struct ip_mreqn (Linux ip(7))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, request)
    except OSError as e:
        sock.close()
        raise LabError(f"cannot listen on UDP {bind[0]}:{bind[1]}: {e.strerror or e}") from e
    return sock


def _factory(responder: _Responder) -> Callable[[], _Responder]:
    return lambda: responder


class DiscoveryResponders:
    """Starts and stops every discovery listener of a lab site."""

    def __init__(self, hosts: list[LabHost], interface: str | None = None) -> None:
        self.hosts = hosts
        self.interface = interface
        self._transports: list[asyncio.BaseTransport] = []

    async def start(self) -> None:
        """Bind the unicast listeners and, in a private namespace, the multicast groups."""
        loop = asyncio.get_running_loop()
        ifindex: int | None = None
        if self.interface:
            if not in_private_netns():
                raise LabError("multicast discovery answers only run inside a private netns")
            try:
                ifindex = interface_index(self.interface)
            except UdpSetupError as e:
                raise LabError(str(e)) from e
        for key, spec in PROTOCOLS.items():
            protocol, port, group = key.value, spec.port, spec.group
            answerers = [Answerer(h) for h in self.hosts if speaks(h, protocol)]
            senders: dict[str, _Responder] = {}
            for answerer in answerers:
                check_bind_address(answerer.host.ip)
                responder = _Responder(protocol, [answerer], senders, spec.reply_port)
                sock = _socket((answerer.host.ip, port), None, None)
                transport, _ = await loop.create_datagram_endpoint(_factory(responder), sock=sock)
                senders[answerer.host.ip] = responder
                self._transports.append(transport)
            if ifindex is not None and answerers:
                # NOTE: a socket bound to 255.255.255.255 receives that port's limited
                # broadcasts (ip(7)); a multicast group is joined on the interface.
                joined = None if spec.broadcast else group
                sock = _socket((group, port), joined, ifindex)
                shared = _Responder(protocol, answerers, senders, spec.reply_port)
                transport, _ = await loop.create_datagram_endpoint(_factory(shared), sock=sock)
                self._transports.append(transport)

    async def stop(self) -> None:
        """Close every listener."""
        for transport in self._transports:
            transport.close()
        self._transports.clear()
        await asyncio.sleep(0)

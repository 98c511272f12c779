"""Every socket coverwatch opens lives here: bounded reads, deadlines, failure as data.

Probes ask for a `Stream` to one host and port, send bytes and read bounded replies; the
authenticated management calls (ISAPI, magicBox) go through `http_get_digest`, a bounded httpx
client with digest authentication. Nothing here interprets what a device says; parsers in the
sibling modules do that.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import heapq
import itertools
import os
import select
import socket
import ssl
import struct
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from coverwatch.models import ObsStatus

#: Upper bound on what one reply may be: a device cannot make us hold more than this.
MAX_REPLY_BYTES = 256 * 1024


class ProbeFailure(Exception):
    """A connection-level failure, carried as a status and a reason (never shown as a traceback)."""

    def __init__(self, status: ObsStatus, reason: str, connected: bool = True) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.connected = connected
        """False when the connection itself failed: the port is closed or filtered."""


@dataclass
class Stream:
    """An open TCP (or TLS) connection with a per-read deadline and a total byte budget."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    timeout: float

    @property
    def peer_certificate(self) -> bytes | None:
        """DER bytes of the peer's TLS certificate, if this is a TLS stream."""
        obj = self.writer.get_extra_info("ssl_object")
        if obj is None:
            return None
        der = obj.getpeercert(binary_form=True)
        return bytes(der) if der else None

    async def send(self, data: bytes) -> None:
        """Write ``data``; failures become ProbeFailure."""
        try:
            self.writer.write(data)
            async with asyncio.timeout(self.timeout):
                await self.writer.drain()
        except TimeoutError as e:
            raise ProbeFailure(ObsStatus.TIMEOUT, "write timed out") from e
        except (ConnectionError, OSError) as e:
            raise ProbeFailure(ObsStatus.CLOSED, f"write failed: {e.__class__.__name__}") from e

    async def read_message(
        self, complete: Callable[[bytes], bool], limit: int = MAX_REPLY_BYTES
    ) -> bytes:
        """Read until ``complete(buffer)`` says so, EOF, ``limit`` bytes, or the deadline.

        Returns what arrived; raises ProbeFailure only when nothing arrived at all.
        """
        buffer = bytearray()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while len(buffer) < limit:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                async with asyncio.timeout(remaining):
                    chunk = await self.reader.read(min(65536, limit - len(buffer)))
            except TimeoutError:
                break
            except (ConnectionError, OSError, ssl.SSLError):
                break
            if not chunk:
                break
            buffer += chunk
            if complete(bytes(buffer)):
                break
        if not buffer:
            if loop.time() >= deadline:
                raise ProbeFailure(ObsStatus.TIMEOUT, f"no reply within {self.timeout:g}s")
            raise ProbeFailure(ObsStatus.CLOSED, "connection closed without a reply")
        return bytes(buffer[:limit])


def _insecure_tls_context() -> ssl.SSLContext:
    # NOTE: we read the certificate a device presents; we do not trust it. Cameras ship
    # self-signed certificates, so verification would only hide the evidence we want.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # NOTE: old camera firmware only speaks TLS 1.0 with weak ciphers; SECLEVEL=0 lets us read
    # its certificate. Credentials only ever travel as a WS-Security PasswordDigest.
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


_TLS_CONTEXT = _insecure_tls_context()


def _failure_from_os_error(e: OSError) -> ProbeFailure:
    if isinstance(e, ConnectionRefusedError) or e.errno == errno.ECONNREFUSED:
        return ProbeFailure(ObsStatus.REFUSED, "connection refused", connected=False)
    if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return ProbeFailure(ObsStatus.ERROR, "host unreachable", connected=False)
    return ProbeFailure(
        ObsStatus.ERROR, f"{e.__class__.__name__}: {e.strerror or e}", connected=False
    )


@asynccontextmanager
async def open_stream(
    ip: str, port: int, timeout: float, tls: bool = False
) -> AsyncIterator[Stream]:
    """Connect to ``ip:port`` (optionally TLS) within ``timeout``; always closes on exit."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                ip, port, ssl=_TLS_CONTEXT if tls else None, server_hostname="" if tls else None
            )
    except TimeoutError as e:
        raise ProbeFailure(
            ObsStatus.TIMEOUT, f"connect timed out after {timeout:g}s", connected=False
        ) from e
    except ssl.SSLError as e:
        # The TCP connection was accepted: the port is open, its TLS is what failed.
        raise ProbeFailure(ObsStatus.MALFORMED, f"TLS handshake failed: {e.reason}") from e
    except OSError as e:
        raise _failure_from_os_error(e) from e
    try:
        yield Stream(reader, writer, timeout)
    finally:
        writer.close()
        # NOTE: no wait_closed(): the transport closes on its own, and waiting for every
        # close costs the scan a task per connection.


_LINGER_RESET = struct.pack("ii", 1, 0)

#: Retransmission timeout bounds of the connect sweep, nmap -T4's (nmap(1), "Timing and
#: Performance": -T4 is --min-rtt-timeout 100ms --max-rtt-timeout 1250ms
#: --initial-rtt-timeout 500ms).
MIN_RTO, MAX_RTO, INITIAL_RTO = 0.1, 1.25, 0.5
#: SYNs a target gets within its timeout at most (nmap -T4: --max-retries 6, so 7): later
#: copies are spaced at least ``timeout / SYN_COPIES`` apart.
SYN_COPIES = 8
#: SYNs a target gets however short its timeout or slow this process: below this, a lossy
#: link would lose ports (at 5% loss per packet, 1 in 1,000 open ports misses 3 copies).
MIN_SYN_COPIES = 4
#: A connection's own first SYN retransmission comes after 1 s (RFC 6298, 2.1): an answer later
#: than that may answer the kernel's copy, so it is no round-trip sample.
_KERNEL_RTO = 1.0


class RttEstimate:
    """A smoothed round-trip time and its variation, kept as TCP keeps them (RFC 6298, 2)."""

    __slots__ = ("rttvar", "srtt")

    def __init__(self) -> None:
        self.srtt: float | None = None
        self.rttvar = 0.0

    def sample(self, rtt: float) -> None:
        """Fold in one measured round trip."""
        if self.srtt is None:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt

    def timeout(self, fallback: float) -> float:
        """SRTT + 4 RTTVAR within [MIN_RTO, MAX_RTO]; ``fallback`` before the first sample."""
        if self.srtt is None:
            return fallback
        return min(MAX_RTO, max(MIN_RTO, self.srtt + 4 * self.rttvar))


class _Poller:
    """Write-readiness of many sockets: epoll on Linux (a closed socket leaves it by itself,
    one system call fewer per connection), poll elsewhere."""

    def __init__(self) -> None:
        self._epoll = select.epoll() if hasattr(select, "epoll") else None
        self._poll = select.poll() if self._epoll is None else None

    def add(self, fd: int) -> None:
        if self._epoll is not None:
            self._epoll.register(fd, select.EPOLLOUT)
        else:
            assert self._poll is not None
            self._poll.register(fd, select.POLLOUT)

    def forget(self, fd: int) -> None:
        """Call before closing ``fd``."""
        if self._poll is not None:
            self._poll.unregister(fd)

    def wait(self, seconds: float) -> list[tuple[int, int]]:
        if self._epoll is not None:
            return self._epoll.poll(seconds)
        assert self._poll is not None
        return self._poll.poll(seconds * 1000)

    def close(self) -> None:
        if self._epoll is not None:
            self._epoll.close()


def _settled(sock: socket.socket) -> int | None:
    """0 when a connect in progress has completed, its error when it failed, else None."""
    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        return err
    try:
        sock.getpeername()
    except OSError:
        return None  # still waiting for an answer
    return 0


@dataclass(slots=True)
class _Attempt:
    """One connect in flight: a socket that has sent its SYN."""

    sock: socket.socket
    target: tuple[str, int]
    sent: float
    tries: int
    """SYNs sent for this target so far, this one included."""
    deadline: float
    """When the target's whole budget (``timeout`` after its first SYN) runs out."""
    seq: int


def connect_sweep(
    targets: Iterable[tuple[str, int]],
    timeout: float,
    concurrency: int,
    rate: float | None = None,
    on_result: Callable[[tuple[str, int], ObsStatus], None] | None = None,
) -> dict[tuple[str, int], ObsStatus]:
    """TCP connect checks of many (address, port) pairs, like nmap -sT: non-blocking
    connects multiplexed with one poller (no task per connection), at most ``concurrency``
    in flight and at most ``rate`` new ones per second. Open sockets are reset at once
    (SO_LINGER 0), so nothing lingers in TIME_WAIT. Runs in the calling thread and calls
    ``on_result`` with each target's final status as soon as it is known.

    Lost packets are sent again, as nmap does: a connect unanswered after its host's
    retransmission timeout (RTT estimated per host from its answers, RFC 6298; nmap -T4's
    bounds) is replaced by a fresh one, and again every ``max(that, timeout / SYN_COPIES)``,
    until ``timeout`` seconds after the first and at least ``MIN_SYN_COPIES`` copies. Only then
    is the port TIMEOUT (filtered).
    """
    poller = _Poller()
    pending = iter(targets)
    in_flight: dict[int, _Attempt] = {}
    due: list[tuple[float, int, int]] = []  # (resend at, seq, fd), a heap
    retry: deque[tuple[tuple[str, int], int, float]] = deque()  # (target, tries, deadline)
    results: dict[tuple[str, int], ObsStatus] = {}
    hosts: dict[str, RttEstimate] = {}
    overall = RttEstimate()
    rto: dict[str, float] = {}  # each answering host's current timeout, recomputed per sample
    exhausted = False
    interval = 1.0 / rate if rate else 0.0
    next_start = time.monotonic()
    counter = itertools.count()

    def record(target: tuple[str, int], status: ObsStatus) -> None:
        results[target] = status
        if on_result is not None:
            on_result(target, status)

    spacing = timeout / SYN_COPIES
    fallback = [INITIAL_RTO]  # the RTO of a host that has not answered yet: all hosts' estimate

    def start(target: tuple[str, int], tries: int, deadline: float, now: float) -> None:
        family = socket.AF_INET6 if ":" in target[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        err = sock.connect_ex(target)
        if err != errno.EINPROGRESS:
            finish(_Attempt(sock, target, now, tries, deadline, -1), err, now)
            return
        fd = sock.fileno()
        poller.add(fd)
        seq = next(counter)
        in_flight[fd] = _Attempt(sock, target, now, tries, deadline, seq)
        # NOTE: the first copy follows the estimate closely (a lost SYN costs one RTO); later
        # ones keep a steady pace instead of backing off, so a lossy link gets its full
        # SYN_COPIES chances within the timeout whatever the estimate.
        wait = rto.get(target[0]) or fallback[0]
        if tries > 1:
            wait = max(wait, spacing)
        # NOTE: a target gets MIN_SYN_COPIES full waits even past its deadline: a sweep thread
        # starved of CPU (a loaded machine) must not turn a loss into a missed port.
        at = now + wait if tries < MIN_SYN_COPIES else min(deadline, now + wait)
        heapq.heappush(due, (at, seq, fd))

    def finish(attempt: _Attempt, err: int, now: float) -> None:
        sock, target = attempt.sock, attempt.target
        if err in (0, errno.ECONNREFUSED) and now - attempt.sent < _KERNEL_RTO:
            rtt = now - attempt.sent
            estimate = hosts.get(target[0])
            if estimate is None:  # a host's first answer also informs the estimate of all
                estimate = hosts[target[0]] = RttEstimate()
                overall.sample(rtt)
                fallback[0] = overall.timeout(INITIAL_RTO)
            estimate.sample(rtt)
            rto[target[0]] = estimate.timeout(INITIAL_RTO)
        if err == 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            status = ObsStatus.OK
        elif err == errno.ECONNREFUSED:
            status = ObsStatus.REFUSED
        else:
            status = _failure_from_os_error(OSError(err, os.strerror(err))).status
        sock.close()
        record(target, status)

    def expire(now: float) -> None:
        while due and due[0][0] <= now:
            _at, seq, fd = heapq.heappop(due)
            attempt = in_flight.get(fd)
            if attempt is None or attempt.seq != seq:
                continue  # answered already; the descriptor may belong to a newer attempt
            del in_flight[fd]
            poller.forget(fd)
            answer = _settled(attempt.sock)
            if answer is not None:  # answered since the poll: not a loss after all
                finish(attempt, answer, now)
                continue
            attempt.sock.close()
            if now >= attempt.deadline and attempt.tries >= MIN_SYN_COPIES:
                record(attempt.target, ObsStatus.TIMEOUT)
            else:
                retry.append((attempt.target, attempt.tries + 1, attempt.deadline))

    try:
        while True:
            now = time.monotonic()
            while len(in_flight) < concurrency and not (interval and now < next_start):
                if retry:
                    target, tries, deadline = retry.popleft()
                elif not exhausted:
                    fresh = next(pending, None)
                    if fresh is None:
                        exhausted = True
                        continue
                    target, tries, deadline = fresh, 1, now + timeout
                else:
                    break
                if interval:
                    next_start = max(next_start + interval, now)
                start(target, tries, deadline, now)
            if exhausted and not in_flight and not retry:
                return results
            wait = 0.05
            if due:
                wait = min(wait, max(0.0, due[0][0] - now))
            if interval and (retry or not exhausted):
                wait = min(wait, max(0.0, next_start - now))
            asked = time.monotonic()
            ready = poller.wait(wait)
            now = time.monotonic()
            for fd, _events in ready:
                attempt = in_flight.pop(fd)
                poller.forget(fd)
                finish(attempt, attempt.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), now)
            # NOTE: expire by the time of the question, not of the answer: this thread may
            # have waited for the interpreter lock meanwhile (probes run beside the sweep),
            # and an answer that came in that gap is in ``ready`` or the next round, not lost.
            expire(asked)
    finally:
        for attempt in in_flight.values():
            attempt.sock.close()
        poller.close()


@dataclass(frozen=True)
class HttpReply:
    """A bounded HTTP answer from an authenticated management call."""

    status: int
    """HTTP status of the final answer (after any digest challenge)."""
    headers: dict[str, str]
    """Response headers, names lower-cased."""
    body: bytes
    """At most ``limit`` bytes of the body."""


async def http_get_digest(
    ip: str,
    port: int,
    target: str,
    username: str,
    password: str,
    timeout: float,
    tls: bool = False,
    limit: int = MAX_REPLY_BYTES,
) -> HttpReply:
    """GET ``target`` from ``ip:port`` with HTTP digest authentication (RFC 7616, via httpx).

    The first request goes out without credentials; only a digest challenge makes httpx answer
    it, so the password never travels in clear. The body is cut at ``limit`` bytes, the whole
    exchange (challenge included) at ``2 * timeout`` seconds. Failures raise ProbeFailure.
    """
    import httpx  # NOTE: here, not at the top: most scans never log in, and httpx takes 0.1 s

    authority = f"[{ip}]" if ":" in ip else ip
    url = f"{'https' if tls else 'http'}://{authority}:{port}{target}"
    # NOTE: trust_env=False: no proxy or netrc from the environment may redirect a probe or
    # add credentials; the address we were given is the only one contacted.
    async with httpx.AsyncClient(
        verify=_TLS_CONTEXT,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        headers={
            "User-Agent": "coverwatch/0.1 (+inventory audit)",
            # NOTE: identity only: a compressed body could expand far beyond ``limit``.
            "Accept-Encoding": "identity",
        },
    ) as client:
        try:
            async with asyncio.timeout(2 * timeout):
                async with client.stream(
                    "GET", url, auth=httpx.DigestAuth(username, password)
                ) as response:
                    body = bytearray()
                    async for chunk in response.aiter_raw():
                        body += chunk
                        if len(body) >= limit:
                            break
                    headers = {k.lower(): v for k, v in response.headers.items()}
                    return HttpReply(response.status_code, headers, bytes(body[:limit]))
        except TimeoutError as e:
            raise ProbeFailure(ObsStatus.TIMEOUT, f"no reply within {2 * timeout:g}s") from e
        except httpx.TimeoutException as e:
            raise ProbeFailure(ObsStatus.TIMEOUT, f"no reply within {timeout:g}s") from e
        except httpx.ConnectError as e:
            raise ProbeFailure(ObsStatus.REFUSED, "connection failed", connected=False) from e
        except (httpx.HTTPError, ssl.SSLError, OSError) as e:
            raise ProbeFailure(
                ObsStatus.ERROR, f"HTTP exchange failed: {e.__class__.__name__}"
            ) from e


# --- UDP: discovery probes ----------------------------------------------------------------

#: Largest discovery reply kept; anything bigger is dropped as oversized (real SADP, DHIP and
#: WS-Discovery replies are 1-4 KiB).
MAX_DATAGRAM = 16 * 1024
#: Most replies one exchange keeps; the rest are counted as a flood and dropped.
MAX_REPLIES = 4096


class UdpSetupError(Exception):
    """A UDP socket could not be set up (unknown interface, address in use, no permission)."""


@dataclass(frozen=True)
class Datagram:
    """One reply: who sent it and the bytes (at most ``MAX_DATAGRAM``)."""

    ip: str
    port: int
    data: bytes


@dataclass
class DatagramCounts:
    """What an exchange received and what it dropped, by reason."""

    received: int = 0
    oversized: int = 0
    flood: int = 0
    send_errors: int = 0


@dataclass(frozen=True)
class Send:
    """One datagram to send."""

    ip: str
    port: int
    data: bytes


def _multicast_request(group: str, ifindex: int) -> bytes:
    # struct ip_mreqn { in_addr imr_multiaddr; in_addr imr_address; int imr_ifindex; }
    # (Linux ip(7)): choose the interface by index, so it needs no address of its own.
    return socket.inet_aton(group) + socket.inet_aton("0.0.0.0") + struct.pack("@i", ifindex)


def interface_index(interface: str) -> int:
    """The kernel index of a network interface; UdpSetupError when there is none."""
    try:
        return socket.if_nametoindex(interface)
    except OSError as e:
        raise UdpSetupError(f"no network interface named {interface!r}") from e


def _is_multicast(ip: str) -> bool:
    first = int(ip.split(".", 1)[0]) if ip[:1].isdigit() else 0
    return 224 <= first <= 239


def _udp_socket(
    bind: tuple[str, int],
    ifindex: int | None,
    group: str | None = None,
    device: str | None = None,
) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        if bind[1]:
            # NOTE: only a protocol's own port is shared (with other listeners of its group).
            # On an ephemeral port Linux hands a SO_REUSEADDR socket a port another such socket
            # holds, and one exchange's answers reach the other (socket(7), SO_REUSEADDR).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # NOTE: vendor discovery protocols (Bosch, Hanwha, Vivotek, Sony, ...) ask by broadcast
        # to 255.255.255.255, which the kernel refuses without SO_BROADCAST (socket(7)).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        if device is not None:
            # NOTE: a limited broadcast leaves by the route to 255.255.255.255 unless the
            # socket is bound to the interface, which needs CAP_NET_RAW (socket(7)
            # SO_BINDTODEVICE); without it the broadcast takes the default route's interface.
            with contextlib.suppress(PermissionError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
        if ifindex is not None:
            request = _multicast_request("0.0.0.0", ifindex)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, request)
            # NOTE: TTL 1 keeps discovery on the local link, as WS-Discovery (section 3.1.1),
            # SSDP (UPnP Device Architecture 1.1, 1.1.2) and mDNS (RFC 6762, 11) expect.
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        sock.bind(bind)
        if group is not None and ifindex is not None:
            sock.setsockopt(
                socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, _multicast_request(group, ifindex)
            )
    except OSError as e:
        sock.close()
        raise UdpSetupError(f"cannot set up UDP on {bind[0]}:{bind[1]}: {e.strerror or e}") from e
    return sock


#: Ephemeral ports drawn before giving up on one outside ``keep_free`` (the kernel draws at
#: random from some 28,000: two draws in a row inside a handful of ports do not happen).
_DRAWS = 64


def _sender_socket(
    ifindex: int | None, device: str | None, keep_free: Collection[int]
) -> socket.socket:
    """A UDP socket on an ephemeral port that is none of ``keep_free``."""
    for _ in range(_DRAWS):
        sock = _udp_socket(("0.0.0.0", 0), ifindex, None, device)
        if sock.getsockname()[1] not in keep_free:
            return sock
        sock.close()
    raise UdpSetupError(f"no ephemeral UDP port outside the {len(keep_free)} kept free")


class _Collector(asyncio.DatagramProtocol):
    """Keeps bounded replies; counts the rest."""

    def __init__(self, replies: list[Datagram], counts: DatagramCounts, limits: tuple[int, int]):
        self.replies = replies
        self.counts = counts
        self.max_replies, self.max_bytes = limits

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.counts.received += 1
        if len(data) > self.max_bytes:
            self.counts.oversized += 1
        elif len(self.replies) >= self.max_replies:
            self.counts.flood += 1
        else:
            self.replies.append(Datagram(str(addr[0]), int(addr[1]), bytes(data)))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a unicast target: the host has no such service.
        self.counts.send_errors += 1


async def udp_exchange(
    sends: list[Send],
    timeout: float,
    counts: DatagramCounts,
    interface: str | None = None,
    listen_group: tuple[str, int] | None = None,
    max_replies: int = MAX_REPLIES,
    max_bytes: int = MAX_DATAGRAM,
    keep_free: Collection[int] = (),
) -> list[Datagram]:
    """Send ``sends`` from one ephemeral UDP socket and collect replies until ``timeout``.

    Multicast destinations need ``interface`` (the probe leaves by that interface, TTL 1).
    ``listen_group`` also joins that group on that port, for protocols whose devices answer
    to the group rather than to the sender (Hikvision SADP); a non-multicast
    ``listen_group`` (``0.0.0.0``) listens on that port, for devices that answer to a fixed
    port (Bosch 1758). Each reply is bounded by ``max_bytes``, the exchange by
    ``max_replies``; drops are counted in ``counts``. The sending socket's ephemeral port is
    none of ``keep_free``: the fixed ports that listeners running at the same time may need.
    """
    ifindex = interface_index(interface) if interface else None
    if ifindex is None and any(_is_multicast(s.ip) for s in sends):
        raise UdpSetupError("a multicast probe needs an interface")
    loop = asyncio.get_running_loop()
    replies: list[Datagram] = []
    transports: list[asyncio.DatagramTransport] = []
    try:
        sock = _sender_socket(ifindex, interface, keep_free)
        sender, _ = await loop.create_datagram_endpoint(
            lambda: _Collector(replies, counts, (max_replies, max_bytes)), sock=sock
        )
        transports.append(sender)
        multicast = listen_group is not None and _is_multicast(listen_group[0])
        if listen_group is not None and (ifindex is not None or not multicast):
            joined = listen_group[0] if multicast else None
            group = _udp_socket(("0.0.0.0", listen_group[1]), ifindex, joined)
            listener, _ = await loop.create_datagram_endpoint(
                lambda: _Collector(replies, counts, (max_replies, max_bytes)), sock=group
            )
            transports.append(listener)
        for index, item in enumerate(sends):
            try:
                sender.sendto(item.data, (item.ip, item.port))
            except OSError:
                counts.send_errors += 1
            if index % 256 == 255:
                await asyncio.sleep(0)  # let replies in while a long target list goes out
        await asyncio.sleep(timeout)
    finally:
        for transport in transports:
            transport.close()
    return replies

"""Sockets with bounds: real loopback servers that refuse, stall, flood, hang up or speak TLS."""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from coverwatch.models import ObsStatus
from coverwatch.probes.transport import (
    MAX_REPLY_BYTES,
    ProbeFailure,
    RttEstimate,
    connect_sweep,
    open_stream,
)

HOST = "127.0.0.1"
SHORT = 0.3  # seconds: a bound on how long a test may wait, never something asserted on

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serve(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """A real server on 127.0.0.1 and an OS-chosen port; yields the port."""
    server = await asyncio.start_server(handler, HOST, 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()


@contextmanager
def closed_port() -> Iterator[int]:
    """A port that is bound but not listening: connecting to it is refused (RST)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        yield sock.getsockname()[1]


def never_done(_buffer: bytes) -> bool:
    return False


async def _stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # returns once the client hangs up
    writer.close()


async def _hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def _reset(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _read_failure(port: int, timeout: float = SHORT) -> ProbeFailure:
    async with open_stream(HOST, port, timeout) as stream:
        with pytest.raises(ProbeFailure) as info:
            await stream.read_message(never_done)
    return info.value


# --- connection failures ----------------------------------------------------------------------


def _sweep_one(port: int) -> ObsStatus:
    return connect_sweep([(HOST, port)], SHORT, 1)[(HOST, port)]


def test_sweep_reports_every_target_once() -> None:
    async def scenario() -> dict[tuple[str, int], ObsStatus]:
        async with serve(_stall) as open_port:
            with closed_port() as shut:
                targets = [(HOST, open_port), (HOST, shut)] * 3 + [("::1", shut)]
                return connect_sweep(targets, SHORT, concurrency=2, rate=100)

    result = asyncio.run(scenario())
    assert len(result) == 3
    statuses = sorted(s.value for s in result.values())
    assert statuses.count("ok") == 1 and statuses.count("refused") >= 1


def test_connection_refused_is_a_refused_status() -> None:
    async def scenario() -> tuple[ProbeFailure, ObsStatus]:
        with closed_port() as port:
            with pytest.raises(ProbeFailure) as info:
                async with open_stream(HOST, port, SHORT):
                    pass
            return info.value, _sweep_one(port)

    failure, status = asyncio.run(scenario())
    assert failure.status is ObsStatus.REFUSED
    assert failure.reason == "connection refused"
    assert status is ObsStatus.REFUSED


def test_listening_port_is_open() -> None:
    async def scenario() -> ObsStatus:
        async with serve(_stall) as port:
            return _sweep_one(port)

    assert asyncio.run(scenario()) is ObsStatus.OK


def test_port_whose_accept_queue_is_full_times_out() -> None:
    # A listener with backlog 0 that never accepts: once its queue is full the kernel drops
    # further SYNs, so a connect can only end by our deadline.
    async def scenario() -> list[ObsStatus]:
        with socket.socket() as listener:
            listener.bind((HOST, 0))
            listener.listen(0)
            port = listener.getsockname()[1]
            statuses: list[ObsStatus] = []
            for _ in range(8):
                statuses.append(_sweep_one(port))
                if statuses[-1] is ObsStatus.TIMEOUT:
                    break
            return statuses

    statuses = asyncio.run(scenario())
    assert statuses[-1] is ObsStatus.TIMEOUT
    assert set(statuses) <= {ObsStatus.OK, ObsStatus.TIMEOUT}


# --- reading replies ----------------------------------------------------------------------------


def test_silent_server_times_out() -> None:
    async def scenario() -> ProbeFailure:
        async with serve(_stall) as port:
            return await _read_failure(port)

    failure = asyncio.run(scenario())
    assert failure.status is ObsStatus.TIMEOUT
    assert failure.reason == "no reply within 0.3s"


@pytest.mark.parametrize("handler", [_hang_up, _reset], ids=["close", "reset"])
def test_server_that_hangs_up_at_once_is_closed(handler: Handler) -> None:
    async def scenario() -> ProbeFailure:
        async with serve(handler) as port:
            return await _read_failure(port, timeout=5)

    failure = asyncio.run(scenario())
    assert failure.status is ObsStatus.CLOSED
    assert failure.reason == "connection closed without a reply"


def test_request_reaches_the_server_and_reply_comes_back() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        writer.write(b"you said: " + line)
        await writer.drain()
        writer.close()

    async def scenario() -> bytes:
        async with serve(echo) as port, open_stream(HOST, port, 5) as stream:
            await stream.send(b"OPTIONS * RTSP/1.0\r\n")
            return await stream.read_message(never_done)

    assert asyncio.run(scenario()) == b"you said: OPTIONS * RTSP/1.0\r\n"


def test_partial_reply_then_silence_returns_what_arrived() -> None:
    async def partial(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf")
        await writer.drain()
        await _stall(reader, writer)

    async def scenario() -> bytes:
        async with serve(partial) as port, open_stream(HOST, port, SHORT) as stream:
            return await stream.read_message(never_done)

    assert asyncio.run(scenario()) == b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf"


def _flood(size: int) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(FLOOD[:size])
            await writer.drain()
        except ConnectionError:
            pass  # the client stopped reading and hung up: expected
        writer.close()

    return handler


FLOOD = bytes(i % 251 for i in range(2 * MAX_REPLY_BYTES))


@pytest.mark.parametrize("limit", [1, 1000, 65_537, 100_000])
def test_flood_is_cut_at_the_limit(limit: int) -> None:
    async def scenario() -> bytes:
        async with serve(_flood(len(FLOOD))) as port, open_stream(HOST, port, 5) as stream:
            return await stream.read_message(never_done, limit=limit)

    assert asyncio.run(scenario()) == FLOOD[:limit]


def test_flood_is_cut_at_max_reply_bytes_by_default() -> None:
    async def scenario() -> bytes:
        async with serve(_flood(len(FLOOD))) as port, open_stream(HOST, port, 5) as stream:
            return await stream.read_message(never_done)

    assert asyncio.run(scenario()) == FLOOD[:MAX_REPLY_BYTES]


def test_reply_shorter_than_the_limit_is_returned_whole() -> None:
    async def scenario() -> bytes:
        async with serve(_flood(5000)) as port, open_stream(HOST, port, 5) as stream:
            return await stream.read_message(never_done, limit=10_000)

    assert asyncio.run(scenario()) == FLOOD[:5000]


def test_read_stops_when_the_message_is_complete() -> None:
    async def two_lines(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"first\n")
        await writer.drain()
        await reader.readline()  # the second line is only sent once the client asks
        writer.write(b"second\n")
        await writer.drain()
        await _stall(reader, writer)

    async def scenario() -> tuple[bytes, bytes]:
        async with serve(two_lines) as port, open_stream(HOST, port, 5) as stream:
            first = await stream.read_message(lambda b: b.endswith(b"\n"))
            await stream.send(b"more\n")
            second = await stream.read_message(lambda b: b.endswith(b"\n"))
            return first, second

    assert asyncio.run(scenario()) == (b"first\n", b"second\n")


# --- TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, bytes]:
    """A TLS server context with a self-signed camera-like certificate, and that cert's DER."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "IPC"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Camera Co"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    folder: Path = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context, cert.public_bytes(serialization.Encoding.DER)


def test_tls_stream_exposes_the_peer_certificate(
    server_tls: tuple[ssl.SSLContext, bytes],
) -> None:
    context, der = server_tls

    async def hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        writer.close()

    async def scenario() -> tuple[bytes | None, bytes]:
        async with serve(hello, tls=context) as port, open_stream(HOST, port, 5, tls=True) as s:
            await s.send(b"GET / HTTP/1.1\r\n")
            return s.peer_certificate, await s.read_message(never_done)

    certificate, reply = asyncio.run(scenario())
    assert certificate == der  # self-signed, yet read: we collect evidence, we do not trust
    assert reply == b"HTTP/1.1 204 No Content\r\n\r\n"


def test_plain_stream_has_no_peer_certificate() -> None:
    async def scenario() -> bytes | None:
        async with serve(_stall) as port, open_stream(HOST, port, SHORT) as stream:
            return stream.peer_certificate

    assert asyncio.run(scenario()) is None


def test_tls_to_a_plain_text_service_is_malformed() -> None:
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # the ClientHello has started
        writer.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
        await writer.drain()
        await _stall(reader, writer)

    async def scenario() -> ProbeFailure:
        async with serve(plain) as port:
            with pytest.raises(ProbeFailure) as info:
                async with open_stream(HOST, port, 5, tls=True):
                    pass
            return info.value

    failure = asyncio.run(scenario())
    assert failure.status is ObsStatus.MALFORMED
    assert failure.reason.startswith("TLS handshake failed")


# --- the connect sweep on a lossy network -----------------------------------------------------

_LOSSY_SWEEP = """
import json, socket, subprocess, sys
from coverwatch.probes.transport import connect_sweep

subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
# 127.0.0.2 loses its first two SYNs of every three; 127.0.0.3 every SYN (a firewalled host).
rules = '''table inet lossy {
  chain input {
    type filter hook input priority 0; policy accept;
    ip daddr 127.0.0.2 tcp flags & (syn | ack) == syn numgen inc mod 3 < 2 drop
    ip daddr 127.0.0.3 tcp flags & (syn | ack) == syn drop
  }
}
'''
subprocess.run([sys.argv[1], "-f", "-"], input=rules, text=True, check=True)
listeners = []
for ip in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
    listeners.append(socket.create_server((ip, 8554)))
targets = [("127.0.0.4", 8554), ("127.0.0.2", 8554), ("127.0.0.3", 8554)]
found = connect_sweep(targets, 1.2, 4)
print(json.dumps({ip: status.value for (ip, _port), status in found.items()}))
"""


def _nft() -> str | None:
    import shutil

    return shutil.which("nft") or shutil.which("nft", path="/usr/sbin:/sbin")


@pytest.mark.slow
@pytest.mark.skipif(_nft() is None, reason="needs nftables (Debian: apt-get install nftables)")
def test_sweep_sends_lost_syns_again_and_finds_the_port() -> None:
    """In a network namespace of its own, a listener whose first two SYNs are dropped is still
    found open within a 1.2 s budget: the sweep resends at its round-trip estimate (learnt
    from a host that answers), where the kernel alone would send its second SYN at 1 s and
    its third at 2 s. A host that drops every SYN ends as a timeout, not as closed."""
    import json
    import subprocess
    import sys

    done = subprocess.run(
        ["unshare", "-rn", sys.executable, "-c", _LOSSY_SWEEP, str(_nft())],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0 and "unshare" in done.stderr:
        pytest.skip(f"no private network namespace here: {done.stderr.strip()[:200]}")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "127.0.0.2": "ok",
        "127.0.0.3": "timeout",
        "127.0.0.4": "ok",
    }


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        # RFC 6298 2.2: the first sample R gives SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR.
        ([0.2], 0.2 + 4 * 0.1),
        # 2.3: RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|, then SRTT = 7/8 SRTT + 1/8 R'.
        ([0.2, 0.1], (0.875 * 0.2 + 0.125 * 0.1) + 4 * (0.75 * 0.1 + 0.25 * 0.1)),
        # clamped to nmap -T4's bounds: at least 100 ms, at most 1250 ms
        ([0.001, 0.001, 0.001], 0.1),
        ([2.0], 1.25),
    ],
)
def test_retransmission_timeout_follows_rfc_6298(samples: list[float], expected: float) -> None:
    estimate = RttEstimate()
    assert estimate.timeout(0.5) == 0.5  # before any sample: the fallback
    for sample in samples:
        estimate.sample(sample)
    assert estimate.timeout(0.5) == pytest.approx(expected)

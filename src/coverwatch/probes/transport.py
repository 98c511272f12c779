"""Every socket coverwatch opens lives here: bounded reads, deadlines, failure as data.

Probes ask for a `Stream` to one host and port, send bytes and read bounded replies. Nothing
here interprets what a device says; parsers in the sibling modules do that.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

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


async def is_port_open(ip: str, port: int, timeout: float) -> ObsStatus:
    """TCP connect check (like nmap -sT): OK when the port accepts, else the failure status.

    The socket is closed with an immediate reset (SO_LINGER 0), so a sweep of thousands of
    ports leaves no TIME_WAIT sockets behind.
    """
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        async with asyncio.timeout(timeout):
            await asyncio.get_running_loop().sock_connect(sock, (ip, port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        return ObsStatus.OK
    except TimeoutError:
        return ObsStatus.TIMEOUT
    except OSError as e:
        return _failure_from_os_error(e).status
    finally:
        sock.close()

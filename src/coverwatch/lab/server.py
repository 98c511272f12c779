"""The lab's listeners: every emulated device's ports, answering from its profile.

All sockets are bound to the hosts' loopback addresses (checked here again, so no profile or
argument can make the lab listen elsewhere). Each connection is bounded in size and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import ssl
import tempfile
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from string import Template

import h11
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from coverwatch.errors import LabError
from coverwatch.lab import onvif as lab_onvif
from coverwatch.lab.auth import DigestVerifier
from coverwatch.lab.discovery import DiscoveryResponders, check_bind_address
from coverwatch.lab.profiles import Reply, Service
from coverwatch.lab.site import LabHost

logger = logging.getLogger(__name__)

_IDLE = 10.0
_MAX_REQUEST = 64 * 1024
_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
_NAME_OIDS = {
    "CN": NameOID.COMMON_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "C": NameOID.COUNTRY_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "emailAddress": NameOID.EMAIL_ADDRESS,
}


def _render(text: str, variables: dict[str, str]) -> str:
    return Template(text).safe_substitute({**variables, "nonce": secrets.token_hex(16)})


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _Device:
    """The handlers of one lab host."""

    def __init__(self, host: LabHost, username: str, password: str) -> None:
        self.host = host
        self.variables = host.variables()
        self.username = username
        self.password = password
        self.digest = DigestVerifier(username, password)

    async def http(
        self, service: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        conn = h11.Connection(our_role=h11.SERVER, max_incomplete_event_size=_MAX_REQUEST)
        request: h11.Request | None = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await asyncio.wait_for(reader.read(65536), _IDLE)
                conn.receive_data(data)
                if not data:
                    return
                continue
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > _MAX_REQUEST:
                    return
            elif isinstance(event, h11.EndOfMessage):
                break
        assert request is not None
        path = request.target.decode("latin-1").split("?", 1)[0]
        if service.onvif_path and path == service.onvif_path and request.method == b"POST":
            status, soap = lab_onvif.handle(
                bytes(body), self.host.profile.onvif, self.variables, self.username, self.password
            )
            reply = Reply(status, (("Content-Type", "application/soap+xml; charset=utf-8"),), soap)
            variables: dict[str, str] = {}
        else:
            # A route may name its query (magicBox.cgi?action=...): exact target first.
            target = request.target.decode("latin-1")
            reply = service.routes.get(target) or service.routes.get(path, service.not_found)
            authorization = dict(request.headers).get(b"authorization", b"").decode("latin-1")
            reply = self.digest.guard(
                reply, request.method.decode("latin-1"), target, authorization, self.variables
            )
            variables = self.variables
        writer.write(self._http_bytes(reply, variables, request.method == b"HEAD"))
        await writer.drain()

    @staticmethod
    def _http_bytes(reply: Reply, variables: dict[str, str], head_only: bool) -> bytes:
        body = _render(reply.body, variables).encode() if variables else reply.body.encode()
        lines = [f"HTTP/1.1 {reply.status} {_phrase(reply.status)}"]
        names = set()
        for name, value in reply.headers:
            lines.append(f"{name}: {_render(value, variables)}")
            names.add(name.lower())
        if "content-length" not in names:
            lines.append(f"Content-Length: {len(body)}")
        lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        return head if head_only else head + body

    async def rtsp(
        self, service: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        for _ in range(16):  # a client gets a bounded number of requests per connection
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _IDLE)
            lines = head.decode("latin-1").split("\r\n")
            method = lines[0].split(" ", 1)[0]
            cseq = next(
                (ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith("cseq:")), "0"
            )
            reply = {"OPTIONS": service.options, "DESCRIBE": service.describe}.get(method)
            reply = reply or Reply(405 if method in ("OPTIONS", "DESCRIBE") else 455)
            out = [f"RTSP/1.0 {reply.status} {_phrase(reply.status)}", f"CSeq: {cseq}"]
            out += [f"{k}: {_render(v, self.variables)}" for k, v in service.rtsp_headers]
            out += [f"{k}: {_render(v, self.variables)}" for k, v in reply.headers]
            body = _render(reply.body, self.variables).encode()
            if body:
                out.append(f"Content-Length: {len(body)}")
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1", "replace") + body)
            await writer.drain()

    async def banner(
        self, service: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(_render(service.banner, self.variables).encode("latin-1", "replace"))
        await writer.drain()
        await asyncio.wait_for(reader.read(4096), _IDLE)

    async def silent(
        self, service: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        # NOTE: vendor SDK ports (Hikvision 8000, Dahua 37777) speak binary protocols; a
        # request in any other protocol is dropped without a reply.
        await asyncio.wait_for(reader.read(4096), _IDLE)


def _self_signed(
    subject: dict[str, str],
    variables: dict[str, str],
    key: ec.EllipticCurvePrivateKey,
    folder: Path,
    stem: str,
) -> ssl.SSLContext:
    attributes = [
        x509.NameAttribute(_NAME_OIDS[k], _render(v, variables)[:64])
        for k, v in (subject or {"CN": "${ip}"}).items()
    ]
    name = x509.Name(attributes)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


class LabServer:
    """Binds every port of every lab host; `stop` closes them all."""

    def __init__(
        self,
        hosts: list[LabHost],
        username: str,
        password: str,
        discovery_interface: str | None = None,
    ) -> None:
        self.hosts = hosts
        self.username = username
        self.password = password
        self._servers: list[asyncio.Server] = []
        self._discovery = DiscoveryResponders(hosts, discovery_interface)
        self._certs = tempfile.TemporaryDirectory(prefix="coverwatch-lab-")

    async def start(self) -> None:
        """Bind all listeners; raises LabError naming the address that could not be bound."""
        keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        folder = Path(self._certs.name)
        for host in self.hosts:
            check_bind_address(host.ip)  # 127.0.0.0/8 only, unless in a test's private netns
            device = _Device(host, self.username, self.password)
            for service in host.profile.services:
                context = None
                if service.protocol == "https":
                    key = keys.setdefault(
                        host.profile.name, ec.generate_private_key(ec.SECP256R1())
                    )
                    context = _self_signed(
                        service.tls_subject,
                        device.variables,
                        key,
                        folder,
                        f"{host.ip}-{service.port}",
                    )
                handler = getattr(
                    device, "http" if service.protocol == "https" else service.protocol
                )
                try:
                    server = await asyncio.start_server(
                        self._wrap(handler, service),
                        host.ip,
                        service.port,
                        ssl=context,
                        backlog=256,
                        reuse_address=True,
                    )
                except OSError as e:
                    await self.stop()
                    raise LabError(
                        f"cannot listen on {host.ip}:{service.port}: {e.strerror}"
                    ) from e
                self._servers.append(server)
        try:
            await self._discovery.start()
        except LabError:
            await self.stop()
            raise

    @staticmethod
    def _wrap(handler, service: Service):  # type: ignore[no-untyped-def]
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await handler(service, reader, writer)
            except (
                TimeoutError,
                ConnectionError,
                OSError,
                ssl.SSLError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                h11.ProtocolError,
            ):
                pass
            except Exception:  # a lab bug must not take the whole site down
                logger.exception("lab handler failed on port %s", service.port)
            finally:
                writer.close()

        return serve

    async def stop(self) -> None:
        """Close every listener."""
        for server in self._servers:
            server.close()
        for server in self._servers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        self._servers.clear()
        await self._discovery.stop()
        self._certs.cleanup()

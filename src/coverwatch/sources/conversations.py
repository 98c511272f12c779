"""What the active scan says to each kind of open port, and what it records of the answers.

One function per protocol; with credentials, also the device's own management API (Hikvision
ISAPI, Dahua magicBox) and ONVIF's authenticated calls. Each opens its own connection through
``probes.transport``; a connection that cannot be opened means the port is closed (nothing
recorded), anything after that is recorded as an observation, failures included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree.ElementTree import Element

from coverwatch.credentials import Credential
from coverwatch.identity import normalise_mac
from coverwatch.models import Observation, ObsStatus, SourceKind
from coverwatch.probes import banner, dahua_api, http, isapi, onvif, rtsp, tls
from coverwatch.probes.transport import HttpReply, ProbeFailure, http_get_digest, open_stream

#: Same-origin redirects followed from the root page (as a browser would, but bounded).
MAX_REDIRECTS = 2


@dataclass
class HostRecord:
    """One host's observations so far, and which ports speak HTTP (for the ONVIF probe)."""

    ip: str
    timeout: float
    observations: list[Observation] = field(default_factory=list)
    web_ports: list[tuple[int, bool]] = field(default_factory=list)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def authority(self) -> str:
        """The address as it goes in a URL."""
        return f"[{self.ip}]" if ":" in self.ip else self.ip

    def add(self, port: int, protocol: str, values: dict[str, str]) -> None:
        """Record what the host said."""
        for signal, value in values.items():
            self.observations.append(
                Observation(
                    self.ip, signal, value, port, protocol, ObsStatus.OK, SourceKind.SCAN, self.at
                )
            )

    def fail(self, port: int, protocol: str, status: ObsStatus, reason: str) -> None:
        """Record that a probe got no (usable) answer."""
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

    def mark_open(self, port: int) -> None:
        """Record an open TCP port (once, however many probes confirm it)."""
        if not any(o.signal == "tcp.port" and o.port == port for o in self.observations):
            self.add(port, "tcp", {"tcp.port": str(port)})


async def _exchange(
    host: HostRecord, port: int, request: bytes, tls_wrapped: bool, opened: bool
) -> tuple[bytes, bytes | None]:
    async with open_stream(host.ip, port, host.timeout, tls_wrapped) as stream:
        if not opened:
            host.mark_open(port)
        await stream.send(request)
        reply = await stream.read_message(http.is_complete)
        return reply, stream.peer_certificate


async def probe_http(host: HostRecord, port: int, tls_wrapped: bool) -> None:
    """GET / (following same-origin redirects); record headers, title, body, certificate."""
    protocol = "https" if tls_wrapped else "http"
    path = "/"
    for hop in range(1 + MAX_REDIRECTS):
        request = http.build_request(f"{host.authority}:{port}", path)
        try:
            reply, cert = await _exchange(host, port, request, tls_wrapped, opened=hop > 0)
        except ProbeFailure as failure:
            if failure.connected or hop > 0:
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
        if hop == 0:
            host.web_ports.append((port, tls_wrapped))
        next_path = http.same_origin_redirect(status, headers, path, host.authority, port)
        if next_path is None:
            return
        path = next_path


async def _soap(host: HostRecord, port: int, tls_wrapped: bool, envelope: bytes) -> Element:
    request = http.build_request(
        f"{host.authority}:{port}",
        onvif.DEFAULT_PATH,
        "POST",
        envelope,
        [("Content-Type", "application/soap+xml; charset=utf-8")],
    )
    reply, _ = await _exchange(host, port, request, tls_wrapped, opened=True)
    _status, _headers, body = http.parse_response(reply, "POST")
    return onvif.parse_envelope(body.encode("utf-8"))


async def probe_onvif(host: HostRecord, credential: Credential | None) -> None:
    """Find the host's ONVIF device service on its web ports (plain HTTP first); ask
    GetSystemDateAndTime, then GetDeviceInformation when a credential is given."""
    for port, tls_wrapped in sorted(host.web_ports, key=lambda p: (p[1], p[0])):
        try:
            root = await _soap(
                host, port, tls_wrapped, onvif.build_envelope("GetSystemDateAndTime")
            )
        except (ProbeFailure, http.MalformedReply, onvif.MalformedSoap):
            continue  # most web servers are not ONVIF services: not worth an observation
        facts = onvif.system_date_time(root)
        if facts:
            host.add(port, "onvif", facts)
            if credential is not None:
                await _device_information(host, port, tls_wrapped, credential)
            return


async def _device_information(
    host: HostRecord, port: int, tls_wrapped: bool, credential: Credential
) -> None:
    envelope = onvif.build_envelope(
        "GetDeviceInformation", credential.username, credential.password
    )
    try:
        root = await _soap(host, port, tls_wrapped, envelope)
    except ProbeFailure as failure:
        host.fail(port, "onvif", failure.status, failure.reason)
        return
    except (http.MalformedReply, onvif.MalformedSoap) as e:
        host.fail(port, "onvif", ObsStatus.MALFORMED, str(e))
        return
    fault = onvif.fault_reason(root)
    if fault:
        host.fail(port, "onvif", ObsStatus.ERROR, f"GetDeviceInformation refused: {fault}")
        return
    host.add(port, "onvif", onvif.device_information(root))
    await _network_interfaces(host, port, tls_wrapped, credential)


async def _network_interfaces(
    host: HostRecord, port: int, tls_wrapped: bool, credential: Credential
) -> None:
    """GetNetworkInterfaces for the MAC address; optional in ONVIF, so a refusal is not noted."""
    envelope = onvif.build_envelope(
        "GetNetworkInterfaces", credential.username, credential.password
    )
    try:
        root = await _soap(host, port, tls_wrapped, envelope)
    except (ProbeFailure, http.MalformedReply, onvif.MalformedSoap):
        return
    facts = onvif.network_interfaces(root)
    mac = normalise_mac(facts.get("onvif.mac", ""))
    if mac:
        facts["mac"] = mac
    if facts:
        host.add(port, "onvif", facts)


async def probe_rtsp(host: HostRecord, port: int) -> None:
    """OPTIONS then DESCRIBE on one connection; record Server, realm and methods."""
    url = f"rtsp://{host.authority}:{port}/"
    try:
        async with open_stream(host.ip, port, host.timeout) as stream:
            host.mark_open(port)
            for cseq, method in enumerate(("OPTIONS", "DESCRIBE"), start=1):
                await stream.send(rtsp.build_request(method, url, cseq))
                reply = await stream.read_message(rtsp.is_complete, 64 * 1024)
                status, headers = rtsp.parse_response(reply)
                host.add(port, "rtsp", rtsp.signals(method, status, headers))
    except ProbeFailure as failure:
        if failure.connected:
            host.fail(port, "rtsp", failure.status, failure.reason)
    except rtsp.MalformedRtsp as e:
        host.fail(port, "rtsp", ObsStatus.MALFORMED, str(e))


async def probe_banner(host: HostRecord, port: int) -> None:
    """Read what an SSH, Telnet or FTP service says first."""
    signal = banner.BANNER_SIGNALS[port]
    protocol = signal.split(".")[0]
    try:
        async with open_stream(host.ip, port, host.timeout) as stream:
            host.mark_open(port)
            data = await stream.read_message(banner.is_complete, 4096)
    except ProbeFailure as failure:
        if failure.connected:
            host.fail(port, protocol, failure.status, failure.reason)
        return
    text = banner.parse_banner(data)
    if text:
        host.add(port, protocol, {signal: text})


class _Rejected(Exception):
    """The management API exists and refused the credential (noted once, then we stop)."""


async def _management_get(
    host: HostRecord, port: int, tls_wrapped: bool, target: str, credential: Credential
) -> HttpReply | None:
    """One digest-authenticated GET: the reply on 200, None when the API is not there."""
    reply = await http_get_digest(
        host.ip,
        port,
        target,
        credential.username,
        credential.password,
        host.timeout,
        tls_wrapped,
        limit=isapi.MAX_DOCUMENT,
    )
    if reply.status in (401, 403):
        challenge = reply.headers.get("www-authenticate", "")
        if reply.status == 401 and not challenge.lower().startswith("digest"):
            raise _Rejected(
                f"{target.split('?')[0]} asks for {_scheme(challenge)} "
                "authentication; coverwatch only sends digest"
            )
        raise _Rejected(f"credentials rejected by {target.split('?')[0]} (HTTP {reply.status})")
    return reply if reply.status == 200 else None


def _scheme(challenge: str) -> str:
    """The authentication scheme named by a WWW-Authenticate header (``Basic``, ...)."""
    return http.clean_text(challenge.split(" ", 1)[0], 16) or "no"


async def _isapi(host: HostRecord, port: int, tls_wrapped: bool, credential: Credential) -> bool:
    reply = await _management_get(host, port, tls_wrapped, isapi.DEVICE_INFO_PATH, credential)
    if reply is None:
        return False
    try:
        facts = isapi.parse_device_info(reply.body)
    except isapi.MalformedIsapi:
        return False  # a page served for every path is not ISAPI: not worth an observation
    mac = normalise_mac(facts.get("isapi.mac", ""))
    host.add(port, "isapi", {**facts, **({"mac": mac} if mac else {})})
    return True


async def _magicbox(host: HostRecord, port: int, tls_wrapped: bool, credential: Credential) -> bool:
    reply = await _management_get(host, port, tls_wrapped, dahua_api.SYSTEM_INFO_PATH, credential)
    if reply is None:
        return False
    try:
        facts = dahua_api.system_info(reply.body)
    except dahua_api.MalformedDahua:
        return False
    host.add(port, "dahua", facts)
    reply = await _management_get(
        host, port, tls_wrapped, dahua_api.SOFTWARE_VERSION_PATH, credential
    )
    if reply is not None:
        try:
            host.add(port, "dahua", dahua_api.software_version(reply.body))
        except dahua_api.MalformedDahua as e:
            host.fail(port, "dahua", ObsStatus.MALFORMED, str(e))
    return True


async def probe_management(host: HostRecord, credential: Credential | None) -> None:
    """With a credential, read the device's identity from its own management API.

    Hikvision ISAPI ``deviceInfo`` is tried first, then Dahua ``magicBox.cgi``, on the host's
    web ports (plain HTTP first); the first API that answers ends the search. Read-only GETs
    only. A refused credential is one ERROR observation (``isapi.error`` / ``dahua.error``)
    and stops all further attempts on the host: devices lock accounts after a few failed
    logins, so coverwatch never makes more than one.
    """
    if credential is None:
        return
    for port, tls_wrapped in sorted(host.web_ports, key=lambda p: (p[1], p[0])):
        for protocol, call in (("isapi", _isapi), ("dahua", _magicbox)):
            try:
                if await call(host, port, tls_wrapped, credential):
                    return
            except _Rejected as e:
                host.fail(port, protocol, ObsStatus.ERROR, str(e))
                return
            except ProbeFailure as failure:
                if failure.connected:
                    host.fail(port, protocol, failure.status, failure.reason)
                break  # this port failed mid-exchange: try the next one

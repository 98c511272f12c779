"""What a lab device answers to each discovery probe, from its profile's ``discovery:`` block.

One pure function per protocol: request bytes in, reply bytes (or None: stay silent) out.
``check_discovery`` validates the block when profiles load (format in profiles/FORMAT.md).
The replies follow the same public formats the parsers in ``coverwatch.probes`` cite: a
protocol's own module builds its answer (``ProtocolSpec.answer``) from the profile's block;
WS-Discovery, SSDP and mDNS answers, which read more of the profile, are built here.
"""

from __future__ import annotations

import json
import uuid
from string import Template
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from coverwatch.discovery import PROTOCOLS as REGISTRY
from coverwatch.lab.site import LabHost
from coverwatch.probes import onvif
from coverwatch.probes.protocol import Responder

#: Every registered discovery protocol, by name (a profile's ``discovery:`` keys).
PROTOCOLS = tuple(p.value for p in REGISTRY)
_SPECS = {p.value: spec for p, spec in REGISTRY.items()}
#: Scopes every ONVIF device announces (ONVIF Core Specification, 7.3.2.2).
BASE_SCOPES = (
    "onvif://www.onvif.org/type/video_encoder",
    "onvif://www.onvif.org/Profile/Streaming",
)
DEFAULT_TYPES = "dn:NetworkVideoTransmitter tds:Device"
_MDNS_META = "_services._dns-sd._udp.local."


class DiscoveryFormatError(ValueError):
    """A ``discovery:`` block that does not follow profiles/FORMAT.md; ``where`` names the field."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where


def _strings(where: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not all(isinstance(v, str | int | bool) for v in raw.values()):
        raise DiscoveryFormatError(where, "must map field names to strings or numbers")
    return dict(raw)


def check_discovery(raw: Any, routes: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The validated block; ``routes`` (port -> HTTP routes) checks the SSDP LOCATION target."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not set(raw) <= set(PROTOCOLS):
        raise DiscoveryFormatError("", f"must be a mapping with keys among {', '.join(PROTOCOLS)}")
    block: dict[str, Any] = {}
    ws = raw.get("wsdiscovery", True)
    if ws is not True and ws is not False and not isinstance(ws, dict):
        raise DiscoveryFormatError(".wsdiscovery", "must be false or a mapping")
    if isinstance(ws, dict):
        scopes = ws.get("scopes") or []
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise DiscoveryFormatError(".wsdiscovery.scopes", "must be a list of scope URIs")
    block["wsdiscovery"] = ws
    for key, spec in _SPECS.items():
        if spec.answer is not None and key in raw:
            block[key] = _strings(f".{key}", raw[key])
    if "ssdp" in raw:
        block["ssdp"] = _ssdp(raw["ssdp"], routes)
    if "mdns" in raw:
        services = raw["mdns"]
        if not isinstance(services, list) or not all(
            isinstance(s, dict) and {"type", "instance", "port"} <= set(s) for s in services
        ):
            raise DiscoveryFormatError(".mdns", "must be a list of {type, instance, port, txt}")
        block["mdns"] = services
    return block


def _ssdp(raw: Any, routes: dict[int, dict[str, Any]]) -> dict[str, Any]:
    entry = _strings(".ssdp", raw)
    if not {"port", "path", "st", "usn", "server"} <= set(entry):
        raise DiscoveryFormatError(".ssdp", "needs port, path, st, usn and server")
    if entry["path"] not in routes.get(int(entry["port"]), {}):
        raise DiscoveryFormatError(
            ".ssdp.path", f"{entry['path']!r} is not a route of the http service on that port"
        )
    return entry


def speaks(host: LabHost, protocol: str) -> bool:
    """Whether ``host`` answers ``protocol``: WS-Discovery for every ONVIF device (ONVIF Core
    Specification, section 7) unless its profile says ``wsdiscovery: false``."""
    block = host.profile.discovery
    if protocol == "wsdiscovery":
        return host.profile.onvif is not None and block.get("wsdiscovery", True) is not False
    return protocol in block


class Answerer:
    """The discovery answers of one lab host."""

    def __init__(self, host: LabHost) -> None:
        self.host = host
        self.block = host.profile.discovery
        self.variables = {
            **host.variables(),
            "mac_dashed": host.mac.replace(":", "-"),
            # NOTE: Hikvision names its mDNS instance after the serial's trailing digits
            # ("HIKVISION DS-2CD2722FWD-IZS - 733050127": 128keaton/hikvision-mdns README)
            "serial_digits": host.serial[len(host.serial.rstrip("0123456789")) :],
        }

    def render(self, value: object) -> str:
        """A profile string with ``${...}`` substituted."""
        return Template(str(value)).safe_substitute(self.variables)

    def answer(self, protocol: str, data: bytes) -> bytes | None:
        """The reply to ``data`` on ``protocol``'s port, or None to stay silent."""
        own = {"wsdiscovery": self.wsdiscovery, "ssdp": self.ssdp, "mdns": self.mdns}
        try:
            if protocol in own:
                return own[protocol](data)
            answer = _SPECS[protocol].answer
            if answer is None:
                return None
            fields = {
                k: self.render(v) if isinstance(v, str) else v
                for k, v in self.block[protocol].items()
            }
            return answer(data, Responder(self.host.ip, self.host.mac, fields))
        except (ValueError, dns.exception.DNSException, UnicodeError):
            return None  # a malformed probe gets no answer, like a real device

    def wsdiscovery(self, data: bytes) -> bytes | None:
        """ProbeMatches for a Probe whose Types (if any) include ours."""
        root = onvif.parse_envelope(data)
        if onvif.body_operation(root) != "Probe":
            return None
        texts = {onvif.local(e.tag): (e.text or "").strip() for e in root.iter()}
        ws = self.block.get("wsdiscovery")
        types = self.render(
            ws.get("types", DEFAULT_TYPES) if isinstance(ws, dict) else DEFAULT_TYPES
        )
        wanted = {t.rsplit(":", 1)[-1] for t in texts.get("Types", "").split()}
        if wanted and not wanted & {t.rsplit(":", 1)[-1] for t in types.split()}:
            return None
        scopes = [*BASE_SCOPES, *((self.host.profile.onvif or {}).get("scopes") or [])]
        scopes += ws.get("scopes", []) if isinstance(ws, dict) else []
        rendered = " ".join(quote(self.render(s), safe=":/._-") for s in scopes)
        port, path = self._onvif_service()
        xaddr = f"http://{self.host.ip}{'' if port == 80 else f':{port}'}{path}"
        endpoint = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, self.host.mac)}"
        reply = (
            f'<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="{_SOAP}" '
            f'xmlns:wsa="{_WSA}" xmlns:d="{_WSD}" xmlns:dn="{_DN}" xmlns:tds="{_TDS}">'
            f"<env:Header><wsa:MessageID>uuid:{uuid.uuid4()}</wsa:MessageID>"
            f"<wsa:RelatesTo>{escape(texts.get('MessageID', ''))}</wsa:RelatesTo>"
            f"<wsa:To>{_WSA}/role/anonymous</wsa:To>"
            f"<wsa:Action>{_WSD}/ProbeMatches</wsa:Action></env:Header>"
            f"<env:Body><d:ProbeMatches><d:ProbeMatch><wsa:EndpointReference>"
            f"<wsa:Address>{endpoint}</wsa:Address></wsa:EndpointReference>"
            f"<d:Types>{escape(types)}</d:Types><d:Scopes>{escape(rendered)}</d:Scopes>"
            f"<d:XAddrs>{escape(xaddr)}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion>"
            f"</d:ProbeMatch></d:ProbeMatches></env:Body></env:Envelope>"
        )
        return reply.encode()

    def _onvif_service(self) -> tuple[int, str]:
        for service in self.host.profile.services:
            if service.onvif_path:
                return service.port, service.onvif_path
        return 80, onvif.DEFAULT_PATH

    def ssdp(self, data: bytes) -> bytes | None:
        """An M-SEARCH reply whose LOCATION is the description route on this host."""
        lines = data.decode("utf-8").split("\r\n")
        if not lines[0].upper().startswith("M-SEARCH * HTTP/1.1"):
            return None
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:32])
        }
        entry = self.block["ssdp"]
        st = self.render(entry["st"])
        requested = headers.get("st", "")
        if requested not in ("ssdp:all", "upnp:rootdevice", st):
            return None
        location = f"http://{self.host.ip}:{int(entry['port'])}{entry['path']}"
        reply = [
            "HTTP/1.1 200 OK",
            "CACHE-CONTROL: max-age=1800",
            "EXT:",
            f"LOCATION: {location}",
            f"SERVER: {self.render(entry['server'])}",
            f"ST: {requested if requested != 'ssdp:all' else st}",
            f"USN: {self.render(entry['usn'])}::{st}",
        ]
        return ("\r\n".join(reply) + "\r\n\r\n").encode()

    def mdns(self, data: bytes) -> bytes | None:
        """PTR, SRV, TXT and A records for questions about our service types (RFC 6763)."""
        query = dns.message.from_wire(data)
        if query.flags & dns.flags.QR:
            return None
        services = self.block["mdns"]
        hostname = dns.name.from_text(
            f"{self.host.profile.name}-{self.variables['mac_plain']}.local."
        )
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        for question in query.question:
            asked = question.name.to_text().lower()
            for service in services:
                service_name = f"{service['type']}.local.".lower()
                if asked not in (service_name, _MDNS_META):
                    continue
                instance = dns.name.Name(
                    (
                        self.render(service["instance"]).encode()[:63],
                        *dns.name.from_text(service_name).labels,
                    )
                )
                target = instance if asked == service_name else dns.name.from_text(service_name)
                response.answer.append(_rrset(question.name, "PTR", target.to_text()))
                if asked != service_name:
                    continue
                txt = " ".join(json.dumps(self.render(t)) for t in service.get("txt") or [""])
                response.additional.append(
                    _rrset(instance, "SRV", f"0 0 {int(service['port'])} {hostname}")
                )
                response.additional.append(_rrset(instance, "TXT", txt))
                response.additional.append(_rrset(hostname, "A", self.host.ip))
        return response.to_wire() if response.answer else None


def _rrset(name: dns.name.Name, rdtype: str, text: str) -> dns.rrset.RRset:
    return dns.rrset.from_text(name, 120, dns.rdataclass.IN, rdtype, text)


_SOAP = "http://www.w3.org/2003/05/soap-envelope"
_WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
_WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
_DN = "http://www.onvif.org/ver10/network/wsdl"
_TDS = "http://www.onvif.org/ver10/device/wsdl"

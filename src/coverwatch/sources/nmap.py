"""nmap XML import (``nmap -oX``): everything nmap collected about each host, as observations.

Reads the XML nmap writes with ``-oX`` (format: the nmap DTD, https://nmap.org/book/nmap-dtd.html,
and "Output Formats: XML" https://nmap.org/book/output-formats-xml-output.html), with or without
``-sV``, ``-O`` and ``-sC``. Per host:

- ``tcp.port`` / ``udp.port`` for every open port; from ``<service>``: ``nmap.service``,
  ``nmap.product``, ``nmap.version``, ``nmap.extrainfo``, ``nmap.devicetype``, ``nmap.ostype``,
  ``nmap.hostname`` and every ``<cpe>`` as ``nmap.cpe``;
- ``servicefp``, the fingerprint nmap prints for a service it could not name, decoded: HTTP
  replies give ``http.server``, ``http.www_authenticate``, ``http.title``, ``http.body``; RTSP
  replies ``rtsp.*``; greetings ``ftp.banner`` / ``ssh.banner`` / ``telnet.banner`` /
  ``tcp.banner`` (the same keys and parsers as the active scan's probes);
- ``<os>``: the best few ``osmatch`` names as ``nmap.os``, the best match's ``osclass`` as
  ``nmap.os_class`` ("vendor family type") and its CPEs as ``nmap.cpe``;
- MAC address and ``nmap.mac_vendor``, host names;
- NSE script output (see ``PORT_SCRIPTS``), under the signal key the active scan uses for the
  same fact; the broadcast discovery scripts (``prescript``) name other hosts by address, and
  each entry becomes an observation of that host.

Everything in the file is hostile input: parsed streaming with defusedxml (nmap's own
``<!DOCTYPE nmaprun>`` is accepted, entity declarations and external references are refused),
every text bounded, a malformed fingerprint or script output yields nothing rather than an error.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from coverwatch.errors import InputError
from coverwatch.identity import normalise_mac
from coverwatch.models import Observation, ObsStatus, SourceKind
from coverwatch.observer import Observer
from coverwatch.probes import http, rtsp
from coverwatch.probes.banner import BANNER_SIGNALS, parse_banner, strip_telnet_negotiation
from coverwatch.probes.http import clean_text
from coverwatch.sources.imports import BadRow, ImportResult, file_head, skip, sniff
from coverwatch.sources.interface import Source

logger = logging.getLogger(__name__)

_MAX_VALUE = 256
_MAX_FP = 64 * 1024
"""Characters of one ``servicefp`` read (nmap's own are a few KiB)."""
_MAX_PROBES = 24
_MAX_SCRIPT = 16 * 1024
"""Characters of one script's output read."""
_MAX_LINES = 400
_MAX_OS_MATCHES = 3
_OS_SPREAD = 5
"""An OS guess more than this many accuracy points below the best is not imported."""
_MAX_OTHER_HOSTS = 4096
"""Hosts a broadcast script may name (a /20 of discovery replies)."""

Fact = tuple[str, str]
"""A (signal key, value) pair."""

#: ``<service>`` attribute -> signal key.
SERVICE_SIGNALS = {
    "name": "nmap.service",
    "product": "nmap.product",
    "version": "nmap.version",
    "extrainfo": "nmap.extrainfo",
    "devicetype": "nmap.devicetype",
    "ostype": "nmap.ostype",
    "hostname": "nmap.hostname",
}
# NOTE: http-title says this when a page has no <title>; it is not the device's title.
_NO_TITLE = ("Site doesn't have a title", "Did not follow redirect")

# --- servicefp --------------------------------------------------------------------------------

# NOTE: nmap writes each probe's reply as r(<probe>,<hex length>,"<escaped bytes>"): letters and
# digits as they are, punctuation behind a backslash, \r \n \t \0, other bytes as \xHH; older
# nmap wraps the fingerprint in lines that start with "SF:" (https://nmap.org/book/vscan-community.html).
_FP_HEAD = re.compile(r'r\((\w{1,40}),[0-9A-Fa-f]{1,8},"')
_FP_BODY = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_FP_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|.)", re.S)
_FP_CONTROL = {"r": "\r", "n": "\n", "t": "\t", "0": "\0"}


def _unescape(text: str) -> bytes:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) == 3:
            return chr(int(code[1:], 16))
        return _FP_CONTROL.get(code, code)

    return _FP_ESCAPE.sub(one, text).encode("latin-1", "replace")


def servicefp_responses(fingerprint: str) -> list[tuple[str, bytes]]:
    """(probe name, reply bytes) for each probe reply kept in an nmap service fingerprint.

    Linear and bounded on any input: a reply without its closing quote ends the list.
    """
    text = fingerprint[:_MAX_FP].replace("\nSF:", "").replace("\r", "")
    found: list[tuple[str, bytes]] = []
    position = 0
    while len(found) < _MAX_PROBES:
        head = _FP_HEAD.search(text, position)
        if head is None:
            break
        body = _FP_BODY.match(text, head.end())
        if body is None:
            break
        found.append((head.group(1), _unescape(body.group()[:-1])))
        position = body.end()
    return found


_HEADER_KEYS = {"server": "http.server", "www-authenticate": "http.www_authenticate"}
_TITLE = re.compile(r"<title[^>]{0,200}>([^<]{1,512})", re.IGNORECASE)


def _loose_http(lines: Iterable[str], rtsp_reply: bool = False) -> list[Fact]:
    """Server / WWW-Authenticate / <title> from reply text that no longer parses as HTTP."""
    prefix = "rtsp." if rtsp_reply else "http."
    facts: list[Fact] = []
    for line in lines:
        name, sep, value = line.partition(":")
        key = _HEADER_KEYS.get(name.strip().lower()) if sep else None
        if key and clean_text(value, _MAX_VALUE):
            facts.append((prefix + key.split(".", 1)[1], clean_text(value, _MAX_VALUE)))
        title = None if rtsp_reply else _TITLE.search(line)
        if title and clean_text(title.group(1), _MAX_VALUE):
            facts.append(("http.title", clean_text(title.group(1), _MAX_VALUE)))
    return facts


#: nmap service name -> the greeting's signal key (nmap named the service: trust it over the port).
_GREETING_SERVICES = {"ftp": "ftp.banner", "ssh": "ssh.banner", "telnet": "telnet.banner"}


class PortInfo(NamedTuple):
    """The port a script or fingerprint ran on, and the service name nmap gave it."""

    number: int | None
    service: str = ""


def _greeting_key(port: PortInfo, text: str) -> str:
    if text.startswith("SSH-"):
        return "ssh.banner"
    by_service = _GREETING_SERVICES.get(port.service)
    return by_service or BANNER_SIGNALS.get(port.number or 0, "tcp.banner")


def _mostly_text(data: bytes) -> bool:
    """A greeting, not a binary reply (a time or RPC service's bytes are no banner)."""
    text = strip_telnet_negotiation(data)
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in text)
    return bool(text) and printable >= 0.8 * len(text)


def response_facts(probe: str, data: bytes, port: PortInfo) -> list[Fact]:
    """The signals one decoded probe reply yields: HTTP, RTSP, or the service's greeting."""
    if data.startswith(b"HTTP/"):
        try:
            status, headers, body = http.parse_response(data)
        except http.MalformedReply:
            return _loose_http(data.decode("latin-1").split("\r\n")[:64])
        facts = http.signals(status, headers, body)
        if probe != "GetRequest":  # the root page is GET /; other probes' pages are not it
            facts = {k: v for k, v in facts.items() if k in _HEADER_KEYS.values()}
        return list(facts.items())
    if data.startswith(b"RTSP/"):
        try:
            status, headers = rtsp.parse_response(data)
        except rtsp.MalformedRtsp:
            return []
        method = "OPTIONS" if probe == "RTSPRequest" else probe
        return list(rtsp.signals(method, status, headers).items())
    if probe == "NULL" and _mostly_text(data):
        text = parse_banner(data)
        return [(_greeting_key(port, text), text)] if text else []
    return []


def servicefp_facts(fingerprint: str, port: PortInfo) -> list[Fact]:
    """Every signal the replies kept in a ``servicefp`` attribute yield, GET / first.

    A reply that does not parse yields nothing; the fingerprint never fails the host.
    """
    replies = servicefp_responses(fingerprint)
    replies.sort(key=lambda reply: reply[0] != "GetRequest")
    facts: list[Fact] = []
    for probe, data in replies:
        try:
            facts += response_facts(probe, data, port)
        except ValueError as e:  # NOTE: a host's bytes, not our bug: skip this reply only
            logger.debug("unparsable %s reply in servicefp on port %s: %s", probe, port.number, e)
    return facts


# --- NSE script output ------------------------------------------------------------------------


def _output(script: Element) -> str:
    return script.get("output", "")[:_MAX_SCRIPT]


def _lines(text: str) -> list[str]:
    return text.splitlines()[:_MAX_LINES]


def _elem(script: Element, key: str) -> str | None:
    return next((e.text for e in script.iter("elem") if e.get("key") == key and e.text), None)


def _one(key: str, text: str | None) -> list[Fact]:
    value = clean_text(text or "", _MAX_VALUE)
    return [(key, value)] if value else []


def _http_title(script: Element, port: PortInfo) -> list[Fact]:
    titled = _elem(script, "title")
    if titled:
        return _one("http.title", titled)
    output = _output(script)
    return [] if output.startswith(_NO_TITLE) else _one("http.title", output)


def _http_server_header(script: Element, port: PortInfo) -> list[Fact]:
    elems = [e.text for e in script.iter("elem") if e.text]
    return [f for text in (elems or _lines(_output(script))[:1]) for f in _one("http.server", text)]


def _http_headers(script: Element, port: PortInfo) -> list[Fact]:
    return [(k, v) for k, v in _loose_http(_lines(_output(script))) if k != "http.title"]


# NOTE: http-auth prints each challenge as "  <Scheme> realm=<realm> ..." and, in XML, one
# <table> per challenge: <elem key="scheme"> and <table key="params"> holding <elem key="realm">
# (seen in nmap 7.93's -oX; https://nmap.org/nsedoc/scripts/http-auth.html).
_AUTH_LINE = re.compile(
    r"^\s*(Basic|Digest|NTLM|Negotiate)\b[^=]{0,40}?\brealm=(.{1,200}?)(?:\s+\w+=|$)"
)


def _challenge(scheme: str, realm: str) -> list[Fact]:
    return _one("http.www_authenticate", f'{scheme} realm="{realm.strip(chr(34))}"')


def _http_auth(script: Element, port: PortInfo) -> list[Fact]:
    facts: list[Fact] = []
    for table in script.findall("table"):
        named = (e.text for e in table.findall("elem") if e.get("key") == "scheme")
        scheme = next(named, None) or table.get("key") or ""
        realm = next((e.text for e in table.iter("elem") if e.get("key") == "realm"), None)
        if scheme and realm:
            facts += _challenge(scheme, realm)
    if not facts:
        for line in _lines(_output(script)):
            match = _AUTH_LINE.match(line[:512])
            if match:
                facts += _challenge(match.group(1), match.group(2))
    return facts


#: ssl-cert name fields -> RFC 4514 attribute types, most specific first, as the active scan's
#: TLS probe writes them (``cryptography``'s ``Name.rfc4514_string()``).
_RDN = (
    ("commonName", "CN"),
    ("organizationalUnitName", "OU"),
    ("organizationName", "O"),
    ("localityName", "L"),
    ("stateOrProvinceName", "ST"),
    ("countryName", "C"),
    ("emailAddress", "1.2.840.113549.1.9.1"),
)
_RFC4514_SPECIAL = re.compile(r'([\\,+"<>;])')


def _rfc4514(fields: dict[str, str]) -> str:
    parts = [
        short + "=" + _RFC4514_SPECIAL.sub(r"\\\1", fields[name].strip())
        for name, short in _RDN
        if fields.get(name, "").strip()
    ]
    return clean_text(",".join(parts), _MAX_VALUE)


def _cert_name(script: Element, which: str) -> dict[str, str]:
    for table in script.findall("table"):
        if table.get("key") == which:
            return {e.get("key", ""): e.text or "" for e in table.findall("elem")}
    # NOTE: without structured output: "Subject: commonName=x/organizationName=y/countryName=z".
    label = f"{which.capitalize()}: "
    line = next((ln.strip() for ln in _lines(_output(script)) if ln.strip().startswith(label)), "")
    pairs = (part.partition("=") for part in line[len(label) :].split("/"))
    return {name: value for name, sep, value in pairs if sep}


def _ssl_cert(script: Element, port: PortInfo) -> list[Fact]:
    subject, issuer = _cert_name(script, "subject"), _cert_name(script, "issuer")
    facts = _one("tls.subject", _rfc4514(subject)) + _one("tls.issuer", _rfc4514(issuer))
    if subject and issuer:
        facts.append(("tls.self_signed", "true" if subject == issuer else "false"))
    return facts


def _rtsp_methods(script: Element, port: PortInfo) -> list[Fact]:
    methods = next((ln for ln in _lines(_output(script)) if ln.strip()), "")
    return _one("rtsp.public", methods.removeprefix("methods:"))


# NOTE: banner.nse shows unprintable bytes as \xHH (and \r \n); decode them so telnet option
# negotiation can be stripped like the banner probe does.
_NSE_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|[rnt\\])")


def _nse_byte(match: re.Match[str]) -> str:
    code = match.group(1)
    return chr(int(code[1:], 16)) if len(code) == 3 else _FP_CONTROL.get(code, code)


def _banner(script: Element, port: PortInfo) -> list[Fact]:
    raw = _NSE_ESCAPE.sub(_nse_byte, _output(script))
    text = parse_banner(raw.encode("latin-1", "replace"))
    return [(_greeting_key(port, text), text)] if text else []


def _first_line(key: str) -> Callable[[Element, PortInfo], list[Fact]]:
    def handler(script: Element, port: PortInfo) -> list[Fact]:
        line = next((ln for ln in _lines(_output(script)) if ln.strip()), "")
        return _one(key, line)

    return handler


def _snmp_info(script: Element, port: PortInfo) -> list[Fact]:
    # NOTE: SNMPv3 engine enterprise (a maker name nmap resolves from the engine ID); no signal
    # key names it yet, so it rides on nmap.extrainfo where the maker-word rules see it.
    enterprise = _elem(script, "enterprise")
    if enterprise is None:
        line = next((ln for ln in _lines(_output(script)) if "enterprise:" in ln), "")
        enterprise = line.partition("enterprise:")[2]
    return _one("nmap.extrainfo", f"SNMP enterprise: {enterprise.strip()}" if enterprise else "")


_SIP_HEADERS = {"user-agent": "sip.user_agent", "server": "sip.server"}


def _sip(script: Element, port: PortInfo) -> list[Fact]:
    facts: list[Fact] = []
    for line in _lines(_output(script)):
        name, sep, value = line.partition(":")
        key = _SIP_HEADERS.get(name.strip().lower()) if sep else None
        facts += _one(key, value) if key else []
    return facts


_FAVICON_MD5 = re.compile(r"\b([0-9A-Fa-f]{32})\b")


def _http_favicon(script: Element, port: PortInfo) -> list[Fact]:
    match = _FAVICON_MD5.search(_output(script))
    return [("http.favicon_md5", match.group(1).lower())] if match else []


def _fingerprint_strings(script: Element, port: PortInfo) -> list[Fact]:
    # NOTE: nmap >= 7.50 prints the printable strings of unrecognised replies per probe
    # (<elem key="GetRequest">); header lines survive, the body's framing does not.
    facts: list[Fact] = []
    for elem in script.findall("elem"):
        lines = [ln.strip() for ln in _lines((elem.text or "")[:_MAX_SCRIPT])]
        lines = [ln for ln in lines if ln]
        if not lines:
            continue
        if lines[0].startswith(("HTTP/", "RTSP/")):
            facts += _loose_http(lines, rtsp_reply=lines[0].startswith("RTSP/"))
        elif elem.get("key") == "NULL":
            text = " | ".join(lines[:3])[:512]
            facts.append((_greeting_key(port, text), clean_text(text, 512)))
    return facts


#: UPnP description fields as nmap's upnp library prints them -> signal keys.
_UPNP_FIELDS = {
    "server": "upnp.server",
    "location": "upnp.location",
    "webserver": "http.server",
    "manufacturer": "upnp.manufacturer",
    "name": "upnp.friendly_name",
    "model descr": "upnp.model_description",
    "model name": "upnp.model_name",
    "model version": "upnp.model_number",
}
#: WS-Discovery fields as wsdd-discover prints them.
_WSDD_FIELDS = {"address": "onvif.xaddrs", "type": "onvif.types"}


def _fields(
    table: dict[str, str], bare: str | None = None
) -> Callable[[Element, PortInfo], list[Fact]]:
    def handler(script: Element, port: PortInfo) -> list[Fact]:
        return [fact for _, facts in _sections(_output(script), table, bare) for fact in facts]

    return handler


def _smb_os(script: Element, port: PortInfo) -> list[Fact]:
    os_name = _elem(script, "os")
    if os_name is None:
        line = next((ln for ln in _lines(_output(script)) if ln.strip().startswith("OS:")), "")
        os_name = line.strip().removeprefix("OS:")
    return _one("nmap.os", os_name)


PortScript = Callable[[Element, PortInfo], list[Fact]]
#: NSE script id -> the facts its output yields, under the active scan's signal keys.
PORT_SCRIPTS: dict[str, PortScript] = {
    "http-title": _http_title,
    "http-server-header": _http_server_header,
    "http-headers": _http_headers,
    "http-auth": _http_auth,
    "http-favicon": _http_favicon,
    "ssl-cert": _ssl_cert,
    "rtsp-methods": _rtsp_methods,
    "banner": _banner,
    "upnp-info": _fields(_UPNP_FIELDS, "upnp.server"),
    "wsdd-discover": _fields(_WSDD_FIELDS),
    "snmp-sysdescr": _first_line("snmp.sysdescr"),
    "snmp-info": _snmp_info,
    "sip-methods": _sip,
    "fingerprint-strings": _fingerprint_strings,
    "smb-os-discovery": _smb_os,
}


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _opens(sections: list[tuple[str | None, list[Fact]]]) -> bool:
    """The current section is an address's, or the output's first (a port script's)."""
    return sections[-1][0] is not None or len(sections) == 1


def _sections(
    output: str, table: dict[str, str], bare: str | None = None
) -> list[tuple[str | None, list[Fact]]]:
    """``Key: value`` lines under each bare-address line (``None``: outside any address).

    A line indented no deeper than the address line that is not an address ends its section.
    ``bare``: the key of a section's first line when it has no ``Key:`` (older nmap printed the
    UPnP SERVER header that way).
    """
    sections: list[tuple[str | None, list[Fact]]] = [(None, [])]
    depth = -1
    for line in _lines(output):
        stripped = line.strip()
        address = _address(stripped)
        if address is not None and len(sections) <= _MAX_OTHER_HOSTS:
            sections.append((address, []))
            depth = _indent(line)
            continue
        if stripped and sections[-1][0] is not None and _indent(line) <= depth:
            sections.append((None, []))
        name, sep, value = stripped.partition(":")
        key = table.get(name.strip().lower()) if sep else None
        if key:
            sections[-1][1].extend(_one(key, value))
        elif bare and stripped and not sections[-1][1] and _opens(sections):
            sections[-1][1].extend(_one(bare, stripped))
    return sections


def _dns_sd(output: str) -> list[tuple[str | None, list[Fact]]]:
    sections: list[tuple[str | None, list[Fact]]] = [(None, [])]
    for line in _lines(output):
        stripped = line.strip()
        if _address(stripped) is not None and len(sections) <= _MAX_OTHER_HOSTS:
            sections.append((_address(stripped), []))
        elif match := re.fullmatch(r"\d{1,5}/(tcp|udp) ([\w.-]{1,63})", stripped):
            sections[-1][1].extend(_one("mdns.service", f"_{match[2]}._{match[1]}"))
        elif "=" in stripped and not stripped.startswith("Address="):
            sections[-1][1].extend(_one("mdns.txt", stripped))
    return sections


def _dhcp_servers(output: str) -> list[tuple[str | None, list[Fact]]]:
    sections: list[tuple[str | None, list[Fact]]] = []
    for line in _lines(output):
        name, sep, value = line.strip().partition(":")
        if sep and name == "Server Identifier" and _address(value):
            sections.append((_address(value), [("udp.port", "67")]))
    return sections[:_MAX_OTHER_HOSTS]


#: Broadcast discovery script id -> (port, parser of its output into per-address facts).
BROADCAST_SCRIPTS: dict[str, tuple[int, Callable[[str], list[tuple[str | None, list[Fact]]]]]] = {
    "broadcast-upnp-info": (1900, lambda out: _sections(out, _UPNP_FIELDS, "upnp.server")),
    "broadcast-wsdd-discover": (3702, lambda out: _sections(out, _WSDD_FIELDS)),
    "broadcast-dns-service-discovery": (5353, _dns_sd),
    "broadcast-dhcp-discover": (67, _dhcp_servers),
}


def broadcast_facts(script: Element) -> list[tuple[str, int, list[Fact]]]:
    """(address, port, facts) for each host a broadcast discovery script's output names."""
    entry = BROADCAST_SCRIPTS.get(script.get("id", ""))
    if entry is None:
        return []
    port, parse = entry
    return [(ip, port, facts) for ip, facts in parse(_output(script)) if ip and facts]


# --- hosts ------------------------------------------------------------------------------------


def _when(element: Element, fallback: datetime | None) -> datetime | None:
    raw = element.get("starttime") or element.get("start")
    try:
        return datetime.fromtimestamp(int(raw), UTC) if raw else fallback
    except (ValueError, OverflowError, OSError):
        return fallback


def _script_facts(script: Element, port: PortInfo) -> list[Fact]:
    handler = PORT_SCRIPTS.get(script.get("id", ""))
    if handler is None:
        return []
    try:
        return handler(script, port)
    except ValueError as e:  # NOTE: device text nmap relayed: skip this script, keep the host
        logger.debug("unparsable %s output on port %s: %s", script.get("id"), port.number, e)
        return []


def _service_facts(service: Element, port: PortInfo) -> list[Fact]:
    facts: list[Fact] = []
    for attribute, key in SERVICE_SIGNALS.items():
        facts += _one(key, service.get(attribute))
    facts += [f for cpe in service.findall("cpe") for f in _one("nmap.cpe", cpe.text)]
    fingerprint = service.get("servicefp")
    if fingerprint:
        facts += servicefp_facts(fingerprint, port)
    return facts


def _port_facts(port: Element) -> tuple[int | None, list[Fact]]:
    """The port number and its facts; ValueError when its number is not one."""
    state = port.find("state")
    state_name = state.get("state", "") if state is not None else ""
    protocol = port.get("protocol")
    if protocol not in ("tcp", "udp") or not state_name.startswith("open"):
        return None, []
    number = int(port.get("portid", ""))
    service = port.find("service")
    where = PortInfo(number, service.get("name", "") if service is not None else "")
    facts: list[Fact] = []
    if state_name == "open":  # "open|filtered" (UDP without a reply) is not an answer
        facts.append((f"{protocol}.port", str(number)))
        if service is not None:
            facts += _service_facts(service, where)
    for script in port.findall("script"):
        facts += _script_facts(script, where)
    return number, facts


def _os_facts(host: Element) -> list[Fact]:
    os_element = host.find("os")
    if os_element is None:
        return []

    def accuracy(element: Element) -> int:
        text = element.get("accuracy", "")
        return int(text) if text.isdigit() else 0

    matches = sorted(os_element.findall("osmatch"), key=accuracy, reverse=True)
    facts: list[Fact] = []
    if matches:
        best = accuracy(matches[0])
        for match in matches[:_MAX_OS_MATCHES]:
            if accuracy(match) >= best - _OS_SPREAD:
                facts += _one("nmap.os", match.get("name"))
    # NOTE: nmap < 6 put <osclass> directly under <os>; later under each <osmatch>.
    classes = (matches[0].findall("osclass") if matches else []) or os_element.findall("osclass")
    for osclass in classes[:_MAX_OS_MATCHES]:
        words = (osclass.get(a, "") for a in ("vendor", "osfamily", "type"))
        facts += _one("nmap.os_class", " ".join(w for w in words if w))
        facts += [f for cpe in osclass.findall("cpe") for f in _one("nmap.cpe", cpe.text)]
    return facts


def _unique(observations: list[Observation]) -> list[Observation]:
    seen: set[tuple[str, str, int | None]] = set()
    kept = []
    for o in observations:
        if (o.signal, o.value, o.port) not in seen:
            seen.add((o.signal, o.value, o.port))
            kept.append(o)
    return kept


def host_observations(host: Element, started: datetime | None) -> tuple[str, list[Observation]]:
    """The address and observations of one ``<host>``; ValueError says what is unusable."""
    status = host.find("status")
    if status is not None and status.get("state") not in (None, "up"):
        return "", []
    ip = next(
        (a.get("addr", "") for a in host.iter("address") if a.get("addrtype") in ("ipv4", "ipv6")),
        "",
    )
    if not ip:
        raise ValueError("no IPv4 or IPv6 address")
    at = _when(host, started)

    def obs(signal: str, value: str, port: int | None = None) -> Observation:
        return Observation(ip, signal, value, port, "nmap", ObsStatus.OK, SourceKind.IMPORT, at)

    found: list[Observation] = []
    for address in host.iter("address"):
        if address.get("addrtype") == "mac":
            mac = normalise_mac(address.get("addr", ""))
            if mac is None:
                raise ValueError(f"MAC {clean_text(address.get('addr', ''), 40)!r} is not valid")
            found.append(obs("mac", mac))
            found += [obs(k, v) for k, v in _one("nmap.mac_vendor", address.get("vendor"))]
    for name in host.iter("hostname"):
        found += [obs(k, v) for k, v in _one("nmap.hostname", name.get("name"))]
    for port in host.iter("port"):
        try:
            number, facts = _port_facts(port)
        except ValueError as e:
            raise ValueError(
                f"port {clean_text(port.get('portid', ''), 12)!r} is not a number"
            ) from e
        found += [obs(key, value, number) for key, value in facts]
    found += [obs(key, value) for key, value in _os_facts(host)]
    for hostscript in host.findall("hostscript"):
        for script in hostscript.findall("script"):
            found += [obs(key, value) for key, value in _script_facts(script, PortInfo(None))]
    return ip, _unique(found)


def _broadcast_observations(element: Element, at: datetime | None) -> dict[str, list[Observation]]:
    found: dict[str, list[Observation]] = {}
    for script in element.findall("script"):
        for ip, port, facts in broadcast_facts(script):
            found.setdefault(ip, []).extend(
                Observation(ip, k, v, port, "nmap", ObsStatus.OK, SourceKind.IMPORT, at)
                for k, v in facts
            )
    return found


class _Reader:
    """One streaming read: hosts as they are parsed, and what it skipped and noted."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bad: list[BadRow] = []
        self.notes: list[str] = []
        self.count = 0
        self.yielded = 0
        self.started: datetime | None = None
        self.broadcast: dict[str, list[Observation]] = {}
        """What discovery scripts said of hosts not (yet) read, bounded."""

    def _host(self, element: Element) -> tuple[str, list[Observation]] | None:
        self.count += 1
        try:
            ip, observations = host_observations(element, self.started)
        except ValueError as e:
            skip(self.bad, BadRow(self.label, self.count, str(e), "host"))
            return None
        return (ip, self.broadcast.pop(ip, []) + observations) if ip else None

    def _broadcast(self, element: Element) -> None:
        for ip, observations in _broadcast_observations(element, self.started).items():
            if ip in self.broadcast or len(self.broadcast) < _MAX_OTHER_HOSTS:
                self.broadcast.setdefault(ip, []).extend(observations)

    def _elements(self, path: str | Path) -> Iterator[tuple[str, list[Observation]]]:
        """Parse the file host by host; raises ParseError / DefusedXmlException / OSError."""
        root: Element | None = None
        events = SafeET.iterparse(
            str(path), events=("start", "end"), forbid_dtd=False, forbid_entities=True
        )
        for event, element in events:
            if root is None:
                if element.tag != "nmaprun":
                    raise InputError(f"{self.label}: not nmap XML output (root is not <nmaprun>)")
                root = element
                self.started = _when(element, None)
            elif event == "end" and element.tag in ("host", "prescript", "postscript"):
                found = None
                if element.tag == "host":
                    found = self._host(element)
                else:
                    self._broadcast(element)
                root.clear()  # keep memory flat on a big scan: drop what was read
                if found is not None:
                    yield found
        if root is None:
            raise ParseError("no root element")

    def rows(self, path: str | Path) -> Iterator[tuple[str, list[Observation]]]:
        """The file's hosts, one at a time, then those only discovery scripts named (they were
        not counted as read: nmap did not scan them). A file cut short keeps the hosts read
        before the break, with a note; InputError when it is not nmap XML at all."""
        try:
            for found in self._elements(path):
                self.yielded += 1
                yield found
        except DefusedXmlException as e:
            raise InputError(f"{self.label}: refused unsafe XML ({e.__class__.__name__})") from e
        except ParseError as e:
            if self.started is None and not self.count and not self.yielded:
                raise InputError(f"{self.label}: not well-formed XML ({e})") from e
            self.notes.append(
                f"{self.label}: XML ends early or is malformed ({e}); kept "
                f"{self.yielded + len(self.broadcast)} host(s)"
            )
            logger.debug("%s", self.notes[-1])  # the caller reports the notes: each once
        except OSError as e:
            raise InputError(f"cannot read {self.label}: {e.strerror or e}") from e
        yield from self.broadcast.items()


def nmap_rows(path: str | Path) -> tuple[Iterator[tuple[str, list[Observation]]], _Reader]:
    """An nmap ``-oX`` file's hosts, read one at a time as they are needed (a large scan never
    sits in memory), and the reader that counts hosts read, bad hosts and notes as it goes.
    InputError at once when the file does not start like XML."""
    label = str(path)
    if sniff(file_head(path)) != "xml":
        raise InputError(f"{label}: not nmap XML output (expected a file written by nmap -oX)")
    reader = _Reader(label)
    return reader.rows(path), reader


def read_nmap(path: str | Path) -> ImportResult:
    """Observations per host from an nmap ``-oX`` file; bad hosts are skipped and listed.

    Raises InputError when the file is not nmap XML (or refuses safe parsing at the start).
    A file cut short (nmap interrupted) keeps the hosts read before the break, with a note.
    Hosts that only broadcast discovery scripts named are included (they were not counted as
    read: nmap did not scan them).
    """
    rows, reader = nmap_rows(path)
    hosts: dict[str, list[Observation]] = {}
    for ip, observations in rows:
        hosts.setdefault(ip, []).extend(observations)
    return ImportResult(hosts, tuple(reader.bad), reader.count, tuple(reader.notes))


class NmapSource(Source):
    """An nmap ``-oX`` file as a source; ``result`` keeps the bad hosts and notes after collect."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self.result = ImportResult({})

    def collect(self, observer: Observer) -> dict[str, list[Observation]]:
        """Read the file; hosts that were down or had no open port and no MAC are left out."""
        observer.stage("import", 1)
        self.result = read_nmap(self.path)
        observer.advance()
        observer.done()
        return {ip: obs for ip, obs in self.result.observations.items() if obs}

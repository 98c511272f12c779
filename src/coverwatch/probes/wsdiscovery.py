"""ONVIF WS-Discovery: the Probe we send and a hardened parser for ProbeMatches.

Wire format (facts from the specifications, code our own):

- WS-Discovery (OASIS / Microsoft, April 2005, namespace
  ``http://schemas.xmlsoap.org/ws/2005/04/discovery``), SOAP 1.2 over UDP: a ``Probe`` goes to
  ``239.255.255.250:3702`` (or unicast to a device's port 3702) with WS-Addressing (2004/08)
  ``Action``/``MessageID``/``To``; devices answer the sender with ``ProbeMatches``, each
  ``ProbeMatch`` carrying ``EndpointReference/Address``, ``Types``, ``Scopes``, ``XAddrs``.
  A device joining the network multicasts a ``Hello`` (section 4.1) with the same four fields:
  a capture of the segment sees it without anyone probing.
- ONVIF Core Specification, section 7 ("Device discovery"): a device is of type
  ``dn:NetworkVideoTransmitter`` (``http://www.onvif.org/ver10/network/wsdl``) and carries
  scopes ``onvif://www.onvif.org/name/<name>``, ``/hardware/<model>``, ``/location/<where>``,
  ``/type/...`` and ``/Profile/...``; many devices add ``/MAC/<mac>`` (e.g. Hikvision; public
  parsers in home-assistant and lumeohq/onvif-rs read it).
- Quirk (openhab-addons #9022): some devices ignore a Probe whose Types use an unusual prefix,
  so the probe binds ``dn`` and ``tds`` exactly as the ONVIF spec's examples do.
"""

from __future__ import annotations

import uuid
from urllib.parse import unquote

from coverwatch.probes.http import clean_text
from coverwatch.probes.onvif import MalformedSoap, local, parse_envelope
from coverwatch.probes.protocol import ProtocolSpec

PORT = 3702
GROUP = "239.255.255.250"

_SOAP = "http://www.w3.org/2003/05/soap-envelope"
_WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
_WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
_DN = "http://www.onvif.org/ver10/network/wsdl"
_TDS = "http://www.onvif.org/ver10/device/wsdl"
_SCOPE_PREFIX = "onvif://www.onvif.org/"
_MAX_SCOPES = 64
_FIELD = 256

#: ONVIF scope kind (lower-case) -> signal key.
SCOPE_SIGNALS = {
    "name": "onvif.scope.name",
    "hardware": "onvif.scope.hardware",
    "location": "onvif.scope.location",
}


class MalformedProbeMatch(ValueError):
    """The datagram is not a well-formed, safe ProbeMatches message."""


def build_probe(message_id: str | None = None, types: str = "dn:NetworkVideoTransmitter") -> bytes:
    """A WS-Discovery Probe for ``types`` (ONVIF devices answer ``dn:NetworkVideoTransmitter``;
    ``tds:Device`` finds devices that announce only the device service)."""
    message_id = message_id or f"uuid:{uuid.uuid4()}"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{_SOAP}" xmlns:a="{_WSA}" xmlns:d="{_WSD}" '
        f'xmlns:dn="{_DN}" xmlns:tds="{_TDS}"><s:Header>'
        f'<a:Action s:mustUnderstand="1">{_WSD}/Probe</a:Action>'
        f"<a:MessageID>{message_id}</a:MessageID>"
        f"<a:ReplyTo><a:Address>{_WSA}/role/anonymous</a:Address></a:ReplyTo>"
        f'<a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>'
        f"</s:Header><s:Body><d:Probe><d:Types>{types}</d:Types></d:Probe></s:Body>"
        f"</s:Envelope>"
    ).encode()


def scope_signals(scopes: list[str]) -> dict[str, list[str]]:
    """Signals from ONVIF scope URIs: name, hardware, location and MAC (percent-decoded)."""
    found: dict[str, list[str]] = {}
    for scope in scopes[:_MAX_SCOPES]:
        if not scope.lower().startswith(_SCOPE_PREFIX):
            continue
        kind, _, value = scope[len(_SCOPE_PREFIX) :].partition("/")
        # NOTE: cut before decoding: a hostile megabyte of %XX is not decoded to keep 256 chars
        text = clean_text(unquote(value[: _FIELD * 3], errors="replace"), _FIELD)
        if not text:
            continue
        key = SCOPE_SIGNALS.get(kind.lower())
        if key is None and kind.lower() == "mac":
            key = "mac"
        if key is not None:
            found.setdefault(key, []).append(text)
    return found


def parse_probe_matches(data: bytes) -> list[dict[str, list[str]]]:
    """Signals for each ProbeMatch of a ProbeMatches datagram, or of a Hello announcement
    (defusedxml: no DTD, no entities).

    Keys: ``onvif.xaddrs``, ``onvif.types``, ``onvif.scopes``, ``onvif.endpoint``, the scope
    signals and ``mac``. Only ONVIF devices count: a match whose types, scopes and service
    addresses say nothing of ONVIF (a Windows computer's Hello, a WSD printer's answer) is left
    out. Raises MalformedProbeMatch when nothing is left.
    """
    try:
        root = parse_envelope(data)
    except MalformedSoap as e:
        raise MalformedProbeMatch(str(e)) from e
    matches = [e for e in root.iter() if local(e.tag) in ("ProbeMatch", "Hello")]
    if not matches:
        raise MalformedProbeMatch("no ProbeMatch or Hello in the message")
    results = []
    for match in matches[:16]:
        texts: dict[str, str] = {}
        for element in match.iter():
            name = local(element.tag)
            if name in ("Address", "Types", "Scopes", "XAddrs") and element.text:
                texts.setdefault(name, element.text)
        signals: dict[str, list[str]] = {}
        for name, key in (
            ("XAddrs", "onvif.xaddrs"),
            ("Types", "onvif.types"),
            ("Scopes", "onvif.scopes"),
            ("Address", "onvif.endpoint"),
        ):
            if texts.get(name, "").strip():
                signals[key] = [clean_text(texts[name], 1024)]
        signals.update(scope_signals(texts.get("Scopes", "").split()))
        if signals and _is_onvif(texts):
            results.append(signals)
    if not results:
        raise MalformedProbeMatch("no ONVIF device's ProbeMatch or Hello in the message")
    return results


def _is_onvif(texts: dict[str, str]) -> bool:
    """ONVIF Core 7.3: a device is a NetworkVideoTransmitter (or announces the device service),
    carries onvif:// scopes, or serves the ONVIF device service under /onvif/."""
    types = texts.get("Types", "")
    return (
        "NetworkVideoTransmitter" in types
        or "tds:Device" in types.split()
        or _SCOPE_PREFIX in texts.get("Scopes", "").lower()
        or "/onvif/" in texts.get("XAddrs", "").lower()
    )


SPEC = ProtocolSpec(
    name="wsdiscovery",
    port=PORT,
    group=GROUP,
    build=lambda _to: build_probe(),
    parse=parse_probe_matches,
    source="WS-Discovery (April 2005); ONVIF Core Specification, section 7",
    identity=False,
)

"""WS-Discovery probe and ProbeMatches parser, including hostile replies."""

from __future__ import annotations

import pytest

from coverwatch.probes import wsdiscovery
from coverwatch.probes.wsdiscovery import MalformedProbeMatch

MATCH = (
    '<?xml version="1.0" encoding="UTF-8"?><env:Envelope '
    'xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><env:Body><d:ProbeMatches>'
    "<d:ProbeMatch><wsa:EndpointReference><wsa:Address>urn:uuid:cea94000-fb96-11b3-8260-686dbc5cb15d"
    "</wsa:Address></wsa:EndpointReference><d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>"
    "<d:Scopes>onvif://www.onvif.org/type/video_encoder "
    "onvif://www.onvif.org/MAC/68:6d:bc:5c:b1:5d "
    "onvif://www.onvif.org/name/HIKVISION onvif://www.onvif.org/hardware/DS-2CD2143G0-I "
    "onvif://www.onvif.org/location/city/hangzhou onvif://www.onvif.org/name/My%20Cam</d:Scopes>"
    "<d:XAddrs>http://192.0.2.10/onvif/device_service</d:XAddrs>"
    "</d:ProbeMatch></d:ProbeMatches></env:Body></env:Envelope>"
)


def test_probe_asks_for_network_video_transmitters() -> None:
    probe = wsdiscovery.build_probe("uuid:1")
    assert b"<d:Types>dn:NetworkVideoTransmitter</d:Types>" in probe
    assert b'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"' in probe
    assert b"<a:MessageID>uuid:1</a:MessageID>" in probe


def test_probe_match_signals() -> None:
    (match,) = wsdiscovery.parse_probe_matches(MATCH.encode())
    assert match["onvif.scope.name"] == ["HIKVISION", "My Cam"]
    assert match["onvif.scope.hardware"] == ["DS-2CD2143G0-I"]
    assert match["onvif.scope.location"] == ["city/hangzhou"]
    assert match["mac"] == ["68:6d:bc:5c:b1:5d"]
    assert match["onvif.xaddrs"] == ["http://192.0.2.10/onvif/device_service"]
    assert match["onvif.types"] == ["dn:NetworkVideoTransmitter tds:Device"]


def test_a_hello_announcement_says_what_a_probe_match_says() -> None:
    # WS-Discovery (April 2005) section 4.1: a device joining the network multicasts Hello
    hello = MATCH.replace("<d:ProbeMatches><d:ProbeMatch>", "<d:Hello>").replace(
        "</d:ProbeMatch></d:ProbeMatches>", "<d:MetadataVersion>1</d:MetadataVersion></d:Hello>"
    )
    assert wsdiscovery.parse_probe_matches(hello.encode()) == wsdiscovery.parse_probe_matches(
        MATCH.encode()
    )


def _wsd(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><soap:Envelope '
        'xmlns:soap="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
        'xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof" '
        f"><soap:Body>{body}</soap:Body></soap:Envelope>"
    ).encode()


@pytest.mark.parametrize(
    "data",
    [
        # a Windows computer announcing itself (Function Discovery: pub:Computer on port 5357)
        _wsd(
            "<wsd:Hello><wsa:EndpointReference><wsa:Address>urn:uuid:6b3c2a10-1234-4f5e-9a7b-"
            "001122334455</wsa:Address></wsa:EndpointReference><wsd:Types>wsdp:Device "
            "pub:Computer</wsd:Types><wsd:XAddrs>http://192.0.2.20:5357/6b3c2a10-1234-4f5e-9a7b-"
            "001122334455/</wsd:XAddrs><wsd:MetadataVersion>2</wsd:MetadataVersion></wsd:Hello>"
        ),
        # a WSD printer answering a Windows probe for print devices
        _wsd(
            "<wsd:ProbeMatches><wsd:ProbeMatch><wsa:EndpointReference><wsa:Address>urn:uuid:"
            "16a65700-007c-1000-bb49-0022f8000001</wsa:Address></wsa:EndpointReference>"
            "<wsd:Types>wsdp:Device wprt:PrintDeviceType</wsd:Types><wsd:XAddrs>"
            "http://192.0.2.30:3911/</wsd:XAddrs></wsd:ProbeMatch></wsd:ProbeMatches>"
        ),
    ],
)
def test_other_ws_discovery_devices_are_not_onvif_devices(data: bytes) -> None:
    with pytest.raises(MalformedProbeMatch, match="no ONVIF device"):
        wsdiscovery.parse_probe_matches(data)


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    "<Envelope><Body><ProbeMatches><ProbeMatch><Scopes>&lol2;</Scopes></ProbeMatch>"
    "</ProbeMatches></Body></Envelope>"
)


@pytest.mark.parametrize(
    "data",
    [
        LAUGHS.encode(),
        b"<Envelope><Body><ProbeMatches><ProbeMatch>",  # truncated
        b"\xff\xfe\x00garbage",  # invalid UTF-8
        b"<Envelope><Body><Hello/></Body></Envelope>",  # a Hello that says nothing
        b"<Envelope><Body><Probe><Types>dn:NetworkVideoTransmitter</Types></Probe></Body></Envelope>",
        b"<Envelope><Body><ProbeMatches><ProbeMatch/></ProbeMatches></Body></Envelope>",
        b"",
    ],
)
def test_hostile_replies_are_malformed(data: bytes) -> None:
    with pytest.raises(MalformedProbeMatch):
        wsdiscovery.parse_probe_matches(data)


def test_scope_flood_is_bounded() -> None:
    scopes = [f"onvif://www.onvif.org/name/n{i}" for i in range(10_000)]
    assert len(wsdiscovery.scope_signals(scopes)["onvif.scope.name"]) == 64

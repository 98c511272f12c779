"""SADP inquiry and ProbeMatch parser, including hostile replies."""

from __future__ import annotations

import pytest

from coverwatch.probes import sadp
from coverwatch.probes.sadp import MalformedSadp

# Field names and value formats as in public SADP captures (see the module docstring).
MATCH = b"""<?xml version="1.0" encoding="UTF-8"?>
<ProbeMatch><Uuid>E8ECFE09-90E4-44C0-842B-703F46B58C81</Uuid><Types>inquiry</Types>
<DeviceType>141945</DeviceType><DeviceDescription>DS-2CD2385G1-I</DeviceDescription>
<DeviceSN>DS-2CD2385G1-I20200414AAWRE33842150</DeviceSN><CommandPort>8000</CommandPort>
<HttpPort>80</HttpPort><MAC>58-50-ed-1f-e3-85</MAC><IPv4Address>192.0.2.40</IPv4Address>
<SoftwareVersion>V5.6.2build 190701</SoftwareVersion><DSPVersion>V7.3 build 190701</DSPVersion>
<Activated>false</Activated></ProbeMatch>"""


def test_inquiry() -> None:
    assert sadp.build_inquiry("ABC") == (
        b'<?xml version="1.0" encoding="utf-8"?>'
        b"<Probe><Uuid>ABC</Uuid><Types>inquiry</Types></Probe>"
    )


def test_probe_match_signals() -> None:
    signals = sadp.parse_probe_match(MATCH)
    assert signals["sadp.device_description"] == "DS-2CD2385G1-I"
    assert signals["sadp.serial"] == "DS-2CD2385G1-I20200414AAWRE33842150"
    assert signals["sadp.firmware"] == "V5.6.2build 190701"
    assert signals["sadp.activated"] == "false"
    assert signals["sadp.device_type"] == "141945"
    assert signals["mac"] == signals["sadp.mac"] == "58-50-ed-1f-e3-85"


@pytest.mark.parametrize(
    "data",
    [
        sadp.build_inquiry(),  # our own inquiry, looped back by the group
        b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><ProbeMatch><DeviceSN>&b;'
        b"</DeviceSN></ProbeMatch>",
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><ProbeMatch>&e;</ProbeMatch>',
        b"<ProbeMatch><DeviceSN>truncated",
        b"\xc3\x28<ProbeMatch/>",
        b"<ProbeMatch><Types>inquiry</Types></ProbeMatch>",  # names nothing
    ],
)
def test_hostile_replies_are_malformed(data: bytes) -> None:
    with pytest.raises(MalformedSadp):
        sadp.parse_probe_match(data)


def test_fields_are_bounded() -> None:
    signals = sadp.parse_probe_match(
        b"<ProbeMatch><DeviceSN>" + b"A" * 100_000 + b"</DeviceSN></ProbeMatch>"
    )
    assert len(signals["sadp.serial"]) == 256


def test_element_names_match_without_namespace_or_case() -> None:
    reply = (
        b'<?xml version="1.0"?><ProbeMatch xmlns="urn:x-sadp"><uuid>1</uuid>'
        b"<deviceDescription>DS-2CD2143G2-I</deviceDescription><DEVICESN>SN123</DEVICESN>"
        b"</ProbeMatch>"
    )
    signals = sadp.parse_probe_match(reply)
    assert signals["sadp.device_description"] == "DS-2CD2143G2-I"
    assert signals["sadp.serial"] == "SN123"


def test_a_probematch_cut_by_fragmentation_still_names_the_device() -> None:
    reply = (
        b'<?xml version="1.0" encoding="UTF-8"?><ProbeMatch><Uuid>1</Uuid>'
        b"<DeviceDescription>DS-2CD2143G2-I</DeviceDescription><DeviceSN>SN123</DeviceSN>"
        b"<MAC>44-19-b6-00-00-01</MAC><SoftwareVersion>V5.7.3build 220112</Soft"
    )
    signals = sadp.parse_probe_match(reply)
    assert signals["sadp.device_description"] == "DS-2CD2143G2-I"
    assert signals["mac"] == "44-19-b6-00-00-01"
    assert "sadp.firmware" not in signals  # the cut element is not guessed

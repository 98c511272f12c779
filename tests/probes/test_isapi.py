"""Hikvision ISAPI deviceInfo parser: real-shaped answers, odd firmware fields, hostile XML."""

from __future__ import annotations

import pytest

from coverwatch.probes import isapi

SAMPLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<DeviceInfo version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
<deviceName>Network Video Recorder</deviceName>
<deviceID>48473336-3939-3233-3034-2428fd22c319</deviceID>
<model>DS-7608NI-I2/8P</model>
<serialNumber>DS-7608NI-I2/8P0820211234567890</serialNumber>
<macAddress>24:28:fd:22:c3:19</macAddress>
<firmwareVersion>V4.61.025</firmwareVersion>
<firmwareReleasedDate>build 220922</firmwareReleasedDate>
<deviceType>NVR</deviceType>
</DeviceInfo>"""


def test_device_info_signals() -> None:
    assert isapi.parse_device_info(SAMPLE) == {
        "isapi.device_name": "Network Video Recorder",
        "isapi.model": "DS-7608NI-I2/8P",
        "isapi.serial": "DS-7608NI-I2/8P0820211234567890",
        "isapi.mac": "24:28:fd:22:c3:19",
        "isapi.device_type": "NVR",
        "isapi.firmware": "V4.61.025 build 220922",
    }


@pytest.mark.parametrize(
    ("version", "released", "expected"),
    [
        ("V5.7.3", "build 220112", "V5.7.3 build 220112"),
        ("V5.5.800", "210628", "V5.5.800 build 210628"),
        ("V2.2.77", "Build 240515", "V2.2.77 build 240515"),
        ("V5.4.0", "", "V5.4.0"),
        ("V5.4.0", "2016-05-30", "V5.4.0"),
        ("", "build 220112", ""),
    ],
)
def test_firmware_string(version: str, released: str, expected: str) -> None:
    assert isapi.firmware_string(version, released) == expected


def test_values_are_bounded_one_line_text() -> None:
    body = (
        b"<DeviceInfo><model>DS-1\n\t" + b"A" * 5000 + b"</model>"
        b"<deviceName>  cam \t one </deviceName></DeviceInfo>"
    )
    facts = isapi.parse_device_info(body)
    assert facts["isapi.model"].startswith("DS-1 A") and len(facts["isapi.model"]) == 128
    assert facts["isapi.device_name"] == "cam one"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<html><body>login</body></html>",
        b"<DeviceInfo></DeviceInfo>",
        b"<DeviceInfo><model>DS-2CD",  # truncated
        # billion laughs: entity expansion refused, never expanded
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><DeviceInfo><model>&b;</model></DeviceInfo>',
        # external entity (XXE): refused
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<DeviceInfo><model>&x;</model></DeviceInfo>",
        b"<DeviceInfo><model>" + b"x" * (isapi.MAX_DOCUMENT + 1) + b"</model></DeviceInfo>",
    ],
)
def test_malformed_or_hostile_documents_are_refused(body: bytes) -> None:
    with pytest.raises(isapi.MalformedIsapi):
        isapi.parse_device_info(body)

"""SSDP M-SEARCH, replies and UPnP device descriptions, including hostile input."""

from __future__ import annotations

import pytest

from coverwatch.probes import ssdp
from coverwatch.probes.ssdp import MalformedSsdp

REPLY = (
    b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\n"
    b"LOCATION: http://192.0.2.102:45895/rootdesc1.xml\r\n"
    b"SERVER: Linux/2.6.35, UPnP/1.0, Portable SDK for UPnP devices/1.6.18\r\n"
    b"ST: urn:axis-com:service:BasicService:1\r\n"
    b"USN: uuid:Upnp-BasicDevice-1_0-ACCC8E270AD8::urn:axis-com:service:BasicService:1\r\n\r\n"
)
DESCRIPTION = b"""<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major></specVersion>
<device><deviceType>urn:schemas-upnp-org:device:Basic:1</deviceType>
<friendlyName>AXIS M1014 - ACCC8E270AD8</friendlyName><manufacturer>AXIS</manufacturer>
<modelName>AXIS M1014</modelName><modelNumber>M1014</modelNumber>
<serialNumber>ACCC8E270AD8</serialNumber></device></root>"""


def test_msearch() -> None:
    request = ssdp.build_msearch("239.255.255.250:1900", "ssdp:all").decode()
    assert request.startswith("M-SEARCH * HTTP/1.1\r\n")
    assert 'MAN: "ssdp:discover"' in request and request.endswith("\r\n\r\n")


def test_reply_headers() -> None:
    headers = ssdp.parse_response(REPLY)
    assert headers["location"] == "http://192.0.2.102:45895/rootdesc1.xml"
    assert headers["st"] == "urn:axis-com:service:BasicService:1"


def test_description_signals() -> None:
    assert ssdp.parse_description(DESCRIPTION) == {
        "upnp.friendly_name": "AXIS M1014 - ACCC8E270AD8",
        "upnp.manufacturer": "AXIS",
        "upnp.model_name": "AXIS M1014",
        "upnp.model_number": "M1014",
        "upnp.serial": "ACCC8E270AD8",
    }


@pytest.mark.parametrize(
    ("location", "replier", "expected"),
    [
        (
            "http://192.0.2.1:45895/rootdesc1.xml",
            "192.0.2.1",
            ("192.0.2.1", 45895, "/rootdesc1.xml"),
        ),
        ("http://192.0.2.1/d.xml?x=1", "192.0.2.1", ("192.0.2.1", 80, "/d.xml?x=1")),
        ("http://198.51.100.7/d.xml", "192.0.2.1", None),  # another host: never followed
        ("https://192.0.2.1/d.xml", "192.0.2.1", None),
        ("http://192.0.2.1:99999/d.xml", "192.0.2.1", None),
        ("file:///etc/passwd", "192.0.2.1", None),
    ],
)
def test_location_only_on_the_replier(
    location: str, replier: str, expected: tuple[str, int, str] | None
) -> None:
    assert ssdp.location_target(location, replier) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"NOTIFY * HTTP/1.1\r\nLOCATION: http://x/\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nST: x\r\n\r\n",  # no LOCATION
        b"HTTP/1.1 200 OK\r\nLOCATION: \xff\xfe\r\n\r\n",  # invalid UTF-8
    ],
)
def test_hostile_replies(data: bytes) -> None:
    with pytest.raises(MalformedSsdp):
        ssdp.parse_response(data)


@pytest.mark.parametrize(
    "data",
    [
        b'<!DOCTYPE r [<!ENTITY a "x"><!ENTITY b "&a;&a;">]><root><device>'
        b"<manufacturer>&b;</manufacturer></device></root>",
        b"<root><device><manufacturer>AXIS",
        b"<root><other/></root>",
        b"\xff<root/>",
    ],
)
def test_hostile_descriptions(data: bytes) -> None:
    with pytest.raises(MalformedSsdp):
        ssdp.parse_description(data)

"""Fuzzing every parser that meets device bytes: nothing escapes but the parser's own error.

Each parser takes bytes and returns facts, or raises its documented ValueError subclass
(MalformedReply, MalformedSoap, ...). Inputs are random bytes and mutations of valid replies
(cut short, bytes flipped, odd encodings declared), the ways broken and hostile devices answer.
Time is bounded by hypothesis' deadline per example.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coverwatch.discovery import PROTOCOLS
from coverwatch.probes import (
    banner,
    dahua_api,
    dhip,
    http,
    isapi,
    mdns,
    onvif,
    rtsp,
    sadp,
    ssdp,
    tls,
    wsdiscovery,
)
from coverwatch.sources.jsonl import BadLine, parse_line

SOAP = (
    b'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/'
    b'soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><s:Body>'
    b"<tds:GetDeviceInformationResponse><tds:Manufacturer>HIKVISION</tds:Manufacturer>"
    b"<tds:Model>DS-2CD2143G2-I</tds:Model></tds:GetDeviceInformationResponse></s:Body>"
    b"</s:Envelope>"
)
#: (parser, a valid input to mutate, the errors it may raise)
PARSERS: dict[str, tuple[Callable[[bytes], Any], bytes]] = {
    "http": (
        http.parse_response,
        b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\nContent-Type: text/html; charset=gbk\r\n"
        b"Content-Length: 20\r\n\r\n<title>x</title>abcd",
    ),
    "rtsp": (
        rtsp.parse_response,
        b'RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Digest realm="IP Camera'
        b'(C1234)", nonce="a"\r\n\r\n',
    ),
    "onvif": (lambda b: onvif.device_information(onvif.parse_envelope(b)), SOAP),
    "sadp": (
        sadp.parse_probe_match,
        b'<?xml version="1.0" encoding="utf-8"?><ProbeMatch><Uuid>x</Uuid><Types>inquiry</Types>'
        b"<DeviceDescription>DS-2CD2143G2-I</DeviceDescription><MAC>44-19-b6-00-00-01</MAC>"
        b"</ProbeMatch>",
    ),
    "dhip": (
        dhip.parse_reply,
        dhip.frame(b'{"method":"client.notifyDevInfo","params":{"deviceInfo":{"Vendor":"Dahua"}}}'),
    ),
    "ssdp": (
        ssdp.parse_response,
        b"HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1:80/desc.xml\r\nSERVER: Linux UPnP/1.0\r\n"
        b"ST: upnp:rootdevice\r\nUSN: uuid:1\r\n\r\n",
    ),
    "ssdp-description": (
        ssdp.parse_description,
        b'<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device>'
        b"<manufacturer>AXIS</manufacturer><modelName>P3225</modelName></device></root>",
    ),
    "mdns": (mdns.parse_response, mdns.build_query()),
    "wsdiscovery": (wsdiscovery.parse_probe_matches, SOAP),
    "isapi": (
        isapi.parse_device_info,
        b'<?xml version="1.0" encoding="UTF-8"?><DeviceInfo xmlns="http://www.hikvision.com/ver20/'
        b'XMLSchema"><model>DS-2CD2143G2-I</model><firmwareVersion>V5.7.3</firmwareVersion>'
        b"</DeviceInfo>",
    ),
    "dahua": (dahua_api.system_info, b"deviceType=IPC-HDW\r\nserialNumber=4J0186F\r\n"),
    "banner": (banner.parse_banner, b"\xff\xfb\x01\xff\xfb\x03(none) login: "),
    "tls": (tls.certificate_signals, b"0\x82\x01\x00"),
}

# Every registered discovery protocol's parser, mutated from its recorded replies (issue 12).
ASSETS = Path(__file__).parent.parent / "assets" / "discovery"


def read_hex(path: Path) -> bytes:
    """The bytes of a ``.hex`` asset (``#`` lines are comments)."""
    return bytes.fromhex(" ".join(ln for ln in path.read_text().splitlines() if ln[:1] != "#"))


for _key, _spec in PROTOCOLS.items():
    for _path in sorted((ASSETS / _key.value).glob("*.hex")):
        PARSERS.setdefault(f"discovery-{_key.value}-{_path.stem}", (_spec.parse, read_hex(_path)))

ENCODINGS = [b"x-unknown", b"idna", b"undefined", b"unicode_escape", b"utf-7", b"utf-32", b"cp037"]


@st.composite
def mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    """A valid reply cut, flipped, spliced or re-declared the way broken devices send it."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["cut", "flip", "insert", "encoding"]))
        if action == "cut" and data:
            del data[draw(st.integers(0, len(data) - 1)) :]
        elif action == "flip" and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif action == "insert":
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(st.binary(max_size=32))
        elif action == "encoding":
            data = bytearray(bytes(data).replace(b"UTF-8", draw(st.sampled_from(ENCODINGS)), 1))
    return bytes(data)


def _check(name: str, data: bytes) -> None:
    parse, _ = PARSERS[name]
    with contextlib.suppress(ValueError):  # every parser's documented errors are ValueErrors
        parse(data)


FUZZ = settings(
    max_examples=150,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes_never_crash_a_parser(name: str, data: bytes) -> None:
    _check(name, data)


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.data())
def test_mutated_replies_never_crash_a_parser(name: str, data: st.DataObject) -> None:
    _check(name, data.draw(mutated(PARSERS[name][1])))


@FUZZ
@given(text=st.text(max_size=512))
def test_any_jsonl_line_is_a_record_or_a_bad_line(text: str) -> None:
    with contextlib.suppress(BadLine):
        parse_line(1, text)


@FUZZ
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=30,
    )
)
def test_any_json_value_is_a_record_or_a_bad_line(value: Any) -> None:

    with contextlib.suppress(BadLine):
        parse_line(1, json.dumps({"ip": "10.0.0.1", "http.server": value}))

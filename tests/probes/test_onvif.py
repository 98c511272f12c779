"""ONVIF device service: WS-Security digests, the envelopes sent, and hardened reply parsing."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

import pytest

from coverwatch.probes.onvif import (
    MalformedSoap,
    body_operation,
    build_envelope,
    device_information,
    fault_reason,
    local,
    parse_envelope,
    password_digest,
    system_date_time,
)

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST_TYPE = (
    "http://docs.oasis-open.org/wss/2004/01/"
    "oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
)


def envelope(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<env:Envelope xmlns:env="{SOAP}" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
        'xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:ter="http://www.onvif.org/ver10/error">'
        f"<env:Header/><env:Body>{body}</env:Body></env:Envelope>"
    ).encode()


DEVICE_INFO = envelope(
    "<tds:GetDeviceInformationResponse>"
    "<tds:Manufacturer>HIKVISION</tds:Manufacturer>"
    "<tds:Model>DS-2CD2143G2-I</tds:Model>"
    "<tds:FirmwareVersion>V5.7.3 build 220112</tds:FirmwareVersion>"
    "<tds:SerialNumber>DS-2CD2143G2-I20220101AAWRJ12345678</tds:SerialNumber>"
    "<tds:HardwareId>88</tds:HardwareId>"
    "</tds:GetDeviceInformationResponse>"
)

DATE_TIME = envelope(
    "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
    "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
    "<tt:TimeZone><tt:TZ>CST-8</tt:TZ></tt:TimeZone>"
    "<tt:UTCDateTime><tt:Time><tt:Hour>7</tt:Hour><tt:Minute>5</tt:Minute>"
    "<tt:Second>0</tt:Second></tt:Time><tt:Date><tt:Year>2024</tt:Year><tt:Month>1</tt:Month>"
    "<tt:Day>2</tt:Day></tt:Date></tt:UTCDateTime>"
    "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
)

NOT_AUTHORIZED = envelope(
    "<env:Fault><env:Code><env:Value>env:Sender</env:Value>"
    "<env:Subcode><env:Value>ter:NotAuthorized</env:Value></env:Subcode></env:Code>"
    '<env:Reason><env:Text xml:lang="en">Sender not Authorized</env:Text></env:Reason>'
    "</env:Fault>"
)


# --- WS-Security PasswordDigest --------------------------------------------------------------


def spec_digest(nonce: bytes, created: str, password: str) -> str:
    """OASIS WSS UsernameToken Profile 1.0, 3.1: Base64(SHA-1(nonce + created + password))."""
    sha1 = hashlib.sha1()
    sha1.update(nonce)
    sha1.update(created.encode("utf-8"))
    sha1.update(password.encode("utf-8"))
    return base64.b64encode(sha1.digest()).decode("ascii")


def test_password_digest_matches_onvif_programmers_guide_example() -> None:
    # ONVIF Application Programmer's Guide, 6.1.1.3 (the published worked example)
    nonce = base64.b64decode("LKqI6G/AikKCQrN0zqZFlg==")
    assert password_digest(nonce, "2010-09-16T07:50:45Z", "userpassword") == (
        "tuOSpGlFlIXsozq4HFNeeGeFLEI="
    )


@pytest.mark.parametrize(
    ("nonce", "created", "password"),
    [
        (bytes(range(16)), "2024-01-02T03:04:05Z", "admin12345"),
        (b"\xff" * 20, "2024-01-02T03:04:05.123Z", ""),
        (
            b"",
            "2024-01-02T03:04:05Z",
            "p\u00e4ss w\u00f6rd \u5bc6\u7801",
        ),  # UTF-8, as the spec says
        (b"\x00\x01", "", "x"),
    ],
)
def test_password_digest_is_the_spec_formula(nonce: bytes, created: str, password: str) -> None:
    assert password_digest(nonce, created, password) == spec_digest(nonce, created, password)


def test_password_digest_depends_on_every_input() -> None:
    base = password_digest(b"n" * 16, "2024-01-02T03:04:05Z", "secret")
    assert password_digest(b"m" * 16, "2024-01-02T03:04:05Z", "secret") != base
    assert password_digest(b"n" * 16, "2024-01-02T03:04:06Z", "secret") != base
    assert password_digest(b"n" * 16, "2024-01-02T03:04:05Z", "Secret") != base


# --- envelopes sent -----------------------------------------------------------------------------


def test_anonymous_envelope_has_no_security_header() -> None:
    data = build_envelope("GetSystemDateAndTime")
    root = parse_envelope(data)
    assert local(root.tag) == "Envelope"
    assert root.tag == f"{{{SOAP}}}Envelope"
    assert body_operation(root) == "GetSystemDateAndTime"
    assert b"UsernameToken" not in data
    assert b"Security" not in data


@pytest.mark.parametrize(("username", "password"), [(None, "secret"), ("", "secret")])
def test_no_username_means_no_token(username: str | None, password: str) -> None:
    data = build_envelope("GetDeviceInformation", username, password)
    assert b"UsernameToken" not in data
    assert b"secret" not in data


def _token(data: bytes) -> dict[str, str]:
    root = parse_envelope(data)
    tokens = list(root.iter(f"{{{WSSE}}}UsernameToken"))
    assert len(tokens) == 1
    token = tokens[0]
    password = token.find(f"{{{WSSE}}}Password")
    assert password is not None
    return {
        "username": token.findtext(f"{{{WSSE}}}Username") or "",
        "password": password.text or "",
        "type": password.get("Type") or "",
        "nonce": token.findtext(f"{{{WSSE}}}Nonce") or "",
        "created": token.findtext(f"{{{WSU}}}Created") or "",
    }


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("admin", "Sup3r-S3cret!"),
        ('ad<m>&"in', "p&ss<word>"),  # markup in the name is escaped, not injected
        ("operator", "p\u00e4ssw\u00f6rd"),
    ],
)
def test_envelope_with_credentials_carries_a_verifiable_digest(
    username: str, password: str
) -> None:
    data = build_envelope("GetDeviceInformation", username, password)
    root = parse_envelope(data)
    assert body_operation(root) == "GetDeviceInformation"
    token = _token(data)
    assert token["username"] == username
    assert token["type"] == DIGEST_TYPE
    created = datetime.strptime(token["created"], "%Y-%m-%dT%H:%M:%SZ")
    assert created.year >= 2024
    nonce = base64.b64decode(token["nonce"], validate=True)
    assert len(nonce) >= 16
    assert token["password"] == spec_digest(nonce, token["created"], password)


@pytest.mark.parametrize("password", ["Sup3r-S3cret!", "p&ss<word>", "p\u00e4ssw\u00f6rd"])
def test_plaintext_password_is_never_sent(password: str) -> None:
    data = build_envelope("GetDeviceInformation", "admin", password)
    assert password.encode() not in data
    assert base64.b64encode(password.encode()) not in data
    escaped = password.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert escaped.encode() not in data


def test_every_envelope_has_a_fresh_nonce() -> None:
    first = _token(build_envelope("GetDeviceInformation", "admin", "secret"))
    second = _token(build_envelope("GetDeviceInformation", "admin", "secret"))
    assert first["nonce"] != second["nonce"]
    assert first["password"] != second["password"]


# --- hardened parsing ---------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>
<Manufacturer>&lol9;</Manufacturer></env:Body></env:Envelope>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE env [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>
<Manufacturer>&xxe;</Manufacturer></env:Body></env:Envelope>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE env SYSTEM "http://127.0.0.1:9/evil.dtd">
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body/></env:Envelope>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE env [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"/>"""


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(EXTERNAL_ENTITY, id="external-entity"),
        pytest.param(EXTERNAL_DTD, id="external-dtd"),
        pytest.param(PARAMETER_ENTITY, id="parameter-entity"),
        pytest.param(b"", id="empty"),
        pytest.param(b"HTTP/1.1 200 OK", id="not-xml"),
        pytest.param(b"<html><body>Login</body>", id="unclosed-html"),
        pytest.param(DEVICE_INFO[:-20], id="truncated"),
        pytest.param("<a>caf\u00e9</b>", id="mismatched-text"),
    ],
)
def test_unsafe_or_malformed_xml_raises_malformed_soap(data: bytes | str) -> None:
    with pytest.raises(MalformedSoap) as info:
        parse_envelope(data)
    assert isinstance(info.value, ValueError)
    assert "passwd" not in str(info.value)


def test_text_and_bytes_parse_alike() -> None:
    assert (
        body_operation(parse_envelope(DEVICE_INFO.decode()))
        == body_operation(parse_envelope(DEVICE_INFO))
        == "GetDeviceInformationResponse"
    )


# --- facts from replies -------------------------------------------------------------------------


def test_device_information() -> None:
    assert device_information(parse_envelope(DEVICE_INFO)) == {
        "onvif.manufacturer": "HIKVISION",
        "onvif.model": "DS-2CD2143G2-I",
        "onvif.firmware": "V5.7.3 build 220112",
        "onvif.serial": "DS-2CD2143G2-I20220101AAWRJ12345678",
        "onvif.hardware_id": "88",
    }


def test_device_information_skips_empty_fields_and_cleans_text() -> None:
    root = parse_envelope(
        envelope(
            "<tds:GetDeviceInformationResponse>"
            "<tds:Manufacturer>\n   Dahua\t Technology  </tds:Manufacturer>"
            "<tds:Model>   </tds:Model>"
            "<tds:FirmwareVersion/>"
            f"<tds:SerialNumber>{'9' * 5000}</tds:SerialNumber>"
            "<tds:HardwareId>&#x7f;[2J&#x85;&#8232;1.00</tds:HardwareId>"
            "</tds:GetDeviceInformationResponse>"
        )
    )
    found = device_information(root)
    assert found["onvif.manufacturer"] == "Dahua Technology"
    assert "onvif.model" not in found
    assert "onvif.firmware" not in found
    assert len(found["onvif.serial"]) == 512
    assert found["onvif.hardware_id"] == "[2J 1.00"
    assert all(ch.isprintable() for value in found.values() for ch in value)


def test_device_information_of_another_reply_is_empty() -> None:
    assert device_information(parse_envelope(DATE_TIME)) == {}
    assert device_information(parse_envelope(NOT_AUTHORIZED)) == {}


def test_system_date_time() -> None:
    root = parse_envelope(DATE_TIME)
    assert body_operation(root) == "GetSystemDateAndTimeResponse"
    assert system_date_time(root) == {
        "onvif.service": "GetSystemDateAndTime",
        "onvif.timezone": "CST-8",
    }


def test_system_date_time_without_time_zone() -> None:
    root = parse_envelope(
        envelope(
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
            "<tt:DateTimeType>Manual</tt:DateTimeType></tds:SystemDateAndTime>"
            "</tds:GetSystemDateAndTimeResponse>"
        )
    )
    assert system_date_time(root) == {"onvif.service": "GetSystemDateAndTime"}


@pytest.mark.parametrize("data", [DEVICE_INFO, NOT_AUTHORIZED, b"<html><body/></html>"])
def test_system_date_time_of_another_document_is_empty(data: bytes) -> None:
    assert system_date_time(parse_envelope(data)) == {}


def test_fault_reason_of_not_authorized() -> None:
    root = parse_envelope(NOT_AUTHORIZED)
    assert body_operation(root) == "Fault"
    assert fault_reason(root) == "env:Sender ter:NotAuthorized Sender not Authorized"


def test_fault_without_text_still_says_fault() -> None:
    assert fault_reason(parse_envelope(envelope("<env:Fault/>"))) == "SOAP fault"


@pytest.mark.parametrize("data", [DEVICE_INFO, DATE_TIME])
def test_fault_reason_of_a_normal_reply_is_none(data: bytes) -> None:
    assert fault_reason(parse_envelope(data)) is None


def test_body_operation_without_body_is_none() -> None:
    assert body_operation(parse_envelope(b"<Envelope><Header/></Envelope>")) is None


def test_network_interfaces_mac() -> None:
    from coverwatch.lab import onvif as lab_onvif
    from coverwatch.probes import onvif

    status, body = lab_onvif.handle(
        onvif.build_envelope("GetNetworkInterfaces", "admin", "pw"),
        {"model": "X"},
        {"mac": "44:19:b6:01:02:03"},
        "admin",
        "pw",
    )
    assert status == 200
    assert onvif.network_interfaces(onvif.parse_envelope(body)) == {
        "onvif.mac": "44:19:b6:01:02:03"
    }
    status, body = lab_onvif.handle(
        onvif.build_envelope("GetNetworkInterfaces", "admin", "wrong"), {}, {}, "admin", "pw"
    )
    assert status == 400
    assert onvif.network_interfaces(onvif.parse_envelope(body)) == {}

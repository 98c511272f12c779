"""The lab's ONVIF device service: answers as ONVIF Core Specification devices do.

GetSystemDateAndTime needs no credentials (Core spec 5.9.4); GetDeviceInformation and
GetNetworkInterfaces need a WS-Security UsernameToken PasswordDigest with the lab's
credentials, else a ``ter:NotAuthorized`` SOAP fault with HTTP 400 (Core spec 5.11.2.1).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import UTC, datetime
from string import Template
from xml.sax.saxutils import escape

from coverwatch.probes import onvif

_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
    'xmlns:tt="http://www.onvif.org/ver10/schema" '
    'xmlns:ter="http://www.onvif.org/ver10/error">'
    "<SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
)


def _fault(subcode: str, text: str) -> str:
    return _ENVELOPE.format(
        body=(
            "<SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value>"
            f"<SOAP-ENV:Subcode><SOAP-ENV:Value>{subcode}</SOAP-ENV:Value></SOAP-ENV:Subcode>"
            f'</SOAP-ENV:Code><SOAP-ENV:Reason><SOAP-ENV:Text xml:lang="en">{text}</SOAP-ENV:Text>'
            "</SOAP-ENV:Reason></SOAP-ENV:Fault>"
        )
    )


def _date_time() -> str:
    now = datetime.now(UTC)
    return _ENVELOPE.format(
        body=(
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
            "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
            "<tt:TimeZone><tt:TZ>GMT0</tt:TZ></tt:TimeZone><tt:UTCDateTime>"
            f"<tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}</tt:Minute>"
            f"<tt:Second>{now.second}</tt:Second></tt:Time><tt:Date><tt:Year>{now.year}</tt:Year>"
            f"<tt:Month>{now.month}</tt:Month><tt:Day>{now.day}</tt:Day></tt:Date>"
            "</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
        )
    )


def _device_information(info: dict[str, object], variables: dict[str, str]) -> str:
    fields = []
    for element, key in (
        ("Manufacturer", "manufacturer"),
        ("Model", "model"),
        ("FirmwareVersion", "firmware_version"),
        ("SerialNumber", "serial_number"),
        ("HardwareId", "hardware_id"),
    ):
        value = Template(str(info.get(key, ""))).safe_substitute(variables)
        fields.append(f"<tds:{element}>{escape(value)}</tds:{element}>")
    return _ENVELOPE.format(
        body=(
            f"<tds:GetDeviceInformationResponse>{''.join(fields)}</tds:GetDeviceInformationResponse>"
        )
    )


def _network_interfaces(variables: dict[str, str]) -> str:
    # ONVIF Core Specification 8.2.4: NetworkInterfaces/Info/HwAddress carries the MAC.
    mac = escape(variables.get("mac", ""))
    return _ENVELOPE.format(
        body=(
            '<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0">'
            "<tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name>"
            f"<tt:HwAddress>{mac}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>"
            "</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>"
        )
    )


def _authorised(root: object, username: str, password: str) -> bool:
    values: dict[str, str] = {}
    for element in root.iter():  # type: ignore[attr-defined]
        name = onvif.local(element.tag)
        if name in ("Username", "Password", "Nonce", "Created"):
            values[name] = (element.text or "").strip()
    try:
        nonce = base64.b64decode(values.get("Nonce", ""), validate=True)
    except (binascii.Error, ValueError):
        return False
    if values.get("Username") != username or "Created" not in values:
        return False
    expected = onvif.password_digest(nonce, values["Created"], password)
    return hmac.compare_digest(expected, values.get("Password", ""))


def handle(
    body: bytes,
    info: dict[str, object] | None,
    variables: dict[str, str],
    username: str,
    password: str,
) -> tuple[int, str]:
    """HTTP status and SOAP document answering one device-service request."""
    try:
        root = onvif.parse_envelope(body)
    except onvif.MalformedSoap:
        return 400, _fault("ter:WellFormed", "Malformed request")
    operation = onvif.body_operation(root)
    if operation == "GetSystemDateAndTime":
        return 200, _date_time()
    if operation in ("GetDeviceInformation", "GetNetworkInterfaces") and info is not None:
        if not _authorised(root, username, password):
            return 400, _fault("ter:NotAuthorized", "Sender not Authorized")
        if operation == "GetNetworkInterfaces":
            return 200, _network_interfaces(variables)
        return 200, _device_information(info, variables)
    return 400, _fault("ter:ActionNotSupported", "Optional Action Not Implemented")

"""ONVIF device-service probe: SOAP requests and a hardened parser for the replies.

``GetSystemDateAndTime`` is answered without credentials by every conformant device (ONVIF
Core Specification, section 5.9.4, "pre-authentication" operations). ``GetDeviceInformation``
needs a WS-Security UsernameToken with a PasswordDigest (OASIS WSS UsernameToken Profile 1.0):
Base64(SHA-1(nonce + created + password)). The same digest code serves the lab, which checks
what the scanner sends.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime
from xml.etree.ElementTree import Element

from coverwatch.probes import xml as safe_xml
from coverwatch.probes.http import clean_text

DEFAULT_PATH = "/onvif/device_service"

_SOAP = "http://www.w3.org/2003/05/soap-envelope"
_TDS = "http://www.onvif.org/ver10/device/wsdl"
_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_DIGEST_TYPE = (
    "http://docs.oasis-open.org/wss/2004/01/"
    "oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
)

#: GetDeviceInformation response element -> JSONL signal key.
DEVICE_INFO_SIGNALS = {
    "Manufacturer": "onvif.manufacturer",
    "Model": "onvif.model",
    "FirmwareVersion": "onvif.firmware",
    "SerialNumber": "onvif.serial",
    "HardwareId": "onvif.hardware_id",
}


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """WS-Security PasswordDigest: Base64(SHA-1(nonce + created + password))."""
    digest = hashlib.sha1(nonce + created.encode() + password.encode()).digest()
    return base64.b64encode(digest).decode("ascii")


def _security_header(username: str, password: str) -> str:
    nonce = secrets.token_bytes(16)
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f'<s:Header><wsse:Security xmlns:wsse="{_WSSE}" xmlns:wsu="{_WSU}">'
        f"<wsse:UsernameToken><wsse:Username>{_xml_escape(username)}</wsse:Username>"
        f'<wsse:Password Type="{_DIGEST_TYPE}">{password_digest(nonce, created, password)}'
        f"</wsse:Password><wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>"
        f"<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>"
    )


def _xml_escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def build_envelope(
    operation: str, username: str | None = None, password: str | None = None
) -> bytes:
    """A SOAP 1.2 envelope calling ``operation`` on the device service."""
    header = _security_header(username, password or "") if username else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{_SOAP}" '
        f'xmlns:tds="{_TDS}">{header}<s:Body><tds:{operation}/></s:Body></s:Envelope>'
    ).encode()


class MalformedSoap(ValueError):
    """The reply is not a well-formed (and safe) SOAP document."""


def parse_envelope(body: bytes | str) -> Element:
    """Parse SOAP with defusedxml: no entity expansion, no external references."""
    try:
        root = safe_xml.parse_xml(body)
    except safe_xml.MalformedXml as e:
        raise MalformedSoap(f"unsafe or malformed XML: {e.__class__.__name__}") from e
    if not isinstance(root, Element):
        raise MalformedSoap("no XML root element")
    return root


def local(tag: str) -> str:
    """Element name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def body_operation(root: Element) -> str | None:
    """Local name of the first element inside the SOAP Body (the operation or response)."""
    for element in root.iter():
        if local(element.tag) == "Body":
            for child in element:
                return local(child.tag)
    return None


def fault_reason(root: Element) -> str | None:
    """The fault subcode / reason text when the envelope is a SOAP Fault."""
    if body_operation(root) != "Fault":
        return None
    texts = [(e.text or "").strip() for e in root.iter() if local(e.tag) in ("Value", "Text")]
    return clean_text(" ".join(t for t in texts if t)) or "SOAP fault"


def device_information(root: Element) -> dict[str, str]:
    """Signal keys from a GetDeviceInformationResponse."""
    result: dict[str, str] = {}
    for element in root.iter():
        key = DEVICE_INFO_SIGNALS.get(local(element.tag))
        if key and element.text and element.text.strip():
            result[key] = clean_text(element.text)
    return result


def system_date_time(root: Element) -> dict[str, str]:
    """Signal keys from a GetSystemDateAndTimeResponse (its presence proves an ONVIF service)."""
    if body_operation(root) != "GetSystemDateAndTimeResponse":
        return {}
    values = {local(e.tag): (e.text or "").strip() for e in root.iter()}
    result = {"onvif.service": "GetSystemDateAndTime"}
    if values.get("TZ"):
        result["onvif.timezone"] = clean_text(values["TZ"], 64)
    return result


def network_interfaces(root: Element) -> dict[str, str]:
    """Signal keys from a GetNetworkInterfacesResponse: the first interface's HwAddress.

    ONVIF Core Specification 8.2.4 ``GetNetworkInterfaces``: each ``tds:NetworkInterfaces``
    carries ``tt:Info/tt:HwAddress`` (the MAC address). Needs the same WS-Security token as
    GetDeviceInformation.
    """
    if body_operation(root) != "GetNetworkInterfacesResponse":
        return {}
    for element in root.iter():
        if local(element.tag) == "HwAddress" and element.text and element.text.strip():
            return {"onvif.mac": clean_text(element.text, 64)}
    return {}

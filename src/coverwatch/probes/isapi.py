"""Hikvision ISAPI: the parser for ``GET /ISAPI/System/deviceInfo`` (digest-authenticated).

The answer is a ``DeviceInfo`` XML document (namespace ``http://www.hikvision.com/ver20/XMLSchema``)
with deviceName, model, serialNumber, macAddress, firmwareVersion and firmwareReleasedDate
(Hikvision ISAPI Core Protocol, section "System/deviceInfo"; public sample answers in
https://github.com/maciej-or/hikvision_next/issues/196). Parsed with defusedxml: no DTD, no
entity expansion, no external references. Every value is bounded, printable text.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from coverwatch.probes import xml as safe_xml
from coverwatch.probes.http import clean_text

#: The read-only call; ISAPI has no side effects on GET.
DEVICE_INFO_PATH = "/ISAPI/System/deviceInfo"
#: A deviceInfo document is a few hundred bytes; anything far larger is not one.
MAX_DOCUMENT = 64 * 1024
_MAX_VALUE = 128

#: deviceInfo element -> signal key.
DEVICE_INFO_SIGNALS = {
    "deviceName": "isapi.device_name",
    "model": "isapi.model",
    "serialNumber": "isapi.serial",
    "macAddress": "isapi.mac",
    "deviceType": "isapi.device_type",
}
_BUILD = re.compile(r"^(?:build\s*)?(\d{6})$", re.IGNORECASE)


class MalformedIsapi(ValueError):
    """The bytes are not a well-formed (and safe) ISAPI DeviceInfo document."""


def _root(body: bytes) -> Element:
    if len(body) > MAX_DOCUMENT:
        raise MalformedIsapi(f"document larger than {MAX_DOCUMENT} bytes")
    try:
        root = safe_xml.parse_xml(body)
    except safe_xml.MalformedXml as e:
        raise MalformedIsapi(f"unsafe or malformed XML: {e.__class__.__name__}") from e
    if not isinstance(root, Element):
        raise MalformedIsapi("no XML root element")
    return root


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def firmware_string(version: str, released: str) -> str:
    """Hikvision's usual one-string form, ``V5.7.3 build 220112``, from the two ISAPI fields.

    ISAPI splits the version (``V5.7.3``) from its release date (``build 220112``, on some
    firmware just ``220112``); SADP, ONVIF and the web UI show them joined, and the CVE ranges
    in ``cves.yaml`` read the ``build yymmdd`` part.
    """
    match = _BUILD.match(released.strip())
    if not version:
        return ""
    return f"{version} build {match.group(1)}" if match else version


def parse_device_info(body: bytes) -> dict[str, str]:
    """Signal keys from a DeviceInfo document; raises MalformedIsapi for anything else."""
    root = _root(body)
    if _local(root.tag) != "DeviceInfo":
        raise MalformedIsapi(
            f"root element is {clean_text(_local(root.tag), 40)!r}, not DeviceInfo"
        )
    values: dict[str, str] = {}
    for element in root:
        name = _local(element.tag)
        if element.text and element.text.strip() and name not in values:
            values[name] = clean_text(element.text, _MAX_VALUE)
    result = {key: values[name] for name, key in DEVICE_INFO_SIGNALS.items() if name in values}
    firmware = firmware_string(
        values.get("firmwareVersion", ""), values.get("firmwareReleasedDate", "")
    )
    if firmware:
        result["isapi.firmware"] = firmware
    if not result:
        raise MalformedIsapi("DeviceInfo names no model, serial, MAC or firmware")
    return result

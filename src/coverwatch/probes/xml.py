"""Device XML, parsed safely: defusedxml (no DTDs, no entities), any failure one error type.

Every XML answer a device sends (ONVIF SOAP, ISAPI, UPnP descriptions, SADP) is hostile input.
Besides malformed markup, an XML declaration may name an encoding Python does not know or will
not decode with replacement (``encoding="x-unknown"``, ``"idna"``, ``"utf-7"``): expat then
raises LookupError, UnicodeError or ValueError rather than ParseError. All of them become
`MalformedXml`, so one odd device costs its own answer, never the scan.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException


class MalformedXml(ValueError):
    """The bytes are not safe, well-formed XML in an encoding we read."""


def parse_xml(data: bytes | str) -> Element:
    """The root element of ``data``; MalformedXml says why it cannot be read."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException, LookupError, ValueError, RecursionError) as e:
        raise MalformedXml(f"not readable XML ({e.__class__.__name__}: {str(e)[:120]})") from e
    if not isinstance(root, Element):
        raise MalformedXml("no XML root element")
    return root

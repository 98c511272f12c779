"""Device XML, parsed safely: defusedxml (no DTDs, no entities), any failure one error type.

Every XML answer a device sends (ONVIF SOAP, ISAPI, UPnP descriptions, SADP) is hostile input.
Besides malformed markup, an XML declaration may name an encoding Python does not know or will
not decode with replacement (``encoding="x-unknown"``, ``"idna"``, ``"utf-7"``): expat then
raises LookupError, UnicodeError or ValueError rather than ParseError. All of them become
`MalformedXml`, so one odd device costs its own answer, never the scan.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from coverwatch.probes.http import charset


class MalformedXml(ValueError):
    """The bytes are not safe, well-formed XML in an encoding we read."""


_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")


def parse_xml(data: bytes | str) -> Element:
    """The root element of ``data``; MalformedXml says why it cannot be read."""
    head = data[:256].encode("utf-8", "replace") if isinstance(data, str) else data[:256]
    declared = _DECLARED.match(head)
    if declared and charset(declared.group(1).decode("ascii")) is None:
        raise MalformedXml(
            f"declares an encoding that is not a character set: {declared.group(1)!r}"
        )
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException, LookupError, ValueError, RecursionError) as e:
        raise MalformedXml(f"not readable XML ({e.__class__.__name__}: {str(e)[:120]})") from e
    if not isinstance(root, Element):
        raise MalformedXml("no XML root element")
    return root

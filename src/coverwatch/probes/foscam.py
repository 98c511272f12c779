"""Foscam search protocol: the ``MO_I`` search broadcast on UDP 10000 and its 88-byte answer.

Wire format (facts from public sources; code our own):

- Foscam's MJPEG cameras (FI8xxx) and other brands' (Wansview) answer a search broadcast to UDP
  10000 (Foscam MJPEG CGI SDK, "IP Camera device search protocol" PDF, whose text is quoted in
  paulgfrey/WebCamFinder ``src/com/pf/webcam/WebCamFinder.java`` as the "Wansview/Foscam MJPEG
  IP Camera Search Protocol"; julienblitte/UniversalScanner ``protocols.html`` entry 20,
  ``UniversalScanner/Foscam.cs``). The camera broadcasts its answer "to the same port it
  receives the Search_Req" (the SDK text): port 10000 (clovett/tools FoscamExplorer
  ``Foscam/FoscamDevice.cs`` binds 10000, "the foscam only responds when the source port is
  also" 10000), while other clients read answers on the asking socket (WebCamFinder), so
  coverwatch listens on 10000 as well as on the asking socket.
- Every message: a 23-byte header (``MO_I``, operation code INT16 little-endian, 9 reserved
  bytes, text length INT32 little-endian at 15, 4 reserved bytes), then the text.
- Search_Req: operation code 0, text ``00 00 00 01``. Search_Resp: operation code 1, a text of
  65 bytes: camera id (13 bytes, NUL-padded) at 23, camera name (21) at 36, IPv4 address,
  mask, gateway and DNS (4 bytes each, network order) at 57, 61, 65, 69, 4 reserved bytes,
  system and application firmware versions (4 bytes each, ``a.b.c.d``) at 77 and 81, the HTTP
  port (INT16 big-endian) at 85 and a DHCP flag at 87 ("only valid for firmware later than
  x.x.2.2"; older answers may stop at 87 bytes). Operation codes 2 and 3 set and confirm
  network settings; this module never sends them.
- Byte offsets cross-checked with public scripts that read answers: jimboca/ISYHelperPolyglot
  ``node_servers/camera/bin/udpping.py``, grevaillot/foscam_scan.py, SukkoPera's FOSCAM
  discoverer (text length 65, "we only know the meaning of the first 65 bytes").
- The camera id is the MAC address as 12 hex digits: FoscamExplorer reads the 12 bytes at
  23 as the MAC (``m_offset_MAC``), SukkoPera's discoverer has a (disabled) line making one
  of it; published ids carry camera MAC prefixes (``78A5DD``, Shenzhen Smarteye's IEEE
  block, in WebCamFinder's capture; ``00626E`` as on the Insteon camera of the UNSW IoT
  traces, https://iotanalytics.unsw.edu.au/iottraces). It is reported as ``foscam.id`` and,
  when it is 12 hex digits, as ``mac``.
"""

from __future__ import annotations

import string
import struct

from coverwatch.probes.http import clean_text
from coverwatch.probes.protocol import (
    BROADCAST,
    MalformedReply,
    ProtocolSpec,
    Responder,
    Signals,
    cstring,
    ipv4_bytes,
    mac_bytes,
)

PORT = 10000
MAGIC = b"MO_I"
SEARCH_REQ, SEARCH_RESP = 0, 1
_HEADER = struct.Struct("<4sHx8xI4x")  # magic, operation code, text length
_TEXT = 65
#: Answers from firmware before x.x.2.2 may lack the DHCP byte (87 bytes in all).
_MIN_TEXT = 64
#: Longer answers are not read (the scripts above read at most 1024 bytes).
MAX_SIZE = 1024


def _message(operation: int, text: bytes) -> bytes:
    return _HEADER.pack(MAGIC, operation, len(text)) + text


def build_request() -> bytes:
    """The 27-byte Search_Req of the SDK's description."""
    return _message(SEARCH_REQ, b"\0\0\0\x01")


def _header(data: bytes) -> tuple[int, int]:
    """(operation code, text length) of a ``MO_I`` message; MalformedReply otherwise."""
    if data[:4] != MAGIC:
        raise MalformedReply("bad_magic", "not a Foscam search message")
    if len(data) < _HEADER.size:
        raise MalformedReply("truncated", f"Foscam header of {len(data)} bytes")
    _, operation, size = _HEADER.unpack_from(data)
    return operation, size


def _version(raw: bytes) -> str:
    return "" if raw == b"\0\0\0\0" else ".".join(str(b) for b in raw)


def parse_reply(data: bytes) -> list[Signals]:
    """``foscam.*`` signals of a Search_Resp; MalformedReply otherwise."""
    operation, size = _header(data)
    if operation != SEARCH_RESP:
        raise MalformedReply("not_a_reply", f"Foscam search message, operation {operation}")
    if max(len(data), size) > MAX_SIZE:
        raise MalformedReply("oversized", f"Foscam answer of {max(len(data), size)} bytes")
    if size < _MIN_TEXT:
        raise MalformedReply("contradictory", f"Foscam answer declares a {size}-byte text")
    if len(data) < _HEADER.size + size:
        raise MalformedReply("truncated", f"Foscam answer of {len(data)} bytes, text of {size}")
    signals: Signals = {}
    for offset, width, key in ((23, 13, "foscam.id"), (36, 21, "foscam.name")):
        text = clean_text(cstring(data, offset, width), 64)
        if text and text.isprintable():
            signals[key] = [text]
    camera_id = signals.get("foscam.id", [""])[0]
    if len(camera_id) == 12 and all(c in string.hexdigits for c in camera_id):
        mac = mac_bytes(bytes.fromhex(camera_id))
        if mac:
            signals["mac"] = [mac]
    address = ipv4_bytes(data[57:61])
    if address:
        signals["foscam.ipv4"] = [address]
    for offset, key in ((77, "foscam.firmware"), (81, "foscam.app_version")):
        version = _version(data[offset : offset + 4])
        if version:
            signals[key] = [version]
    (port,) = struct.unpack_from(">H", data, 85)
    if port:
        signals["foscam.http_port"] = [str(port)]
    if "foscam.id" not in signals and "foscam.name" not in signals:
        raise MalformedReply("empty", "Foscam answer names neither id nor name")
    return [signals]


def _version_bytes(text: object) -> bytes:
    parts = str(text).split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        return bytes(4)
    return bytes(int(p) for p in parts)


def answer(data: bytes, device: Responder) -> bytes | None:
    """A lab device's Search_Resp with the id, name, versions and port of its profile block."""
    try:
        operation, _ = _header(data)
    except MalformedReply:
        return None
    if operation != SEARCH_REQ:
        return None
    fields = device.fields
    text = bytearray(_TEXT)
    for offset, width, key in ((0, 13, "id"), (13, 21, "name")):
        raw = str(fields.get(key, "")).encode()[: width - 1]
        text[offset : offset + len(raw)] = raw
    text[34:38] = bytes(int(p) for p in device.ip.split("."))
    text[38:42] = bytes((255, 255, 0, 0))
    text[54:58] = _version_bytes(fields.get("firmware", ""))
    text[58:62] = _version_bytes(fields.get("app_version", ""))
    struct.pack_into(">H", text, 62, int(fields.get("http_port", 80)) & 0xFFFF)
    text[64] = 1 if fields.get("dhcp", True) else 0
    return _message(SEARCH_RESP, bytes(text))


SPEC = ProtocolSpec(
    name="foscam",
    port=PORT,
    group=BROADCAST,
    build=lambda _to: build_request(),
    parse=parse_reply,
    source=(
        "Foscam MJPEG CGI SDK 'IP Camera device search protocol' (text in paulgfrey/WebCamFinder);"
        " julienblitte/UniversalScanner protocols.html and UniversalScanner/Foscam.cs"
    ),
    reply_port=PORT,
    answer=answer,
    families=("foscam.",),
    magic=(0, MAGIC),
)

"""Streaming readers for pcap and pcapng files: frames out, constant memory, hostile-input safe.

Formats (facts from the specifications; code our own, dpkt decodes the protocols later):

- pcap: 24-byte global header (magic ``a1b2c3d4`` microseconds or ``a1b23c4d`` nanoseconds, in
  either byte order; snap length; link type), then 16-byte record headers ``ts_sec, ts_frac,
  incl_len, orig_len`` (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html).
- pcapng: blocks ``type, total_length, body, total_length``; Section Header ``0x0A0D0D0A`` with
  byte-order magic ``0x1A2B3C4D``; Interface Description (1) carries link type, snap length and
  the ``if_tsresol`` option (9); Enhanced (6), Simple (3) and obsolete (2) Packet Blocks carry
  frames (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html).
- NOTE: a snap length of 0 appears in files from some writers and means "no limit"; records are
  then bounded by ``MAX_FRAME`` instead. A record longer than that cannot be resynchronised, so
  reading stops there with a counted warning, as it does for a file cut off mid-record.
- Frames whose time is not finite, before 1990 or more than a day after the read (see
  ``model.time_ok``) are skipped and counted as ``bad_timestamp``, so no later stage meets a
  time it cannot represent (issue #11). So are the frames of a pcapng interface whose
  ``if_tsresol`` is finer than 10**-19 or 2**-64 s: 64-bit counters at that resolution cannot
  reach 1990, so such a value is damage rather than a clock.
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Iterator
from typing import BinaryIO

from coverwatch.errors import InputError
from coverwatch.traffic.model import MAX_FUTURE_SECONDS, IngestWarning, RecordSource, time_ok

#: Largest frame accepted (the pcap spec's 262144 maximum snap length).
MAX_FRAME = 262_144
#: Largest pcapng block accepted (a frame plus generous options).
MAX_BLOCK = MAX_FRAME + 65_536
_CHUNK = 1 << 20

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"

#: (timestamp, link type, captured bytes)
Frame = tuple[float, int, bytes]


def sniff(head: bytes) -> RecordSource | None:
    """The capture format of a file from its first bytes, or None when it is not a capture."""
    if head[:4] in PCAP_MAGICS:
        return RecordSource.PCAP
    if head[:4] == PCAPNG_MAGIC:
        return RecordSource.PCAPNG
    return None


def read_frames(
    path: str, handle: BinaryIO, warnings: dict[str, int]
) -> tuple[RecordSource, Iterator[Frame]]:
    """The format of an open capture and an iterator over its frames.

    Raises InputError (naming the file) when the file is not a capture at all; later damage is
    counted in ``warnings`` (``IngestWarning`` values) and ends the iteration.
    """
    head = handle.read(24)
    kind = sniff(head)
    latest = time.time() + MAX_FUTURE_SECONDS
    if kind is RecordSource.PCAP:
        if len(head) < 24:
            raise InputError(f"{path}: truncated pcap header ({len(head)} of 24 bytes)")
        return kind, _sane(_pcap_frames(head, handle, warnings), warnings, latest)
    if kind is RecordSource.PCAPNG:
        return kind, _sane(_pcapng_frames(head, handle, warnings), warnings, latest)
    raise InputError(f"{path}: not a pcap or pcapng capture (magic {head[:4].hex() or 'empty'})")


def _count(warnings: dict[str, int], reason: IngestWarning, n: int = 1) -> None:
    warnings[reason.value] = warnings.get(reason.value, 0) + n


def _sane(frames: Iterator[Frame], warnings: dict[str, int], latest: float) -> Iterator[Frame]:
    """The frames whose time is usable; the others counted as ``bad_timestamp``."""
    for frame in frames:
        if time_ok(frame[0], latest):
            yield frame
        else:
            _count(warnings, IngestWarning.BAD_TIMESTAMP)


def _pcap_frames(head: bytes, handle: BinaryIO, warnings: dict[str, int]) -> Iterator[Frame]:
    order, scale = PCAP_MAGICS[head[:4]]
    snaplen, network = struct.unpack(order + "II", head[16:24])
    linktype = network & 0x0FFFFFFF  # upper bits: FCS length flags (draft section 4)
    limit = snaplen if 0 < snaplen <= MAX_FRAME else MAX_FRAME
    record = struct.Struct(order + "IIII")
    buf = b""
    pos = 0
    while True:
        if len(buf) - pos < 16:
            more = handle.read(_CHUNK)
            buf = buf[pos:] + more
            pos = 0
            if len(buf) < 16:
                if buf:
                    _count(warnings, IngestWarning.TRUNCATED_FILE)
                return
        sec, frac, incl, _orig = record.unpack_from(buf, pos)
        # NOTE: some writers exceed their own snap length by a few bytes; tolerate up to
        # MAX_FRAME, beyond it the length field itself is corrupt and nothing after it can be
        # trusted.
        if incl > limit and incl > MAX_FRAME:
            _count(warnings, IngestWarning.BAD_RECORD_LENGTH)
            return
        end = pos + 16 + incl
        if end > len(buf):
            buf = buf[pos:] + handle.read(max(_CHUNK, incl + 16))
            pos = 0
            end = 16 + incl
            if end > len(buf):
                _count(warnings, IngestWarning.TRUNCATED_FILE)
                return
        yield sec + frac * scale, linktype, buf[pos + 16 : end]
        pos = end


def _pcapng_frames(head: bytes, handle: BinaryIO, warnings: dict[str, int]) -> Iterator[Frame]:
    pending = head

    def take(n: int) -> bytes:
        nonlocal pending
        if pending:
            got, pending = pending[:n], pending[n:]
            return got + (handle.read(n - len(got)) if len(got) < n else b"")
        return handle.read(n)

    order = "<"
    interfaces: list[tuple[int, float | None]] = []
    while True:
        header = take(8)
        if len(header) < 8:
            if header:
                _count(warnings, IngestWarning.TRUNCATED_FILE)
            return
        prefix = b""
        if header[:4] == PCAPNG_MAGIC:
            prefix = take(4)
            if prefix == b"\x4d\x3c\x2b\x1a":
                order = "<"
            elif prefix == b"\x1a\x2b\x3c\x4d":
                order = ">"
            else:
                _count(warnings, IngestWarning.BAD_BLOCK)
                return
            interfaces = []  # a new section starts its own interface numbering
        btype, total = struct.unpack(order + "II", header)
        if total < 12 + len(prefix) or total % 4 or total > MAX_BLOCK:
            _count(warnings, IngestWarning.BAD_BLOCK)
            return
        data = prefix + take(total - 8 - len(prefix))
        if len(data) < total - 8:
            _count(warnings, IngestWarning.TRUNCATED_FILE)
            return
        frame = _pcapng_block(btype, data[:-4], order, interfaces, warnings)
        if frame is not None:
            yield frame


def _pcapng_block(
    btype: int,
    body: bytes,
    order: str,
    interfaces: list[tuple[int, float | None]],
    warnings: dict[str, int],
) -> Frame | None:
    try:
        if btype == 1:  # Interface Description Block
            linktype, _, _snaplen = struct.unpack_from(order + "HHI", body)
            interfaces.append((linktype, _tsresol(body[8:], order)))
            return None
        if btype == 6:  # Enhanced Packet Block
            iface, high, low, caplen, _orig = struct.unpack_from(order + "IIIII", body)
            data = body[20 : 20 + caplen]
        elif btype == 2:  # obsolete Packet Block
            iface, _, high, low, caplen, _orig = struct.unpack_from(order + "HHIIII", body)
            data = body[20 : 20 + caplen]
        elif btype == 3:  # Simple Packet Block: interface 0, no timestamp
            (orig,) = struct.unpack_from(order + "I", body)
            iface, high, low, caplen = 0, 0, 0, min(orig, len(body) - 4)
            data = body[4 : 4 + caplen]
        else:
            return None
    except struct.error:
        _count(warnings, IngestWarning.BAD_BLOCK)
        return None
    if iface >= len(interfaces) or len(data) < caplen:
        _count(warnings, IngestWarning.BAD_BLOCK)
        return None
    linktype, resolution = interfaces[iface]
    if resolution is None:
        return math.nan, linktype, data  # counted as bad_timestamp by _sane
    # NOTE: whole seconds plus fraction, as for pcap, so both formats give identical floats
    per_second = round(1 / resolution)
    seconds, fraction = divmod((high << 32) | low, per_second)
    return seconds + fraction * resolution, linktype, data


def _tsresol(options: bytes, order: str) -> float | None:
    """Seconds per timestamp unit from the ``if_tsresol`` option (default microseconds).

    None when the option asks for a resolution finer than 10**-19 or 2**-64 s (see the module
    docstring): the interface's frames are then skipped as ``bad_timestamp``.
    """
    pos = 0
    while pos + 4 <= len(options):
        code, length = struct.unpack_from(order + "HH", options, pos)
        if code == 0:
            break
        if code == 9 and length >= 1 and pos + 5 <= len(options):
            value = options[pos + 4]
            exponent = value & 0x7F
            if exponent > (64 if value & 0x80 else 19):
                return None
            return 2.0**-exponent if value & 0x80 else float(f"1e-{exponent}")
        pos += 4 + length + (-length % 4)
    return 1e-6

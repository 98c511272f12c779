"""Sony network camera discovery: the broadcast ``ENQ:allinfo`` on UDP 2380 and its answer.

Wire format (facts from public sources; code our own):

- Sony network cameras (SNC series; Sony's SNC toolbox finds them this way) answer a broadcast
  to UDP 2380, by broadcast to the asker's port (julienblitte/UniversalScanner
  ``protocols.html``; ``UniversalScanner/Sony.cs``).
- A message is ``02``, then text lines each ended by ``ff``, then ``03``. The request is the
  one line ``ENQ:allinfo``; the answer's lines are ``key:value`` pairs, among them ``model``,
  ``serial``, ``mac`` and ``ipadr``.
"""

from __future__ import annotations

from coverwatch.probes.http import clean_text
from coverwatch.probes.protocol import BROADCAST, MalformedReply, ProtocolSpec, Responder, Signals

PORT = 2380
_START, _END, _EOL = 0x02, 0x03, 0xFF
_MAX_LINES = 128
#: Answer key (lower case) -> signal.
_KEYS = {
    "model": "sony.model",
    "serial": "sony.serial",
    "mac": "sony.mac",
    "ipadr": "sony.ipv4",
    "version": "sony.firmware",
    "softversion": "sony.firmware",
    "name": "sony.name",
}


def frame(lines: list[str]) -> bytes:
    """Lines framed as a Sony discovery message."""
    return bytes([_START]) + b"".join(ln.encode() + bytes([_EOL]) for ln in lines) + bytes([_END])


def lines(data: bytes) -> list[str]:
    """The text lines of a framed message; MalformedReply for a bad frame."""
    data = data.rstrip(b"\0")  # NOTE: padding after the end marker is not part of the frame
    if len(data) < 2 or data[0] != _START or data[-1] != _END:
        raise MalformedReply("bad_magic", "not a framed Sony discovery message")
    return [raw.decode("utf-8", "replace") for raw in data[1:-1].split(bytes([_EOL]))][:_MAX_LINES]


def parse_reply(data: bytes) -> list[Signals]:
    """``sony.*`` signals (plus ``mac``) of an answer; MalformedReply otherwise."""
    signals: Signals = {}
    for line in lines(data):
        key, sep, value = line.partition(":")
        signal = _KEYS.get(key.strip().lower())
        text = clean_text(value, 128)
        if sep and signal and text:
            signals.setdefault(signal, [text])
    if "sony.model" not in signals and "sony.serial" not in signals:
        raise MalformedReply("not_a_reply", "Sony message names neither model nor serial")
    if "sony.mac" in signals:
        signals["mac"] = signals["sony.mac"]
    return [signals]


def answer(data: bytes, device: Responder) -> bytes | None:
    """A lab device's answer: its profile block's ``key:value`` lines, MAC and address."""
    if lines(data) != ["ENQ:allinfo", ""] and lines(data) != ["ENQ:allinfo"]:
        return None
    items = {**device.fields, "mac": device.mac, "ipadr": device.ip}
    return frame([f"{k}:{v}" for k, v in items.items()])


SPEC = ProtocolSpec(
    name="sony",
    port=PORT,
    group=BROADCAST,
    build=lambda _to: frame(["ENQ:allinfo"]),
    parse=parse_reply,
    source="julienblitte/UniversalScanner protocols.html and UniversalScanner/Sony.cs",
    answer=answer,
    families=("sony.",),
)

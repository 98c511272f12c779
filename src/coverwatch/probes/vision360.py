"""360 Vision Technology camera discovery: ``DISCOVER`` on UDP 3600 and its key=value answer.

Wire format (facts from public sources; code our own):

- 360 Vision Technology (UK) PTZ cameras answer a broadcast ``DISCOVER\\n`` to UDP 3600 at the
  asker's address and port (julienblitte/UniversalScanner ``protocols.html``;
  ``UniversalScanner/360Vision.cs``).
- The answer is one text line of ``KEY=value`` pairs separated by spaces, a value optionally in
  single or double quotes; ``TYPE`` is the camera type (model) and ``KEY`` its unique key
  (serial). Other pairs are kept under their own lower-cased names.
"""

from __future__ import annotations

import re

from coverwatch.probes.http import clean_text
from coverwatch.probes.protocol import BROADCAST, MalformedReply, ProtocolSpec, Responder, Signals

PORT = 3600
REQUEST = b"DISCOVER\n"
_PAIR = re.compile(r"([A-Za-z_][A-Za-z0-9_]{0,31})=('[^']{0,256}'|\"[^\"]{0,256}\"|[^ ]{0,256})")
_MAX_PAIRS = 32
_NAMED = {"type": "vision360.model", "key": "vision360.serial", "mac": "vision360.mac"}


def parse_reply(data: bytes) -> list[Signals]:
    """``vision360.*`` signals of an answer's ``KEY=value`` pairs; MalformedReply otherwise."""
    if data.startswith(b"DISCOVER"):
        raise MalformedReply("not_a_reply", "a 360 Vision request")
    # NOTE: the source reads the first line; pairs are read from the whole (bounded) answer so
    # that a reply starting with a blank or banner line still counts
    line = data[:2048].decode("utf-8", "replace")
    signals: Signals = {}
    for key, value in _PAIR.findall(line)[:_MAX_PAIRS]:
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        signal = _NAMED.get(key.lower(), f"vision360.{key.lower()}")
        text = clean_text(value, 128)
        if text:
            signals.setdefault(signal, [text])
    if "vision360.model" not in signals and "vision360.serial" not in signals:
        raise MalformedReply("not_a_reply", "360 Vision answer without TYPE or KEY")
    if "vision360.mac" in signals:
        signals["mac"] = signals["vision360.mac"]
    return [signals]


def answer(data: bytes, device: Responder) -> bytes | None:
    """A lab device's answer line: its profile block's pairs, quoted."""
    if data != REQUEST:
        return None
    pairs = " ".join(f"{k}='{v}'" for k, v in {**device.fields, "IP": device.ip}.items())
    return (pairs + "\n").encode()


SPEC = ProtocolSpec(
    name="vision360",
    port=PORT,
    group=BROADCAST,
    build=lambda _to: REQUEST,
    parse=parse_reply,
    source="julienblitte/UniversalScanner protocols.html and UniversalScanner/360Vision.cs",
    answer=answer,
    families=("vision360.",),
)

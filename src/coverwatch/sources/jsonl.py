"""The Observation JSONL contract (DESIGN.md): one JSON object per line describing one host.

Every key is optional: ``ip``, ``mac``, ``hostname`` and dotted signal keys (``http.server``,
``onvif.model``, ``sadp.*``, ...). A value may be a string, a number, or a list of those (several
observations of the same signal). Keys that identify's output adds are ignored on input, so
output can be fed back in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import orjson

from coverwatch.identity import normalise_mac

#: Keys identify writes; ignored when read back.
OUTPUT_KEYS = frozenset(
    {"maker", "brand", "model", "firmware", "device_type", "covered", "confidence", "evidence"}
)
_MAX_LINE = 1024 * 1024


class BadLine(ValueError):
    """A JSONL line that is not a usable observation object."""


@dataclass(frozen=True)
class JsonlRecord:
    """One parsed input line."""

    line: int
    """1-based line number."""
    data: dict[str, Any]
    """The object as given (echoed in the output)."""
    signals: list[tuple[str, str]]
    """``(signal, value)`` pairs for attribution."""


def _scalar(key: str, value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, int | float | str):
        return str(value)
    raise BadLine(f"key {key!r}: value must be a string, number or list of them")


def parse_line(number: int, text: str) -> JsonlRecord | None:
    """Parse one line; None for a blank line; BadLine says what is wrong."""
    if not text.strip():
        return None
    if len(text) > _MAX_LINE:
        raise BadLine(f"line longer than {_MAX_LINE} characters")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise BadLine(f"not valid JSON ({e.msg} at column {e.colno})") from e
    if not isinstance(data, dict):
        raise BadLine(f"expected a JSON object, got {type(data).__name__}")
    signals: list[tuple[str, str]] = []
    for key, value in data.items():
        if key in OUTPUT_KEYS or key == "ip":
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            text_value = _scalar(key, item)
            if key == "mac":
                mac = normalise_mac(text_value)
                if mac is None:
                    raise BadLine(f"key 'mac': {text_value[:40]!r} is not a MAC address")
                text_value = mac
            if key == "open_ports":
                key = "tcp.port"
            signals.append((key, text_value))
    return JsonlRecord(number, data, signals)


def read_records(stream: TextIO) -> Iterator[JsonlRecord | tuple[int, BadLine]]:
    """Stream records; a bad line is yielded as ``(line, error)`` and reading goes on.

    A line longer than the limit ends the input (after its error): without a line end in
    sight there is no next line to go on with (``identify /dev/zero`` must not fill memory).
    """
    number = 0
    while text := stream.readline(_MAX_LINE + 1):
        number += 1
        if len(text) > _MAX_LINE and not text.endswith("\n"):
            yield (
                number,
                BadLine(f"line longer than {_MAX_LINE} characters; input not read further"),
            )
            return
        try:
            record = parse_line(number, text)
        except BadLine as e:
            yield number, e
            continue
        if record is not None:
            yield record

"""Durations as users write them: 90, 30s, 15m, 1h, 1d."""

from __future__ import annotations

import re

from coverwatch.errors import InputError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``30s``, ``15m``, ``1h`` or ``1d``."""
    match = _DURATION.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise InputError(f"bad duration {text!r}: use e.g. 30s, 15m, 1h or 1d")
    return float(match.group(1)) * _UNITS[match.group(2)]

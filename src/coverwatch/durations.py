"""Durations as users write them: 90, 30s, 15m, 1h, 1d."""

from __future__ import annotations

import math
import re

from coverwatch.errors import InputError

_DURATION = re.compile(r"^\s*(\d{1,12}(?:\.\d{1,9})?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_SECONDS = 100 * 366 * 86400
"""A century: longer durations are typing mistakes, and overflow date arithmetic."""


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``30s``, ``15m``, ``1h`` or ``1d`` (more than 0, at most a
    century)."""
    match = _DURATION.match(text[:100])
    seconds = float(match.group(1)) * _UNITS[match.group(2)] if match else math.nan
    if not 0 < seconds <= MAX_SECONDS:  # NOTE: False for NaN too
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise InputError(f"bad duration {shown!r}: use e.g. 30s, 15m, 1h or 1d (up to 100 years)")
    return seconds

"""Running coroutines: on uvloop where it is installed (Linux, macOS), else plain asyncio.

uvloop's C event loop and transports make the scan and the lab noticeably faster (see
bench/scan_vs_nmap); behaviour is the same either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion in a new event loop."""
    try:
        import uvloop
    except ImportError:  # Windows, or a minimal install
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)

"""Spreadsheet-safe CSV cells, shared by every CSV coverwatch writes (no heavy imports).

A cell that would start with ``=``, ``+``, ``-``, ``@``, tab, carriage return or ``'`` gets one
leading ``'``, so a spreadsheet shows device-supplied text instead of running it as a formula
(OWASP "CSV injection", https://owasp.org/www-community/attacks/CSV_Injection); strip that one
quote to read the value back.
"""

from __future__ import annotations

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def safe_cell(value: str) -> str:
    """Defuse a cell a spreadsheet would read as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def unsafe_cell(value: str) -> str:
    """Inverse of ``safe_cell``."""
    return value[1:] if value.startswith("'") else value

"""Terminal tables that fit the terminal: columns dropped by priority, text wrapped, never cut.

Rich shortens cells that do not fit ("127.3…", "unkno…"); an address or a maker cut in half
is worse than no column at all. ``fit_table`` keeps identifying columns whole (``keep``: no
wrap, at least their widest cell), lets text columns fold onto more lines, and drops the
least important columns first when even that does not fit, saying which in the caption.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.table import Table

#: Narrowest a wrapping column may become.
_MIN_TEXT = 8


@dataclass(frozen=True)
class Column:
    """One column of a terminal table."""

    header: str
    priority: int = 1
    """1: always shown; higher numbers are dropped first when the terminal is narrow."""
    keep: bool = False
    """Never wrapped or shortened (addresses, dates, counts)."""
    justify: str = "left"
    """``left`` or ``right``."""


def _plain(cell: str) -> str:
    from rich.text import Text

    return Text.from_markup(cell).plain


def _need(column: Column, cells: Sequence[str]) -> int:
    """The narrowest this column can be drawn without cutting anything."""
    widest = max([len(column.header), *(len(_plain(c)) for c in cells)])
    if column.keep:
        return widest
    longest_word = max([len(w) for c in cells for w in _plain(c).split()] or [0])
    return max(len(column.header), min(widest, max(_MIN_TEXT, min(longest_word, 20))))


def fit_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    width: int,
    title: str | None = None,
    styles: Sequence[str] = (),
) -> Table:
    """A table of ``rows`` (Rich markup cells, with optional per-row ``styles``) for a
    terminal ``width`` columns wide."""
    shown = list(range(len(columns)))
    needs = [_need(c, [row[i] for row in rows]) for i, c in enumerate(columns)]

    def total() -> int:
        # NOTE: Rich's default box draws one rule per column edge and pads each cell by one
        # space on either side: width = sum(cells) + 3 * columns + 1.
        return sum(needs[i] for i in shown) + 3 * len(shown) + 1

    while total() > width and len(shown) > 1:
        worst = max(shown, key=lambda i: (columns[i].priority, i))
        if columns[worst].priority <= 1:
            break
        shown.remove(worst)
    hidden = [columns[i].header for i in range(len(columns)) if i not in shown]
    table = Table(
        title=title,
        caption=f"not shown at this width: {', '.join(hidden)} (widen the terminal or use --json)"
        if hidden
        else None,
    )
    for i in shown:
        column = columns[i]
        table.add_column(
            column.header,
            justify="right" if column.justify == "right" else "left",
            no_wrap=column.keep,
            min_width=needs[i] if column.keep else None,
            overflow="fold",
        )
    for n, row in enumerate(rows):
        table.add_row(*(row[i] for i in shown), style=styles[n] if n < len(styles) else None)
    return table

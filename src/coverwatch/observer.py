"""Progress reporting: the core calls an observer; only front-ends decide how to show it."""

from __future__ import annotations


class Observer:
    """Receives progress from long-running stages. The default does nothing."""

    def stage(self, name: str, total: int | None = None) -> None:
        """A stage starts; ``total`` is the number of steps when known."""

    def advance(self, steps: int = 1) -> None:
        """``steps`` more steps of the current stage are done."""

    def note(self, message: str) -> None:
        """Something the user should know that is not an error (e.g. credentials rejected)."""

    def done(self) -> None:
        """The current stage has finished."""


NULL_OBSERVER = Observer()

"""Fast matching of many fingerprint patterns against one signal value.

Most patterns can only match text that contains some literal (``'^App-webs/'`` needs
``app-webs/``; ``'realm="(IP Camera|DVR)'`` needs ``ip camera`` or ``dvr``). Those literals are
read from each compiled pattern once; for every signal key one Aho-Corasick automaton
(pyahocorasick) finds, in one pass over a value, which literals it contains, and only the
patterns owning those literals (plus the few that name no literal) are run. The result is the
same as running every pattern: a pattern whose required literal is absent cannot match.

Patterns are `Regex` objects, compiled on first use: loaded from the knowledge cache, a run
compiles only the patterns its values select (compiling all ~1,000 costs about 0.3 s).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Generic, Protocol, TypeVar

import ahocorasick

#: Literals shorter than this select too little to be worth indexing.
_MIN_LITERAL = 3


class Regex:
    """A case-insensitive regular expression, compiled on first use, and its required literals.

    Equal when the pattern text is; pickles as its text and literals, never as compiled code.
    """

    __slots__ = ("_compiled", "_literals", "pattern")
    flags = re.IGNORECASE

    def __init__(
        self,
        pattern: str,
        compiled: re.Pattern[str] | None = None,
        literals: frozenset[str] | bool | None = False,
    ) -> None:
        self.pattern = pattern
        """The expression as written."""
        self._compiled = compiled
        self._literals = literals  # False: not computed yet (None means "no literal required")

    @property
    def compiled(self) -> re.Pattern[str]:
        """The compiled pattern (compiled now if it was not yet)."""
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled

    @property
    def groupindex(self) -> Mapping[str, int]:
        """Named groups of the pattern."""
        return self.compiled.groupindex

    @property
    def literals(self) -> frozenset[str] | None:
        """`required_literals` of this pattern (computed once)."""
        if self._literals is False:
            self._literals = required_literals(self)
        return self._literals if isinstance(self._literals, frozenset) else None

    def search(self, text: str) -> re.Match[str] | None:
        """``re.search`` of this pattern in ``text``."""
        return self.compiled.search(text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Regex) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"

    def __reduce__(self) -> tuple[type[Regex], tuple[str, None, frozenset[str] | None]]:
        return (Regex, (self.pattern, None, self.literals))


class _Expression(Protocol):
    @property
    def pattern(self) -> str: ...

    @property
    def flags(self) -> int: ...


class HasPattern(Protocol):
    """Anything carrying a pattern (a fingerprint)."""

    @property
    def pattern(self) -> Regex: ...


P = TypeVar("P", bound=HasPattern)


def required_literals(pattern: _Expression) -> frozenset[str] | None:
    """Lower-case strings one of which every match of ``pattern`` contains, or None."""
    try:
        tree = sre_parse.parse(pattern.pattern, pattern.flags)
    except (re.error, RecursionError, ValueError):
        return None
    found = _sequence(list(tree))
    return frozenset(found) if found else None


def _score(options: set[str] | None) -> int:
    return min((len(s) for s in options), default=0) if options else 0


def _sequence(items: Sequence[tuple[Any, Any]]) -> set[str] | None:
    """The most selective set of alternatives that a match of this sequence must contain."""
    best: set[str] | None = None
    run: list[str] = []

    def consider(options: set[str] | None) -> None:
        nonlocal best
        if options and _score(options) >= _MIN_LITERAL and _score(options) > _score(best):
            best = options

    for op, arg in items:
        if op is sre.LITERAL and arg < 128:
            run.append(chr(arg).lower())
            continue
        if op is sre.BRANCH and run:
            # NOTE: re's parser factors a common prefix out of an alternation ("NVR|Network"
            # becomes "N" + ("VR"|"etwork")); the prefix joined to each branch's own leading
            # literals is still a required alternative.
            consider({"".join(run) + _leading(branch) for branch in arg[1]})
        if run:
            consider({"".join(run)})
            run = []
        if op is sre.SUBPATTERN:
            consider(_sequence(arg[-1]))
        elif op is sre.BRANCH:
            branches = [_sequence(branch) for branch in arg[1]]
            if all(branches):
                consider(set().union(*branches))  # type: ignore[arg-type]
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and arg[0] >= 1:
            consider(_sequence(arg[2]))
    if run:
        consider({"".join(run)})
    return best


def _leading(items: Sequence[tuple[Any, Any]]) -> str:
    """The literal text a sequence starts with ("" when it starts otherwise)."""
    lead = []
    for op, arg in items:
        if op is not sre.LITERAL or arg >= 128:
            break
        lead.append(chr(arg).lower())
    return "".join(lead)


class LiteralIndex(Generic[P]):
    """Patterns of one signal, indexed by their required literals."""

    def __init__(self, patterns: Sequence[P]) -> None:
        self.patterns = tuple(patterns)
        self.always: list[int] = []
        owners: dict[str, list[int]] = {}
        for index, item in enumerate(self.patterns):
            literals = item.pattern.literals
            if literals is None:
                self.always.append(index)
            else:
                for literal in literals:
                    owners.setdefault(literal, []).append(index)
        self.automaton: Any = None
        if owners:
            self.automaton = ahocorasick.Automaton()
            for literal, indexes in owners.items():
                self.automaton.add_word(literal, tuple(indexes))
            self.automaton.make_automaton()

    def candidates(self, value: str) -> list[P]:
        """The patterns that may match ``value``, in their original order."""
        chosen = set(self.always)
        if self.automaton is not None:
            for _end, indexes in self.automaton.iter(value.lower()):
                chosen.update(indexes)
        return [self.patterns[i] for i in sorted(chosen)]

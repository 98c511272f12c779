"""Rule options as declared data: each rule kind lists the options it takes, with their types
and ranges, and the policy loader checks every value against them when the policy loads.

A rule class declares ``OPTIONS = Options(Number("min_cvss", 0, 10), Flag("kev_only"))``;
``Options`` is still the frozenset of option names the ``Rule`` seam expects, and carries the
specs. A value that does not fit raises ``OptionProblem`` (the loader adds file, line, field).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class OptionProblem(ValueError):
    """An option value that does not fit its spec; ``at`` is the bad entry's key or index."""

    def __init__(self, message: str, at: str | int | None = None) -> None:
        super().__init__(message)
        self.at = at


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Option(ABC):
    """One option: its name and what values it takes."""

    name: str
    """Key under the rule's ``options:``."""

    @abstractmethod
    def check(self, value: object) -> object:
        """The value as the rule reads it; raises OptionProblem when it does not fit."""


@dataclass(frozen=True)
class Number(Option):
    """A finite number in [low, high]."""

    low: float = -math.inf
    high: float = math.inf

    def check(self, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise OptionProblem(f"must be a number, got {_shown(value)}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number) or not self.low <= number <= self.high:
            raise OptionProblem(
                f"must be a number from {self.low:g} to {self.high:g}, got {_shown(value)}"
            )
        return number


@dataclass(frozen=True)
class Flag(Option):
    """true or false."""

    def check(self, value: object) -> object:
        if not isinstance(value, bool):
            raise OptionProblem(f"must be true or false, got {_shown(value)}")
        return value


@dataclass(frozen=True)
class Choice(Option):
    """One of fixed words."""

    choices: tuple[str, ...] = ()

    def check(self, value: object) -> object:
        if not isinstance(value, str) or value not in self.choices:
            raise OptionProblem(f"must be one of {', '.join(self.choices)}, got {_shown(value)}")
        return value


@dataclass(frozen=True)
class Choices(Option):
    """A non-empty list of fixed words."""

    choices: tuple[str, ...] = ()

    def check(self, value: object) -> object:
        if isinstance(value, str) or not isinstance(value, Sequence) or not value:
            raise OptionProblem(f"must be a non-empty list of: {', '.join(self.choices)}")
        for index, item in enumerate(value):
            if not isinstance(item, str) or item not in self.choices:
                raise OptionProblem(
                    f"must be one of {', '.join(self.choices)}, got {_shown(item)}", index
                )
        return [str(item) for item in value]


@dataclass(frozen=True)
class PortNames(Option):
    """A mapping of TCP port (1-65535) to a service name."""

    def check(self, value: object) -> object:
        if not isinstance(value, Mapping) or not value:
            raise OptionProblem("must map ports to service names, e.g. {23: Telnet}")
        ports: dict[int, str] = {}
        for key, name in value.items():
            text = str(key)
            if not text.isdigit() or not 0 < int(text) < 65536:
                raise OptionProblem(f"{_shown(key)} is not a port (1-65535)", key)
            if not isinstance(name, str) or not name.strip():
                raise OptionProblem(f"must be a service name, got {_shown(name)}", key)
            ports[int(text)] = name
        return ports


class Options(frozenset[str]):
    """The option names a rule kind takes (a frozenset, as the Rule seam expects), with the
    spec of each."""

    specs: dict[str, Option]

    def __new__(cls, *specs: Option) -> Options:
        """Options from their specs."""
        self = super().__new__(cls, (spec.name for spec in specs))
        self.specs = {spec.name: spec for spec in specs}
        return self

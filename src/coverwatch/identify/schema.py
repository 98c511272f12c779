"""One schema-driven reader for every knowledge file: fields, converters, errors with lines.

A knowledge file is a YAML document with an ``updated:`` date and one or more lists of entries.
Each list is described by a `Spec`: the record type it becomes and, per YAML key, a converter
that validates and converts the raw value. Errors name the file, the line, the entry and the
field with the bad value, e.g. ``knowledge fingerprints/acme.yaml:12: fingerprints[3]
(acme-server).weight: must be a number in (0, 1], got 1.5``. Adding a knowledge file is a Spec,
not another hand-written validator.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

import yaml

from coverwatch.errors import KnowledgeError
from coverwatch.identify.matcher import Regex
from coverwatch.models import DeviceType
from coverwatch.signals import is_known

#: libyaml's parser when PyYAML was built with it (several times faster), else pure Python.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

T = TypeVar("T")
Converter = Callable[[Any], Any]


class Bad(ValueError):
    """A field's value is unusable; the message says why (the reader adds where)."""


@dataclass(frozen=True)
class Spec(Generic[T]):
    """How one list of a knowledge file becomes records."""

    list_key: str
    """The document key holding the list (``fingerprints``, ``orgs``, ...)."""
    make: Callable[..., T]
    """The record type (called with the converted fields as keywords)."""
    fields: dict[str, Converter]
    """YAML key -> converter of its raw value (None when absent)."""
    rename: dict[str, str] = field(default_factory=dict)
    """YAML key -> record field, where they differ."""
    label: str | None = None
    """A key whose string value names the entry in errors (``id``); required when set."""
    checks: tuple[Callable[[dict[str, Any]], str | None], ...] = ()
    """Whole-entry checks over the converted values; a message means the entry is bad."""
    optional_list: bool = False
    """True when the document may omit the list."""


def where_error(file: str, where: str, message: str, line: int | None = None) -> KnowledgeError:
    """The one-line error for a knowledge file (with the line when known)."""
    at = f"{file}:{line}" if line else file
    return KnowledgeError(f"knowledge {at}: {where}: {message}")


def read_entries(spec: Spec[T], file: str, document: Any, text: str | None = None) -> list[T]:
    """Validate and convert ``document[spec.list_key]``; KnowledgeError names what is wrong."""
    entries = document.get(spec.list_key) if isinstance(document, dict) else None
    if entries is None and spec.optional_list and isinstance(document, dict):
        return []
    if not isinstance(entries, list):
        raise where_error(file, "top level", f"needs a '{spec.list_key}' list")
    allowed = set(spec.fields) | {"note"}
    records = []
    for index, raw in enumerate(entries):
        where = f"{spec.list_key}[{index}]"
        here = _Place(file, text, (spec.list_key, index))
        if not isinstance(raw, dict):
            raise here.error(where, "must be a mapping")
        if spec.label:
            if not isinstance(raw.get(spec.label), str) or not raw[spec.label].strip():
                raise here.error(where, f"needs a string '{spec.label}'")
            where = f"{where} ({raw[spec.label]})"
        unknown = sorted(str(k) for k in set(raw) - allowed)
        if unknown:
            raise here.error(where, f"unknown key(s) {', '.join(unknown)}", unknown[0])
        values: dict[str, Any] = {}
        for key, convert in spec.fields.items():
            try:
                values[spec.rename.get(key, key)] = convert(raw.get(key))
            except Bad as e:
                raise here.error(f"{where}.{key}", str(e), key) from None
        for check in spec.checks:
            message = check(values)
            if message:
                raise here.error(where, message)
        records.append(spec.make(**values))
    return records


@dataclass(frozen=True)
class _Place:
    """Where an entry is, to name it in errors (with its line when the text is known)."""

    file: str
    text: str | None
    path: tuple[str | int, ...]

    def error(self, where: str, message: str, key: str | None = None) -> KnowledgeError:
        path = (*self.path, key) if key else self.path
        line = line_of(self.text, path) if self.text else None
        return where_error(self.file, where, message, line)


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """The 1-based line of the node at ``path`` (keys and list indexes) in a YAML text."""
    try:
        node = yaml.compose(text, Loader=SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for step in path:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if k.value == step]
            if not found:
                break
            line = found[0][0].start_mark.line + 1
            node = found[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            node = node.value[step] if step < len(node.value) else None
        else:
            break
    if node is not None and path:
        line = max(line or 0, node.start_mark.line + 1)
    return line


# --- converters ---------------------------------------------------------------------------------


def text(required: bool = True, default: str | None = None) -> Converter:
    """A non-empty string (stripped)."""

    def convert(raw: Any) -> str | None:
        if raw is None and not required:
            return default
        if not isinstance(raw, str) or not raw.strip():
            raise Bad(f"needs non-empty text, got {raw!r}")
        return raw.strip()

    return convert


#: Words that name a company's legal form, never a company: an alias made only of them is a
#: flow list that split "TVT CO., LTD" at its comma.
_LEGAL_FORMS = re.compile(
    r"(?i)(?:(?:co|corp|corporation|inc|incorporated|ltd|ltda|limited|llc|llp|plc|pty|pte|gmbh"
    r"|ag|kg|sa|sas|spa|s\.p\.a|bv|b\.v|kk|k\.k|l\.l\.c|company)\.?[\s&,]*)+"
)


def names() -> Converter:
    """Names a maker or brand goes by: non-empty strings, none a bare legal form ("Ltd")."""
    listed = texts()

    def convert(raw: Any) -> tuple[str, ...]:
        found: tuple[str, ...] = listed(raw)
        bare = [name for name in found if _LEGAL_FORMS.fullmatch(name)]
        if bare:
            raise Bad(
                f"{bare[0]!r} is a legal form, not a name: quote a name with a comma in it "
                '("TVT CO., LTD")'
            )
        return found

    return convert


def texts(required: bool = False) -> Converter:
    """A list of non-empty strings (a single string counts as one), as a tuple."""

    def convert(raw: Any) -> tuple[str, ...]:
        if isinstance(raw, str):
            raw = [raw]
        if raw is None:
            raw = []
        if not isinstance(raw, list) or not all(isinstance(v, str) and v.strip() for v in raw):
            raise Bad(f"must be a list of non-empty strings, got {raw!r}")
        if required and not raw:
            raise Bad("needs at least one entry")
        return tuple(v.strip() for v in raw)

    return convert


def regex(required: bool = True) -> Converter:
    """A Python regular expression, compiled case-insensitive."""

    def convert(raw: Any) -> Regex | None:
        if raw is None and not required:
            return None
        if not isinstance(raw, str) or not raw:
            raise Bad("needs a non-empty regex string")
        try:
            return Regex(raw, re.compile(raw, re.IGNORECASE))
        except re.error as e:
            raise Bad(f"bad regex {raw!r}: {e}") from None

    return convert


def weight(raw: Any) -> float:
    """A weight in (0, 1]."""
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= 1:
        raise Bad(f"must be a number in (0, 1], got {raw!r}")
    return float(raw)


def number(raw: Any) -> float:
    """A finite number (absent: 0)."""
    if raw is None:
        return 0.0
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw != raw:
        raise Bad(f"must be a number, got {raw!r}")
    return float(raw)


def source(raw: Any) -> str:
    """The public source of an entry (required)."""
    if not isinstance(raw, str) or not raw.strip():
        raise Bad("every entry must name its public source")
    return raw.strip()


def flag(raw: Any) -> bool:
    """true / false (absent: false)."""
    if raw is None:
        return False
    if not isinstance(raw, bool):
        raise Bad(f"must be true or false, got {raw!r}")
    return raw


def device_type(raw: Any) -> DeviceType | None:
    """One of the DeviceType values, or absent."""
    if raw is None:
        return None
    try:
        return DeviceType(raw)
    except ValueError:
        allowed = "|".join(t.value for t in DeviceType)
        raise Bad(f"unknown device type {raw!r} (one of {allowed})") from None


def device_types(raw: Any) -> frozenset[DeviceType]:
    """A list of device types."""
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        raise Bad(f"must be a list of device types, got {raw!r}")
    return frozenset(t for t in (device_type(v) for v in raw) if t)


def day(required: bool = True) -> Converter:
    """A YAML date (2021-06-28)."""

    def convert(raw: Any) -> date | None:
        if raw is None and not required:
            return None
        if not isinstance(raw, date):
            raise Bad(f"needs a date like 2021-06-28, got {raw!r}")
        return raw

    return convert


def choice(*allowed: str) -> Converter:
    """One of ``allowed``."""

    def convert(raw: Any) -> str:
        if raw not in allowed:
            raise Bad(f"must be {' or '.join(allowed)}, got {raw!r}")
        return str(raw)

    return convert


def signals(raw: Any) -> tuple[str, ...]:
    """Signal keys from the vocabulary in ``coverwatch.signals``."""
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        raise Bad("must be a list of signal keys")
    unknown = [s for s in raw if not is_known(s)]
    if unknown:
        raise Bad(f"unknown signal(s) {', '.join(unknown)} (see coverwatch/signals.py)")
    return tuple(raw)


def matching(pattern: str, what: str) -> Converter:
    """A string that fully matches ``pattern`` (``what`` says what it should look like)."""
    compiled = re.compile(pattern)

    def convert(raw: Any) -> str:
        if not isinstance(raw, str) or not compiled.fullmatch(raw):
            raise Bad(f"needs {what}, got {raw!r}")
        return raw

    return convert

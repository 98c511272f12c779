"""Firmware and model strings as comparable keys, read the way each maker writes them.

Devices report the same firmware differently depending on who asks: Hikvision's ISAPI says
``V5.7.3 build 220112`` where another answer glues it into ``V5.7.3build 220112``; Dahua's web
API adds ``, Build Date: 2021-07-07`` that its ONVIF answer leaves out. Stored strings stay as
the device said them; these keys are only for deciding whether something really changed
(``diff``, ``watch`` alerts, inventory history). See issue #10 part 4.

A firmware key is the version core (case, spacing, a leading ``V`` and separators ignored) plus
the build date, read with the maker's own date format from the knowledge base
(``cves.yaml`` ``firmware_dates``). Two strings are the same firmware when their cores match and
their build dates do not disagree: a string without a date (one source omits it) matches any.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from coverwatch.identify.knowledge import load_knowledge

_SPACE = re.compile(r"\s+")
# NOTE: "V5.7.3build 220112" (glued) must read like "V5.7.3 build 220112": the makers' build
# patterns start at a word boundary, which a glued "3build" does not have.
_GLUED_BUILD = re.compile(r"(?i)(?<=[0-9A-Za-z.])(?=build\b|build\s?[:\d])")
_EDGES = " \t,;:-_/"
_PREFIX = re.compile(r"(?i)^(?:firmware|version|ver)\s*[=:]?\s*")
_LEADING_V = re.compile(r"(?i)^v(?=\d)")
_DROPPED = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class FirmwareKey:
    """What decides whether two firmware strings are the same build."""

    core: str
    """The version without its build date, in canonical form (``5.7.3``, ``2.800.0000018.0.r``)."""
    built: date | None
    """The build date the maker's format gives, or None when the string carries none."""


def _spaced(text: str) -> str:
    return _GLUED_BUILD.sub(" ", _SPACE.sub(" ", text).strip())


def firmware_key(maker: str | None, firmware: str | None) -> FirmwareKey | None:
    """The comparison key of ``firmware`` as ``maker`` writes it; None for no firmware."""
    if firmware is None or not firmware.strip():
        return None
    text = _PREFIX.sub("", _spaced(firmware))
    built: date | None = None
    for entry in load_knowledge().firmware_dates:
        if entry.maker != maker:
            continue
        match = entry.pattern.search(text)
        if match is not None and (found := entry.build_date(text)) is not None:
            built = found
            text = text[: match.start()] + " " + text[match.end() :]
            break
    core = _LEADING_V.sub("", text.strip(_EDGES))
    return FirmwareKey(_DROPPED.sub("", core).casefold(), built)


def same_firmware(maker: str | None, a: str | None, b: str | None) -> bool:
    """True when ``a`` and ``b`` name the same build (None only equals None)."""
    ka, kb = firmware_key(maker, a), firmware_key(maker, b)
    if ka is None or kb is None:
        return ka is kb
    return ka.core == kb.core and (ka.built is None or kb.built is None or ka.built == kb.built)


def model_key(model: str | None) -> str | None:
    """The comparison key of a model number: case and spacing ignored; None for no model."""
    if model is None or not model.strip():
        return None
    return _SPACE.sub("", model).casefold()


def firmware_changed(maker: str | None, before: str | None, after: str | None) -> bool:
    """A real firmware change: both builds known and different. Unknown on one side is missing
    evidence (a source that cannot ask), not a change."""
    return before is not None and after is not None and not same_firmware(maker, before, after)


def model_changed(before: str | None, after: str | None) -> bool:
    """A real model change: both known and different once case and spacing are ignored."""
    ka, kb = model_key(before), model_key(after)
    return ka is not None and kb is not None and ka != kb

"""The literal prefilter never changes what matches: it only skips patterns that cannot."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coverwatch.identify import load_knowledge
from coverwatch.identify.matcher import LiteralIndex, Regex, required_literals

KNOWLEDGE = load_knowledge()


@dataclass(frozen=True)
class _P:
    pattern: Regex


@pytest.mark.parametrize(
    ("pattern", "literals"),
    [
        ("^App-webs/", {"app-webs/"}),
        ('realm="IP Camera\\(', {'realm="ip camera('}),
        ("^(App-webs/?|DNVRS-Webs)$", {"app-webs", "dnvrs-webs"}),
        # re's parser factors "N" out of NVR|Network: the prefix is put back on each branch
        ("(?<![a-z])(?:NVR|Network Video Recorder)(?![a-z])", {"nvr", "network video recorder"}),
        ("(?:abc)+x?", {"abc"}),
        ("^\\s*(?P<model>\\S.{0,127}?)\\s*$", None),  # nothing required: always run
        ("a|bcd", None),  # one branch has no literal long enough
        ("(?:xyz)?", None),  # optional: not required
    ],
)
def test_required_literals(pattern: str, literals: set[str] | None) -> None:
    found = required_literals(re.compile(pattern, re.IGNORECASE))
    assert (set(found) if found is not None else None) == literals


def _brute(patterns: list[_P], value: str) -> list[_P]:
    return [p for p in patterns if p.pattern.search(value)]


SIGNAL_PATTERNS = {
    signal: [_P(fp.pattern) for fp in KNOWLEDGE.for_signal(signal)]
    for signal in ("http.server", "http.title", "http.www_authenticate", "onvif.model")
}
INDEXES = {signal: LiteralIndex(patterns) for signal, patterns in SIGNAL_PATTERNS.items()}
#: Pieces of real strings the knowledge base cares about, to build near-miss values from.
PIECES = ["App-webs/", "Webs", "DNVRS", "realm=", '"IP Camera(', "NVR", "DS-2CD", "Camera", "ip"]


@settings(max_examples=300, deadline=None)
@given(
    signal=st.sampled_from(sorted(SIGNAL_PATTERNS)),
    parts=st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=6),
    upper=st.booleans(),
)
def test_prefilter_matches_exactly_what_every_pattern_matches(
    signal: str, parts: list[str], upper: bool
) -> None:
    value = "".join(parts)
    value = value.upper() if upper else value
    candidates = INDEXES[signal].candidates(value)
    assert [p for p in candidates if p.pattern.search(value)] == _brute(
        SIGNAL_PATTERNS[signal], value
    )


def test_knowledge_matches_agree_with_running_every_fingerprint() -> None:
    value = 'Digest realm="IP Camera(C2189)", nonce="abc"'
    found = {fp.id for fp, _ in KNOWLEDGE.matches("http.www_authenticate", value)}
    brute = {
        fp.id for fp in KNOWLEDGE.for_signal("http.www_authenticate") if fp.pattern.search(value)
    }
    assert found == brute
    assert found  # a Hikvision realm is known

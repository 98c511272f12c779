"""Issue #11: fuzzed Zeek TSV/JSON logs, nfdump CSV and pcap/pcapng captures.

Each example goes through the real reader behind ``traffic.ingest`` (``ingest._read``, the
boundary that turns a refused file into InputError) into real staged Parquet writers. No
exception other than InputError may escape, every example finishes within the deadline, and
every row handed to the store has sane times and counts.
"""

from __future__ import annotations

import io
import json
import math
import struct
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coverwatch.errors import InputError
from coverwatch.traffic.flows import NameMap
from coverwatch.traffic.ingest import _read
from coverwatch.traffic.model import MAX_COUNT, MIN_RECORD_TIME
from coverwatch.traffic.pcap import read_frames
from coverwatch.traffic.table import RowWriter, Staging
from tests.traffic.test_poison import NFDUMP_HEADER, conn_json, nfdump_line, pcapng, udp_frame

FUZZ = settings(
    max_examples=300,
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def store() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield folder


def run(store: str, fmt: str, content: bytes) -> dict[str, RowWriter]:
    """Read ``content`` as ``fmt``; returns the writers (never committed)."""
    staging = Staging(store)
    writers = {t: staging.writer(t, "fuzz") for t in ("flows", "dns", "portmaps")}
    try:
        _read("fuzz", fmt, io.BytesIO(content), writers, NameMap(), 300.0, 1000)
    except InputError as e:
        assert "\n" not in str(e)
    finally:
        staging.abort()
    return writers


def assert_sane(writers: dict[str, RowWriter]) -> None:
    """Whatever reached a writer has finite, in-range times and bounded counts."""
    latest = time.time() + 86_400
    flows = writers["flows"].columns
    for first, last in zip(flows[0], flows[1], strict=True):
        assert math.isfinite(first) and MIN_RECORD_TIME <= first <= latest
        assert math.isfinite(last) and MIN_RECORD_TIME <= last <= latest
    for column in flows[7:11]:
        assert all(0 <= n <= MAX_COUNT for n in column)
    for ts in writers["dns"].columns[0] + writers["portmaps"].columns[0]:
        assert math.isfinite(ts) and MIN_RECORD_TIME <= ts <= latest


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(1 << 70), max_value=1 << 70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["2026-01-05T09:00:00Z", "2026-02-30T00:00:00", "10.0.0.1", "::1", "nan"]),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_FIELDS = st.sampled_from(
    [
        *("ts", "id.orig_h", "id.resp_h", "id.orig_p", "id.resp_p", "duration"),
        *("orig_ip_bytes", "resp_ip_bytes", "orig_pkts", "resp_pkts", "proto", "query", "answers"),
    ]
)
#: Lines no record strategy makes: numbers beyond int()'s 4300 digits, deep nesting, NaN.
_JUNK = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            '{"ts": 1' + "0" * 5000 + "}",
            "[" * 5000,
            '{"ts": NaN, "id.orig_h": "10.0.0.1", "id.resp_h": "10.0.0.2"}',
            '{"ts": -Infinity}',
        ]
    ),
)


@FUZZ
@given(
    changes=st.lists(st.dictionaries(_FIELDS, _VALUES, max_size=4), min_size=1, max_size=6),
    junk=st.lists(_JUNK, max_size=3),
)
def test_fuzzed_zeek_json(store: str, changes: list[dict[str, Any]], junk: list[str]) -> None:
    lines = [json.dumps(conn_json(**change)) for change in changes] + junk
    assert_sane(run(store, "zeek-json", ("\n".join(lines) + "\n").encode()))


@FUZZ
@given(
    separator=st.sampled_from(["\\x09", "\\x", "\\u12", "", "\\x2c", "\\n", "|"]),
    header=st.lists(_FIELDS, min_size=1, max_size=8),
    rows=st.lists(st.lists(st.text(max_size=12), max_size=9), max_size=6),
)
def test_fuzzed_zeek_tsv(
    store: str, separator: str, header: list[str], rows: list[list[str]]
) -> None:
    text = f"#separator {separator}\n#path\tconn\n#fields\t" + "\t".join(header) + "\n"
    text += "".join("\t".join(row) + "\n" for row in rows)
    assert_sane(run(store, "zeek-tsv", text.encode("utf-8", "surrogatepass")))


_NF_CELLS = st.one_of(
    st.text(alphabet="0123456789.-: eEnaiKMGT", max_size=24),
    st.sampled_from(["nan", "inf", "-1", "1e300", "2026-01-05 09:00:00", "9999-12-31 23:59:59"]),
)


@FUZZ
@given(
    overrides=st.lists(
        st.dictionaries(
            st.sampled_from(["ts", "te", "sa", "da", "sp", "dp", "pr", "ipkt", "ibyt", "obyt"]),
            _NF_CELLS,
            max_size=4,
        ),
        max_size=6,
    ),
    tail=st.binary(max_size=80),
)
def test_fuzzed_nfdump_csv(store: str, overrides: list[dict[str, str]], tail: bytes) -> None:
    body = "".join(nfdump_line(**o) for o in overrides)
    assert_sane(run(store, "nfdump-csv", (NFDUMP_HEADER + body).encode() + tail))


def _pcap() -> bytes:
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    frame = udp_frame()
    record = struct.pack("<IIII", 1_767_603_600, 0, len(frame), len(frame)) + frame
    return header + record * 3


_SEEDS = [_pcap(), pcapng([(1_767_603_600 * 10**6, udp_frame())] * 3, 6)]


@FUZZ
@given(
    seed=st.sampled_from(_SEEDS),
    edits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=400), st.binary(min_size=1, max_size=8)),
        max_size=6,
    ),
    cut=st.integers(min_value=0, max_value=400),
)
def test_fuzzed_captures(store: str, seed: bytes, edits: list[tuple[int, bytes]], cut: int) -> None:
    data = bytearray(seed)
    for at, patch in edits:
        at %= len(data)
        data[at : at + len(patch)] = patch
    content = bytes(data[: len(data) - cut % len(data) // 4])
    assert_sane(run(store, "pcap", content))
    warnings: dict[str, int] = {}
    try:
        _, frames = read_frames("fuzz", io.BytesIO(content), warnings)
        for ts, _linktype, frame in frames:
            assert ts >= MIN_RECORD_TIME and len(frame) <= 262_144
    except InputError as e:
        assert "\n" not in str(e)


@FUZZ
@given(body=st.binary(max_size=600), magic=st.sampled_from([b"\xd4\xc3\xb2\xa1", b"\n\r\r\n"]))
def test_random_bytes_behind_a_capture_magic(store: str, body: bytes, magic: bytes) -> None:
    assert_sane(run(store, "pcap", magic + body))


def test_the_fuzz_seeds_are_good_captures(tmp_path: Path) -> None:
    """The seeds the mutations start from read cleanly (else the fuzzing proves little)."""
    for seed in _SEEDS:
        writers = run(str(tmp_path), "pcap", seed)
        assert writers["flows"].rows == 1

"""Flow logs to flow rows: Zeek conn.log/dns.log (TSV or JSON lines) and ``nfdump -o csv``.

- Zeek (https://docs.zeek.org/en/master/logs/conn.html, .../logs/dns.html): TSV logs start with
  ``#separator``, ``#set_separator``, ``#unset_field``, ``#path`` and ``#fields`` headers; JSON
  logs carry one object per line with the same field names. ``orig_ip_bytes`` and
  ``resp_ip_bytes`` (IP-level, like NetFlow) are used when present, else ``orig_bytes``.
- nfdump 1.6/1.7 ``-o csv`` (NetFlow v5/v9/IPFIX collected by nfcapd, or pcaps through
  nfpcapd): a header line ``ts,te,td,sa,da,sp,dp,pr,...,ipkt,ibyt,opkt,obyt,...`` then one line
  per unidirectional record, then a ``Summary`` block. NOTE: nfdump prints local time without
  a zone; coverwatch reads it as UTC, so run nfdump with ``TZ=UTC``. Each request record is
  joined with its reply into one bidirectional row (``netflow.FlowPairer``).

Lines are read with a length bound; a bad line is counted and skipped, never the whole file.
Zeek ``ts`` is epoch seconds or, from ``LogAscii::json_timestamps = JSON::TS_ISO8601``, an
ISO 8601 string (``2024-01-01T00:00:00.123456Z``; without a zone it is read as UTC), in JSON
and TSV logs alike; an ISO string that is no real time is ``bad_timestamp``. Each
record is checked before it is stored (issue #11): a time outside ``model.time_ok``'s range is
``bad_timestamp``; a negative, non-finite or absurd count or duration, a port outside 0-65535
or an end before the start is ``impossible_value``; an address that is not an IP address is
``bad_address``. Addresses are stored in their canonical text form.
"""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, BinaryIO

from coverwatch.traffic.flows import NameMap
from coverwatch.traffic.model import (
    MAX_COUNT,
    MAX_DURATION,
    MAX_FUTURE_SECONDS,
    IngestWarning,
    time_ok,
)
from coverwatch.traffic.netflow import FlowPairer, Record
from coverwatch.traffic.table import RowWriter

MAX_LINE = 1 << 20


class Rejected(Exception):
    """A record that parsed but holds a value that must not be stored (counted by reason)."""

    def __init__(self, reason: IngestWarning) -> None:
        super().__init__(reason.value)
        self.reason = reason


def lines(handle: BinaryIO, warnings: dict[str, int]) -> Iterator[str]:
    """Text lines (without line ends), each at most ``MAX_LINE`` bytes; longer ones skipped."""
    while True:
        raw = handle.readline(MAX_LINE + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE:
            _count(warnings, IngestWarning.MALFORMED_LINE)
            while raw and not raw.endswith(b"\n"):
                raw = handle.readline(MAX_LINE + 1)
            continue
        yield raw.decode("utf-8", "replace").rstrip("\r\n")


def _count(warnings: dict[str, int], reason: IngestWarning) -> None:
    warnings[reason.value] = warnings.get(reason.value, 0) + 1


class LogIngest:
    """Reads one Zeek or nfdump log into a store's flow and DNS tables."""

    def __init__(self, path: str, flows: RowWriter, dns: RowWriter, names: NameMap) -> None:
        self.path = path
        self.flows = flows
        self.dns = dns
        self.names = names
        self.warnings: dict[str, int] = {}
        self.records = 0
        self.latest = time.time() + MAX_FUTURE_SECONDS

    def zeek_tsv(self, handle: BinaryIO) -> None:
        """A Zeek TSV log (conn or dns, told apart by ``#path`` or by its fields)."""
        separator, set_separator, unset = "\t", ",", {"-", "(empty)"}
        fields: list[str] = []
        for line in lines(handle, self.warnings):
            if line.startswith("#"):
                key, _, value = line[1:].partition(
                    " " if line.startswith("#separator") else separator
                )
                if key == "separator":
                    separator = _separator(value, self.warnings)
                elif key == "set_separator":
                    set_separator = value or ","
                elif key in ("unset_field", "empty_field"):
                    unset.add(value)
                elif key == "fields":
                    fields = value.split(separator)
                continue
            if not line:
                continue
            values = line.split(separator)
            if not fields or len(values) != len(fields):
                _count(self.warnings, IngestWarning.MALFORMED_LINE)
                continue
            record: dict[str, Any] = {
                k: v for k, v in zip(fields, values, strict=True) if v not in unset
            }
            if isinstance(record.get("answers"), str):
                record["answers"] = record["answers"].split(set_separator)
            self._zeek_record(record)

    def zeek_json(self, handle: BinaryIO) -> None:
        """A Zeek JSON-lines log."""
        for line in lines(handle, self.warnings):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                # NOTE: ValueError, not only JSONDecodeError: an integer of more than 4300
                # digits raises plain ValueError (Python's int max_str_digits limit).
                record = None
            if not isinstance(record, dict):
                _count(self.warnings, IngestWarning.MALFORMED_LINE)
                continue
            self._zeek_record(record)

    def _zeek_record(self, record: dict[str, Any]) -> None:
        self.records += 1
        try:
            if "query" in record:
                self._zeek_dns(record)
            else:
                self._zeek_conn(record)
        except Rejected as e:
            _count(self.warnings, e.reason)
        except (KeyError, ValueError, TypeError, OverflowError):
            _count(self.warnings, IngestWarning.MALFORMED_LINE)

    def _time(self, ts: float) -> float:
        if not time_ok(ts, self.latest):
            raise Rejected(IngestWarning.BAD_TIMESTAMP)
        return ts

    def _zeek_conn(self, r: dict[str, Any]) -> None:
        first = self._time(_zeek_time(r["ts"]))
        duration = _number(r.get("duration") or 0.0)
        if not 0.0 <= duration <= MAX_DURATION:
            raise Rejected(IngestWarning.IMPOSSIBLE_VALUE)
        src, dst = _address(r["id.orig_h"]), _address(r["id.resp_h"])
        out_bytes = r.get("orig_ip_bytes", r.get("orig_bytes", 0))
        in_bytes = r.get("resp_ip_bytes", r.get("resp_bytes", 0))
        self.flows.add(
            (
                first,
                self._time(first + duration),
                str(r.get("proto", "")).lower()[:16],
                src,
                _port(r.get("id.orig_p")),
                dst,
                _port(r.get("id.resp_p")),
                _count_field(out_bytes),
                _count_field(r.get("orig_pkts", 0)),
                _count_field(in_bytes),
                _count_field(r.get("resp_pkts", 0)),
                self.names.label(dst, src),
                "zeek",
                self.path,
            )
        )

    def _zeek_dns(self, r: dict[str, Any]) -> None:
        answers = r.get("answers") or []
        if not isinstance(answers, list):
            raise ValueError("answers")
        name = str(r["query"]).lower().rstrip(".")[:253]
        ts = self._time(_zeek_time(r["ts"]))
        client = _address(r["id.orig_h"]) if r.get("id.orig_h") is not None else ""
        for answer in answers[:64]:
            text = str(answer)
            if _looks_like_address(text):
                try:
                    text = _address(text)
                except Rejected:
                    continue
                self.names.learn(text, name)
                self.dns.add((ts, client, name, text, self.path))

    def nfdump_csv(self, handle: BinaryIO) -> None:
        """An ``nfdump -o csv`` export; request and reply records become one row each pair."""
        pairer = FlowPairer(self._netflow_row)
        header: list[str] = []
        for line in lines(handle, self.warnings):
            if not header:
                header = line.split(",")
                if not {"ts", "te", "sa", "da", "sp", "dp", "pr", "ipkt", "ibyt"} <= set(header):
                    raise ValueError("not an nfdump csv header")
                continue
            if line.startswith("Summary") or line.startswith("No match"):
                break
            values = line.split(",")
            if len(values) != len(header):
                _count(self.warnings, IngestWarning.MALFORMED_LINE)
                continue
            self.records += 1
            try:
                pairer.add(self._netflow(dict(zip(header, values, strict=True))))
            except Rejected as e:
                _count(self.warnings, e.reason)
            except (KeyError, ValueError, OverflowError):
                _count(self.warnings, IngestWarning.MALFORMED_LINE)
        pairer.finish()

    def _netflow(self, r: dict[str, str]) -> Record:
        first = self._time(_nfdump_time(r["ts"]))
        last = self._time(_nfdump_time(r["te"]))
        if last < first:
            raise Rejected(IngestWarning.IMPOSSIBLE_VALUE)
        proto = r["pr"].strip().lower()
        return Record(
            first,
            last,
            {"ipv6-icmp": "ipv6-icmp", "icmp6": "ipv6-icmp"}.get(proto, proto)[:16],
            _address(r["sa"]),
            _port(r["sp"]),
            _address(r["da"]),
            _port(_first_int(r["dp"])),
            _count_field(r["ibyt"]),
            _count_field(r["ipkt"]),
            _count_field(r.get("obyt") or 0),
            _count_field(r.get("opkt") or 0),
        )

    def _netflow_row(self, f: Record) -> None:
        self.flows.add(
            (
                f.first,
                f.last,
                f.proto,
                f.src,
                f.src_port,
                f.dst,
                f.dst_port,
                f.bytes,
                f.packets,
                f.bytes_back,
                f.packets_back,
                self.names.label(f.dst, f.src),
                "netflow",
                self.path,
            )
        )


def _looks_like_address(text: str) -> bool:
    return (
        bool(text)
        and len(text) <= 45
        and (text.count(".") == 3 or ":" in text)
        and all(c in "0123456789abcdefABCDEF.:" for c in text)
    )


def _first_int(text: str) -> str:
    # nfdump prints ICMP destination "port" as type.code
    return text.strip().split(".")[0]


def _separator(value: str, warnings: dict[str, int]) -> str:
    """The field separator of a ``#separator \\x09`` header; tab when it is unreadable."""
    try:
        separator = value.encode("utf-8", "replace").decode("unicode_escape")
    except UnicodeDecodeError:
        _count(warnings, IngestWarning.MALFORMED_LINE)
        return "\t"
    return separator if separator and "\n" not in separator else "\t"


def _number(value: Any, reason: IngestWarning = IngestWarning.IMPOSSIBLE_VALUE) -> float:
    """A finite float from a JSON number or a numeric string (ValueError otherwise; a
    non-finite number is rejected with ``reason``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("not a number")
    number = float(value)
    if not math.isfinite(number):
        raise Rejected(reason)
    return number


def _zeek_time(value: Any) -> float:
    """Epoch seconds from a Zeek ``ts``: a number, or an ISO 8601 string (JSON::TS_ISO8601)."""
    if isinstance(value, str) and "T" in value:
        try:
            at = datetime.fromisoformat(value.strip()[:40])
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
            return at.timestamp()
        except (ValueError, OverflowError):
            # a time-shaped string that is no time ("2026-13-45T..."): its own reason
            raise Rejected(IngestWarning.BAD_TIMESTAMP) from None
    return _number(value, IngestWarning.BAD_TIMESTAMP)


def _address(value: Any) -> str:
    """The canonical text of an IP address field; ``bad_address`` when it is none."""
    text = value.strip() if isinstance(value, str) and len(value) <= 64 else ""
    canonical = _canonical(text)
    if canonical is None:
        raise Rejected(IngestWarning.BAD_ADDRESS)
    return canonical


@lru_cache(maxsize=1 << 16)
def _canonical(text: str) -> str | None:
    # NOTE: cached: flow logs repeat the same few thousand addresses millions of times, and
    # ipaddress parsing was a quarter of a NetFlow import's time.
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _port(value: Any) -> int:
    text = str(value).strip()
    if len(text) > 8:
        raise Rejected(IngestWarning.IMPOSSIBLE_VALUE)
    port = int(text or 0)
    if not 0 <= port < 65536:
        raise Rejected(IngestWarning.IMPOSSIBLE_VALUE)
    return port


def _count_field(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("not a count")
    text = str(value).strip()
    if len(text) > 32:
        raise Rejected(IngestWarning.IMPOSSIBLE_VALUE)
    # nfdump scales large numbers ("1.2 M") unless -N is given
    scale = {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}.get(text[-1:].upper())
    if scale:
        number = float(text[:-1].strip()) * scale
    else:
        number = float(int(text)) if text.isdigit() else float(text or 0)
    if not math.isfinite(number) or not 0 <= number <= MAX_COUNT:
        raise Rejected(IngestWarning.IMPOSSIBLE_VALUE)
    return int(number)


def _nfdump_time(text: str) -> float:
    """UTC epoch seconds of nfdump's ``YYYY-MM-DD HH:MM:SS[.fff]``; ValueError for anything else.

    NOTE: ``fromisoformat`` (C) rather than ``strptime`` (a third of the import's time); the
    shape check keeps it to nfdump's form, without the zones and bare dates ISO 8601 allows.
    """
    value = text.strip()
    if len(value) < 19 or value[10] != " " or value.count("-") != 2 or "+" in value:
        raise ValueError("not an nfdump time")
    return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()

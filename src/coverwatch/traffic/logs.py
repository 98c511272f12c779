"""Flow logs to flow rows: Zeek conn.log/dns.log (TSV or JSON lines) and ``nfdump -o csv``.

- Zeek (https://docs.zeek.org/en/master/logs/conn.html, .../logs/dns.html): TSV logs start with
  ``#separator``, ``#set_separator``, ``#unset_field``, ``#path`` and ``#fields`` headers; JSON
  logs carry one object per line with the same field names. ``orig_ip_bytes`` and
  ``resp_ip_bytes`` (IP-level, like NetFlow) are used when present, else ``orig_bytes``.
- nfdump 1.7 ``-o csv`` (NetFlow v5/v9/IPFIX collected by nfcapd, or pcaps through nfpcapd):
  a header line ``ts,te,td,sa,da,sp,dp,pr,...,ipkt,ibyt,opkt,obyt,...`` then one line per
  unidirectional record, then a ``Summary`` block. NOTE: nfdump prints local time without a
  zone; coverwatch reads it as UTC, so run nfdump with ``TZ=UTC``.

Lines are read with a length bound; a bad line is counted and skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from coverwatch.traffic.flows import NameMap
from coverwatch.traffic.model import IngestWarning
from coverwatch.traffic.table import RowWriter

MAX_LINE = 1 << 20


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
                    separator = value.encode().decode("unicode_escape") or "\t"
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
            except (json.JSONDecodeError, RecursionError):
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
        except (KeyError, ValueError, TypeError, OverflowError):
            _count(self.warnings, IngestWarning.MALFORMED_LINE)

    def _zeek_conn(self, r: dict[str, Any]) -> None:
        first = float(r["ts"])
        src, dst = str(r["id.orig_h"]), str(r["id.resp_h"])
        out_bytes = r.get("orig_ip_bytes", r.get("orig_bytes", 0))
        in_bytes = r.get("resp_ip_bytes", r.get("resp_bytes", 0))
        self.flows.add(
            (
                first,
                first + float(r.get("duration") or 0.0),
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
        for answer in answers[:64]:
            text = str(answer)
            if _looks_like_address(text):
                self.names.learn(text, name)
                self.dns.add((float(r["ts"]), str(r.get("id.orig_h", "")), name, text, self.path))

    def nfdump_csv(self, handle: BinaryIO) -> None:
        """An ``nfdump -o csv`` export."""
        header: list[str] = []
        for line in lines(handle, self.warnings):
            if not header:
                header = line.split(",")
                if not {"ts", "te", "sa", "da", "sp", "dp", "pr", "ipkt", "ibyt"} <= set(header):
                    raise ValueError("not an nfdump csv header")
                continue
            if line.startswith("Summary") or line.startswith("No matched"):
                break
            values = line.split(",")
            if len(values) != len(header):
                _count(self.warnings, IngestWarning.MALFORMED_LINE)
                continue
            self.records += 1
            try:
                self._netflow(dict(zip(header, values, strict=True)))
            except (KeyError, ValueError, OverflowError):
                _count(self.warnings, IngestWarning.MALFORMED_LINE)

    def _netflow(self, r: dict[str, str]) -> None:
        src, dst = r["sa"].strip(), r["da"].strip()
        proto = r["pr"].strip().lower()
        self.flows.add(
            (
                _nfdump_time(r["ts"]),
                _nfdump_time(r["te"]),
                {"ipv6-icmp": "ipv6-icmp", "icmp6": "ipv6-icmp"}.get(proto, proto)[:16],
                src,
                _port(r["sp"]),
                dst,
                _port(_first_int(r["dp"])),
                _count_field(r["ibyt"]),
                _count_field(r["ipkt"]),
                _count_field(r.get("obyt") or 0),
                _count_field(r.get("opkt") or 0),
                self.names.label(dst, src),
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


def _port(value: Any) -> int:
    port = int(str(value).strip() or 0)
    if not 0 <= port < 65536:
        raise ValueError("port out of range")
    return port


def _count_field(value: Any) -> int:
    text = str(value).strip()
    # nfdump scales large numbers ("1.2 M") unless -N is given
    scale = {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}.get(text[-1:].upper())
    number = int(float(text[:-1].strip()) * scale) if scale else int(float(text or 0))
    if number < 0 or number > 1 << 62:
        raise ValueError("count out of range")
    return number


def _nfdump_time(text: str) -> float:
    value = text.strip()
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in value else "%Y-%m-%d %H:%M:%S"
    return datetime.strptime(value, fmt).replace(tzinfo=UTC).timestamp()

"""Autonomous systems of endpoint operators (``knowledge/networks.yaml``) and prefix look-up.

A destination seen without a DNS name (NetFlow, or a device using a hard-coded address) can
still be placed: an address inside a network an operator announces belongs to that operator.
The table lists, per AS number, its holder (from the RIR's WHOIS record), the prefixes it
originates and where that list is published; ``endpoints.yaml`` entries name the ASes they run
on (``asns:``). NOTE: no maintained PyPI library maps addresses to ASes offline (pyasn and
ip2asn need a routing-table dump downloaded at run time; iptocc gives countries only), so the
table is small, cited and limited to the operators coverwatch names.

``PrefixIndex`` answers "which value does the most specific prefix holding this address
carry" with one dict look-up per distinct prefix length, not a scan of every prefix.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Generic, TypeVar

import yaml

from coverwatch.errors import KnowledgeError

_FILE = "networks.yaml"
_KEYS = {"asn", "holder", "prefixes", "source"}
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
V = TypeVar("V")


class PrefixIndex(Generic[V]):
    """Longest-prefix match of addresses against (network, value) pairs."""

    def __init__(self, pairs: list[tuple[Network, V]]) -> None:
        self.tables: dict[tuple[int, int], dict[int, V]] = {}
        for net, value in pairs:
            table = self.tables.setdefault((net.version, net.prefixlen), {})
            table.setdefault(int(net.network_address), value)
        # most specific first
        self.order = sorted(self.tables, key=lambda k: -k[1])

    def get(self, address: str) -> V | None:
        """The value of the most specific prefix holding ``address``, or None."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        bits = ip.max_prefixlen
        number = int(ip)
        for version, length in self.order:
            if version != ip.version:
                continue
            mask = ((1 << length) - 1) << (bits - length) if length else 0
            found = self.tables[(version, length)].get(number & mask)
            if found is not None:
                return found
        return None


@dataclass(frozen=True)
class AutonomousSystem:
    """One AS of the table."""

    asn: int
    """Its number."""
    holder: str
    """The organisation the RIR registers it to."""
    prefixes: tuple[Network, ...]
    """Prefixes it originates, as published."""
    source: str
    """Where the holder and the prefixes are published."""


def _fail(where: str, message: str) -> KnowledgeError:
    return KnowledgeError(f"knowledge {_FILE}: {where}: {message}")


def _entry(raw: Any, index: int) -> AutonomousSystem:
    where = f"networks[{index}]"
    if not isinstance(raw, dict):
        raise _fail(where, "must be a mapping")
    asn = raw.get("asn")
    if isinstance(asn, bool) or not isinstance(asn, int) or not 0 < asn < 1 << 32:
        raise _fail(f"{where}.asn", f"{asn!r} is not an AS number (1-4294967295)")
    where = f"network AS{asn}"
    unknown = set(raw) - _KEYS
    if unknown:
        raise _fail(where, f"unknown field(s) {', '.join(sorted(unknown))}")
    for key in ("holder", "source"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise _fail(f"{where}.{key}", "is required (non-empty text)")
    prefixes = raw.get("prefixes")
    if not isinstance(prefixes, list) or not prefixes:
        raise _fail(f"{where}.prefixes", "must be a non-empty list of CIDRs")
    try:
        parsed = tuple(ipaddress.ip_network(str(p).strip()) for p in prefixes)
    except ValueError as e:
        raise _fail(f"{where}.prefixes", str(e)) from e
    return AutonomousSystem(asn, raw["holder"].strip(), parsed, raw["source"].strip())


def dated_list(text: str, key: str, fail: Callable[[str, str], KnowledgeError]) -> list[Any]:
    """The top-level ``key`` list of a traffic knowledge document (safe YAML, with the date it
    was last checked in ``updated``); ``fail(where, message)`` makes the error."""
    try:
        document = yaml.load(text, Loader=_SafeLoader)
    except yaml.YAMLError as e:
        raise fail("", f"not valid YAML: {e}") from e
    if not isinstance(document, dict) or not isinstance(document.get(key), list):
        raise fail("", f"needs a top-level '{key}' list")
    if "updated" not in document:
        raise fail("updated", "is required (the date the file was last checked)")
    return list(document[key])


def parse_networks(text: str) -> dict[int, AutonomousSystem]:
    """Validate a networks document: AS number -> entry."""
    table: dict[int, AutonomousSystem] = {}
    for i, raw in enumerate(dated_list(text, "networks", _fail)):
        entry = _entry(raw, i)
        if entry.asn in table:
            raise _fail(f"network AS{entry.asn}", "duplicate asn")
        table[entry.asn] = entry
    return table


@cache
def load_networks() -> dict[int, AutonomousSystem]:
    """The shipped AS table (validated once per process)."""
    text = resources.files("coverwatch").joinpath("knowledge", _FILE).read_text("utf-8")
    return parse_networks(text)

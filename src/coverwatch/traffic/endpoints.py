"""Known internet endpoints (``knowledge/endpoints.yaml``): loading, validation and matching.

Every entry carries its public source; a bad entry stops loading with file, entry and field.
A destination matches by the DNS name that resolved to it (exact name first, then the longest
suffix), else by address range (the most specific one), else by the autonomous system its address
lies in (an entry's ``asns``, resolved through ``knowledge/networks.yaml``: the fallback for flows
without DNS, such as NetFlow), else, weakly, by the entry's service port alone.

``endpoint_for_name(name)`` answers the identify engine's question about a ``dns.query`` or
``tls.sni`` value (which endpoint, of which category, run by whom). This module needs only
PyYAML: no DuckDB, pyarrow or dpkt, and nothing of ``coverwatch.identify`` (which may import it).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from coverwatch.errors import KnowledgeError
from coverwatch.traffic.model import EndpointCategory, EndpointMatch, MatchKind
from coverwatch.traffic.networks import AutonomousSystem, PrefixIndex, dated_list, load_networks

_FILE = "endpoints.yaml"
_KEYS = {"id", "category", "operator", "names", "suffixes", "addresses", "asns", "ports", "source"}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Endpoint:
    """One known endpoint entry."""

    id: str
    category: EndpointCategory
    operator: str
    names: frozenset[str]
    suffixes: tuple[str, ...]
    addresses: tuple[Network, ...]
    ports: frozenset[str]
    source: str
    asns: tuple[int, ...] = ()

    def as_match(self, how: MatchKind) -> EndpointMatch:
        """The match record for a destination."""
        return EndpointMatch(self.id, self.category, self.operator, how, self.source)


class EndpointBook:
    """All endpoint entries, indexed for matching."""

    def __init__(
        self, endpoints: list[Endpoint], networks: dict[int, AutonomousSystem] | None = None
    ) -> None:
        self.endpoints = tuple(endpoints)
        self.by_address = PrefixIndex([(net, e) for e in endpoints for net in e.addresses])
        known = networks or {}
        self.by_asn = PrefixIndex(
            [
                (net, (e, known[asn]))
                for e in endpoints
                for asn in e.asns
                if asn in known
                for net in known[asn].prefixes
            ]
        )
        self.by_name = {n: e for e in endpoints for n in e.names}
        self.by_suffix = sorted(
            ((s, e) for e in endpoints for s in e.suffixes), key=lambda p: -len(p[0])
        )
        self.by_port = {p: e for e in endpoints for p in e.ports}
        self.suffix_map: dict[str, Endpoint] = {}
        for suffix, entry in self.by_suffix:
            self.suffix_map.setdefault(suffix, entry)

    def by_dns_name(self, name: str) -> Endpoint | None:
        """The entry a DNS name belongs to (exact name, else the longest suffix), or None."""
        folded = name.strip().lower().rstrip(".")
        if not folded:
            return None
        exact = self.by_name.get(folded) or self.suffix_map.get(folded)
        if exact is not None:
            return exact
        # NOTE: walk the name's own suffixes, longest first: one dict look-up per label.
        at = folded.find(".")
        while at >= 0:
            entry = self.suffix_map.get(folded[at + 1 :])
            if entry is not None:
                return entry
            at = folded.find(".", at + 1)
        return None

    def match(self, address: str, name: str | None, proto: str, port: int) -> EndpointMatch | None:
        """The endpoint a destination is, or None."""
        if name:
            named = self.by_dns_name(name)
            if named is not None:
                return named.as_match(MatchKind.DNS_NAME)
        entry = self.by_address.get(address)
        if entry is not None:
            return entry.as_match(MatchKind.ADDRESS)
        network = self.by_asn.get(address)
        if network is not None:
            entry, system = network
            return EndpointMatch(
                entry.id,
                entry.category,
                entry.operator,
                MatchKind.ASN,
                f"address in AS{system.asn} ({system.holder}): {system.source}",
            )
        by_port = self.by_port.get(f"{proto}/{port}")
        return by_port.as_match(MatchKind.PORT) if by_port else None


def _fail(where: str, message: str) -> KnowledgeError:
    return KnowledgeError(f"knowledge {_FILE}: {where}: {message}")


def _strings(raw: dict[str, Any], key: str, where: str) -> list[str]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(f"{where}.{key}", "must be a list of non-empty strings")
    return [v.strip().lower().rstrip(".") for v in value]


def parse_entry(raw: Any, index: int) -> Endpoint:
    """One validated entry (``index`` names it in errors until its id is known)."""
    where = f"endpoints[{index}]"
    if not isinstance(raw, dict):
        raise _fail(where, "must be a mapping")
    if isinstance(raw.get("id"), str):
        where = f"endpoint {raw['id']!r}"
    unknown = set(raw) - _KEYS
    if unknown:
        raise _fail(where, f"unknown field(s) {', '.join(sorted(unknown))}")
    for key in ("id", "operator", "source"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise _fail(f"{where}.{key}", "is required (non-empty text)")
    try:
        category = EndpointCategory(raw.get("category"))
    except ValueError as e:
        allowed = "|".join(c.value for c in EndpointCategory)
        raise _fail(f"{where}.category", f"{raw.get('category')!r} is not {allowed}") from e
    try:
        addresses = tuple(ipaddress.ip_network(a) for a in _strings(raw, "addresses", where))
    except ValueError as e:
        raise _fail(f"{where}.addresses", str(e)) from e
    ports = _strings(raw, "ports", where)
    for port in ports:
        proto, _, number = port.partition("/")
        if proto not in ("tcp", "udp") or not number.isdigit() or not 0 < int(number) < 65536:
            raise _fail(f"{where}.ports", f"{port!r} is not tcp/N or udp/N")
    asns = raw.get("asns") or []
    if not isinstance(asns, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and 0 < n < 1 << 32 for n in asns
    ):
        raise _fail(f"{where}.asns", "must be a list of AS numbers")
    names, suffixes = _strings(raw, "names", where), _strings(raw, "suffixes", where)
    if not (names or suffixes or addresses or asns):
        raise _fail(where, "needs names, suffixes, addresses or asns")
    return Endpoint(
        raw["id"],
        category,
        raw["operator"].strip(),
        frozenset(names),
        tuple(suffixes),
        addresses,
        frozenset(ports),
        raw["source"].strip(),
        tuple(asns),
    )


def parse_book(text: str, networks: dict[int, AutonomousSystem] | None = None) -> EndpointBook:
    """Validate an endpoints document; the ``asns`` it names must be in ``networks`` (by
    default the shipped ``networks.yaml``)."""
    networks = load_networks() if networks is None else networks
    raws = dated_list(text, "endpoints", _fail)
    entries = [parse_entry(raw, i) for i, raw in enumerate(raws)]
    seen: set[str] = set()
    claimed: dict[str, str] = {}
    for entry in entries:
        if entry.id in seen:
            raise _fail(f"endpoint {entry.id!r}", "duplicate id")
        seen.add(entry.id)
        claims = sorted(entry.names) + [f"*.{s}" for s in entry.suffixes] + sorted(entry.ports)
        claims += [f"AS{n}" for n in entry.asns]
        for n in entry.asns:
            if n not in networks:
                raise _fail(f"endpoint {entry.id!r}.asns", f"AS{n} is not in networks.yaml")
        for name in claims:
            if name in claimed:
                raise _fail(f"endpoint {entry.id!r}", f"{name!r} is already in {claimed[name]!r}")
            claimed[name] = entry.id
    return EndpointBook(entries, networks)


@cache
def load_endpoints() -> EndpointBook:
    """The shipped endpoint book (validated once per process)."""
    text = resources.files("coverwatch").joinpath("knowledge", _FILE).read_text("utf-8")
    return parse_book(text)


def endpoint_for_name(name: str) -> Endpoint | None:
    """The shipped entry a DNS name (a ``dns.query`` or ``tls.sni`` value) belongs to: its
    ``id``, ``category`` and ``operator`` (a maker name for vendor endpoints), or None."""
    return load_endpoints().by_dns_name(name)


#: Categories whose operator is the maker of the devices using them. Time servers and public
#: resolvers are used by everyone; a vendor's web site (``update``) is also browsed by the people
#: who administer its devices, so it says little about the host that looked it up.
MAKER_CATEGORIES = frozenset(
    {EndpointCategory.VENDOR_CLOUD, EndpointCategory.P2P_RELAY, EndpointCategory.DDNS}
)


def maker_endpoint_for_name(name: str) -> Endpoint | None:
    """Like ``endpoint_for_name``, but only an entry whose category makes a lookup evidence of
    the operator's devices (``MAKER_CATEGORIES``), else None."""
    entry = endpoint_for_name(name)
    return entry if entry is not None and entry.category in MAKER_CATEGORIES else None

"""Address classification for the analyses: internal ranges, zones and offline country.

Classification runs in Python over the *distinct* addresses of a query (few, compared with
flows) and is joined back in DuckDB. Country comes from ``iptocc``, whose registry data ships
inside the package: nothing is looked up over the network.
"""

from __future__ import annotations

import ipaddress

import iptocc

from coverwatch.errors import InputError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Never "outside": multicast, broadcast, link-local, loopback and unspecified addresses.
LOCAL_ONLY = tuple(
    ipaddress.ip_network(n)
    for n in (
        "224.0.0.0/4",
        "255.255.255.255/32",
        "169.254.0.0/16",
        "127.0.0.0/8",
        "0.0.0.0/8",
        "ff00::/8",
        "fe80::/10",
        "::1/128",
        "::/128",
    )
)


def networks(cidrs: list[str], what: str) -> list[Network]:
    """Parse CIDRs; InputError names the bad one."""
    parsed = []
    for cidr in cidrs:
        try:
            parsed.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError as e:
            raise InputError(f"{what}: {cidr!r} is not an address or CIDR") from e
    return parsed


def external(addresses: list[str], internal: list[Network]) -> list[str]:
    """The addresses outside every internal range and every local-only range."""
    ranges = [*internal, *LOCAL_ONLY]
    outside = []
    for text in addresses:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            continue
        if not any(ip.version == net.version and ip in net for net in ranges):
            outside.append(text)
    return outside


def countries(addresses: list[str]) -> list[str | None]:
    """ISO country codes from the offline registry data (None when unassigned or reserved)."""
    if not addresses:
        return []
    return list(iptocc.country_code(addresses))


def zone_of(addresses: list[str], zones: list[tuple[str, list[Network]]]) -> list[str | None]:
    """The zone of each address: the one with the most specific matching range."""
    result: list[str | None] = []
    for text in addresses:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            result.append(None)
            continue
        best: tuple[int, str] | None = None
        for name, nets in zones:
            for net in nets:
                if (
                    ip.version == net.version
                    and ip in net
                    and (best is None or net.prefixlen > best[0])
                ):
                    best = (net.prefixlen, name)
        result.append(best[1] if best else None)
    return result

"""Which device is this? The one home of identity resolution.

A device is one inventory record, however many sources, runs and addresses saw it. It is
recognised by the strongest identifier at hand, in this order:

1. its **serial number** with its maker (the device's own statement: ISAPI, ONVIF, SADP, DHIP,
   UPnP, or the organisation's register), wherever it answers from within its site;
2. its **MAC address** within its site (a site is one layer-2 view: a capture, an ARP table);
3. its **address** within its site, unless the device now there states another MAC or serial.

Within one run, the addresses that share a serial or a MAC are one device that moved (a DHCP
renewal during a capture). A MAC claimed by more than ``MAX_ADDRESSES_PER_MAC`` addresses in one
run is a router's or a proxy's, not an identity, and is ignored for it.

Contradictions are reported, never silently merged: one serial on two sites stays two devices;
a serial at an address where another serial was seen is another device; a serial whose maker
differs from the recorded one is another device.
"""

from __future__ import annotations

import re
from bisect import insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from coverwatch.models import Observation, ObsStatus

__all__ = [
    "MAX_ADDRESSES_PER_MAC",
    "Claim",
    "Identity",
    "IdentityIndex",
    "group_hosts",
    "mac_of",
    "normal_mac",
    "normal_serial",
    "normalise_mac",
    "serial_of",
]

#: More addresses than this behind one MAC in one run: a router, not a device that moved.
MAX_ADDRESSES_PER_MAC = 4

_COMMON_MAC = re.compile(r"[0-9a-f]{2}(?:([:-])[0-9a-f]{2})(?:\1[0-9a-f]{2}){4}", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_PLACEHOLDER_SERIALS = frozenset(
    {"UNKNOWN", "NONE", "NULL", "N/A", "NA", "DEFAULT", "SERIAL", "SERIALNUMBER", "TBD", "-"}
)


def normalise_mac(text: str) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` from common MAC spellings, or None when it is not a MAC."""
    if _COMMON_MAC.fullmatch(text):  # the usual spellings, without netaddr's parser
        return text.lower().replace("-", ":")
    from netaddr import EUI, AddrFormatError  # NOTE: only for the rare spellings

    try:
        return str(EUI(_SPACES.sub("", text))).replace("-", ":").lower()
    except (AddrFormatError, ValueError, TypeError):
        return None


@lru_cache(maxsize=1 << 16)  # a run asks for each of its MACs at every stage
def normal_mac(value: str) -> str | None:
    """A MAC that identifies one device, as ``normalise_mac`` spells it; None for anything
    else, and for the all-zero, broadcast and multicast addresses (never one device's)."""
    mac = normalise_mac(value)
    if mac is None or mac in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff") or int(mac[1], 16) & 1:
        return None
    return mac


def normal_serial(value: str) -> str | None:
    """A serial number as compared: upper case, no spaces; None for placeholders ("unknown",
    "000000", one repeated character, fewer than 4 characters)."""
    serial = _SPACES.sub("", value).upper()
    if len(serial) < 4 or serial in _PLACEHOLDER_SERIALS or len(set(serial)) == 1:
        return None
    return serial[:128]


def _is_mac_signal(signal: str) -> bool:
    return signal == "mac" or signal.endswith(".mac")


def _is_serial_signal(signal: str) -> bool:
    return signal.endswith(".serial")


def mac_of(observations: Iterable[Observation]) -> str | None:
    """The MAC address the observations report for their device (the latest stated)."""
    found = None
    for o in observations:
        if o.status is ObsStatus.OK and _is_mac_signal(o.signal):
            found = normal_mac(o.value) or found
    return found


def macs_of(observations: Iterable[Observation]) -> set[str]:
    """Every MAC address the observations report for their device."""
    return {
        mac
        for o in observations
        if o.status is ObsStatus.OK and _is_mac_signal(o.signal)
        for mac in (normal_mac(o.value),)
        if mac
    }


def serial_of(observations: Iterable[Observation]) -> str | None:
    """The serial number the observations state for their device (the latest stated)."""
    found = None
    for o in observations:
        if o.status is ObsStatus.OK and _is_serial_signal(o.signal):
            found = normal_serial(o.value) or found
    return found


def group_hosts(found: Mapping[str, list[Observation]]) -> list[list[str]]:
    """The addresses of one run that are one device (sharing a serial, or a MAC that at most
    ``MAX_ADDRESSES_PER_MAC`` addresses claim), each group ordered with its latest-seen address
    last; every address is in exactly one group."""
    parent = {ip: ip for ip in found}

    def root(ip: str) -> str:
        while parent[ip] != ip:
            parent[ip] = parent[parent[ip]]
            ip = parent[ip]
        return ip

    by_key: dict[str, list[str]] = {}
    for ip, observations in found.items():
        serial = serial_of(observations)
        if serial:
            by_key.setdefault("serial:" + serial, []).append(ip)
        for mac in macs_of(observations):
            by_key.setdefault("mac:" + mac, []).append(ip)
    for key, ips in by_key.items():
        if len(ips) < 2 or (key.startswith("mac:") and len(ips) > MAX_ADDRESSES_PER_MAC):
            continue
        for ip in ips[1:]:
            parent[root(ip)] = root(ips[0])
    groups: dict[str, list[str]] = {}
    for ip in found:
        groups.setdefault(root(ip), []).append(ip)
    return [sorted(ips, key=lambda ip: _latest(found[ip])) for ips in groups.values()]


def _latest(observations: list[Observation]) -> float:
    times = [o.observed_at.timestamp() for o in observations if o.observed_at is not None]
    return max(times, default=0.0)


@dataclass(frozen=True, slots=True)
class Identity:
    """What the inventory knows of one device's identity."""

    id: int
    site: str
    ip: str
    """Its current address."""
    mac: str | None
    serial: str | None
    maker: str | None
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class Claim:
    """Who one device of a run says it is."""

    ip: str
    mac: str | None = None
    serial: str | None = None
    maker: str | None = None
    """The maker its attribution names; None while not yet attributed (then not compared)."""


def _same_maker(a: str | None, b: str | None) -> bool:
    return a is None or b is None or a.casefold() == b.casefold()


def _recency(k: Identity) -> tuple[bool, datetime | int, int]:
    """Sorts devices by when they were last seen (never first; ties by record id)."""
    return (k.last_seen is not None, k.last_seen or 0, k.id)


def _take(slots: dict[tuple[str, str], Identity], key: tuple[str, str], k: Identity) -> None:
    holder = slots.get(key)
    if holder is None or _recency(k) >= _recency(holder):
        slots[key] = k


class IdentityIndex:
    """The inventory's identities, indexed for matching a run's devices against them."""

    def __init__(self, known: Iterable[Identity] = ()) -> None:
        """Index ``known`` devices, in any order: of the devices holding an address or a MAC,
        the latest seen is the one found there."""
        self._by_id: dict[int, Identity] = {}
        self._serial: dict[str, list[Identity]] = {}
        self._mac: dict[tuple[str, str], Identity] = {}
        self._ip: dict[tuple[str, str], Identity] = {}
        for k in known:
            self.add(k)

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._by_id

    def get(self, device_id: int) -> Identity | None:
        """The indexed identity of a device, if indexed."""
        return self._by_id.get(device_id)

    def add(self, k: Identity) -> None:
        """Index a device, or re-index one whose identifiers changed (it leaves its old address
        and MAC); it takes its address and MAC unless a device seen later holds them."""
        old = self._by_id.get(k.id)
        if old is not None:
            if self._ip.get((old.site, old.ip)) is old:
                del self._ip[(old.site, old.ip)]
            if old.mac and self._mac.get((old.site, old.mac)) is old:
                del self._mac[(old.site, old.mac)]
            if old.serial:
                self._serial[old.serial] = [i for i in self._serial[old.serial] if i is not old]
        self._by_id[k.id] = k
        if k.serial:
            insort(self._serial.setdefault(k.serial, []), k, key=_recency)
        if k.mac:
            _take(self._mac, (k.site, k.mac), k)
        _take(self._ip, (k.site, k.ip), k)

    def match(self, site: str, claims: list[Claim]) -> tuple[list[int | None], list[str]]:
        """Per claim, the id of the known device it is (None: a new device), and the
        contradictions met on the way, one sentence each."""
        ids: list[int | None] = [None] * len(claims)
        conflicts: list[str] = []
        taken: set[int] = set()
        # Strong identifiers first, so that an address match never takes a device that a
        # serial or a MAC places elsewhere in this run.
        for index, claim in enumerate(claims):
            device = self._strong(site, claim, conflicts)
            if device is not None and device.id not in taken:
                ids[index] = device.id
                taken.add(device.id)
        for index, claim in enumerate(claims):
            if ids[index] is not None:
                continue
            device = self._ip.get((site, claim.ip))
            if device is None or device.id in taken:
                continue
            if claim.mac and device.mac and claim.mac != device.mac:
                continue  # the address went to another device (DHCP): not a contradiction
            if claim.serial and device.serial and claim.serial != device.serial:
                conflicts.append(
                    f"{claim.ip} (site {site}) states serial {claim.serial} where device "
                    f"{device.id} stated {device.serial}: recorded as another device"
                )
                continue
            if not _same_maker(claim.maker, device.maker) and (claim.serial or claim.mac):
                continue  # another maker's device with its own identifiers took the address
            ids[index] = device.id
            taken.add(device.id)
        return ids, conflicts

    def _strong(self, site: str, claim: Claim, conflicts: list[str]) -> Identity | None:
        if claim.serial:
            same = [k for k in self._serial.get(claim.serial, ()) if k.site == site]
            elsewhere = sorted(
                {k.site for k in self._serial.get(claim.serial, ()) if k.site != site}
            )
            if elsewhere:
                conflicts.append(
                    f"serial {claim.serial} ({claim.ip}, site {site}) is also recorded at site "
                    f"{', '.join(elsewhere)}: kept as separate devices"
                )
            for device in reversed(same):  # latest seen first
                if _same_maker(claim.maker, device.maker):
                    return device
                conflicts.append(
                    f"serial {claim.serial} ({claim.ip}, site {site}) was recorded for a "
                    f"{device.maker} device, now a {claim.maker} one: recorded as another device"
                )
        by_mac = self._mac.get((site, claim.mac)) if claim.mac else None
        if by_mac is not None and not (
            claim.serial and by_mac.serial and claim.serial != by_mac.serial
        ):
            return by_mac
        return None

"""A lab site: which emulated device sits at which loopback address, and the ground truth."""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from coverwatch.errors import LabError

# NOTE: profiles (YAML, the knowledge base) load only when a site is built, so the CLI, which
# reads this module's defaults for its options, starts without them.
if TYPE_CHECKING:
    from coverwatch.lab.profiles import Profile

DEFAULT_BASE = "127.31.0.0"
DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "coverwatch-lab"
_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


@dataclass(frozen=True)
class LabHost:
    """One emulated device: a profile bound to an address, with its own serial and MAC."""

    ip: str
    profile: Profile
    serial: str
    mac: str

    def variables(self) -> dict[str, str]:
        """Values substituted into the profile's strings as ``${name}``."""
        return {
            **self.profile.identity,
            "ip": self.ip,
            "serial": self.serial,
            "mac": self.mac,
            "mac_plain": self.mac.replace(":", "").upper(),
            "mac_hex": self.mac.replace(":", ""),
            "model": self.profile.truth.get("model") or "",
        }

    def truth(self) -> dict[str, object]:
        """This host's entry in the ``--truth`` file."""
        return {
            "profile": self.profile.name,
            **{k: self.profile.truth.get(k) for k in ("maker", "brand", "model", "device_type")},
            "ports": list(self.profile.ports),
            "mac": self.mac,
            "serial": self.serial,
            "firmware": self.profile.identity.get("firmware"),
        }


def lab_addresses(count: int, base: str = DEFAULT_BASE) -> list[str]:
    """``count`` loopback addresses after ``base``, skipping .0 and .255 like a real subnet plan."""
    try:
        start = ipaddress.IPv4Address(base)
    except ValueError as e:
        raise LabError(f"lab base {base!r} is not an IPv4 address") from e
    addresses: list[str] = []
    value = int(start) + 1
    while len(addresses) < count:
        address = ipaddress.IPv4Address(value)
        if address not in _LOOPBACK:
            raise LabError(f"lab would leave 127.0.0.0/8 at {address}: lower --hosts or --base")
        if value & 0xFF not in (0, 255):
            addresses.append(str(address))
        value += 1
    return addresses


def build_site(
    hosts: int,
    seed: int,
    base: str = DEFAULT_BASE,
    only: list[str] | None = None,
    hostile: bool = False,
) -> list[LabHost]:
    """Place ``hosts`` devices: every profile at least once (when there is room), the rest by a
    seeded weighted choice, in a seeded order. The same arguments give the same site. With
    ``hostile``, the misbehaving profiles join the mix."""
    if hosts < 1:
        raise LabError("a lab needs at least one host")
    from coverwatch.lab.profiles import load_profiles

    profiles = load_profiles(hostile)
    if only:
        unknown = sorted(set(only) - set(profiles))
        if unknown:
            raise LabError(f"unknown lab profile(s): {', '.join(unknown)}")
        profiles = {name: profiles[name] for name in only}
    rng = random.Random(seed)
    names = sorted(profiles)
    chosen = names[:hosts] + rng.choices(
        names, weights=[profiles[n].weight for n in names], k=max(0, hosts - len(names))
    )
    rng.shuffle(chosen)
    site = []
    for ip, name in zip(lab_addresses(hosts, base), chosen, strict=True):
        profile = profiles[name]
        serial = profile.identity.get("serial_prefix", name.upper()) + f"{rng.randrange(10**8):08d}"
        oui = profile.identity.get("mac_oui", "02:00:00")
        mac = oui.lower() + "".join(f":{rng.randrange(256):02x}" for _ in range(3))
        site.append(LabHost(ip, profile, serial, mac))
    return site

"""Scan targets: addresses, CIDRs, ranges, hostnames and @files, expanded to host addresses.

The expanded list *is* the declared scope: nothing outside it is ever contacted.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Iterator

from coverwatch.errors import TargetError

#: The camera/NVR port set: web, RTSP, vendor SDKs (Hikvision 8000, Dahua 37777, Xiongmai
#: 34567), ONVIF on Tapo (2020) and Xiongmai (8899), and remote shells.
DEFAULT_PORTS = (21, 22, 23, 80, 443, 554, 2020, 8000, 8080, 8443, 8554, 8899, 34567, 37777)

#: Refuse to expand more hosts than this unless the caller raises the limit.
DEFAULT_MAX_HOSTS = 65_536

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _expand_range(text: str) -> Iterator[IPAddress]:
    """``127.31.0.1-200`` or ``127.31.0.1-127.31.0.200``."""
    first_text, _, last_text = text.partition("-")
    first = ipaddress.ip_address(first_text.strip())
    last_text = last_text.strip()
    if "." in last_text or ":" in last_text:
        last = ipaddress.ip_address(last_text)
    elif isinstance(first, ipaddress.IPv4Address) and last_text.isdigit():
        octets = str(first).split(".")
        last = ipaddress.ip_address(".".join([*octets[:3], last_text]))
    else:
        raise ValueError(f"bad range end {last_text!r}")
    if last.version != first.version or int(last) < int(first):
        raise ValueError("range end is before its start")
    for value in range(int(first), int(last) + 1):
        yield ipaddress.ip_address(value)


def _expand_one(target: str) -> Iterator[IPAddress]:
    """Expand one target token; raises ValueError or OSError on bad syntax / unknown names."""
    if "/" in target:
        net = ipaddress.ip_network(target, strict=False)
        if net.num_addresses <= 2:
            yield from net
        else:
            yield from net.hosts()
        return
    first, dash, _ = target.partition("-")
    if dash and _is_address(first):
        yield from _expand_range(target)
        return
    try:
        yield ipaddress.ip_address(target)
        return
    except ValueError:
        pass
    if not _looks_like_hostname(target):
        raise ValueError("not an address, CIDR, range or hostname")
    infos = socket.getaddrinfo(target, None, type=socket.SOCK_STREAM)
    seen: set[str] = set()
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.add(address)
            yield ipaddress.ip_address(address)


def ip_key(ip: str) -> tuple[int, int, str]:
    """Sort key for addresses: IPv4 before IPv6, numerically; anything unparsable last."""
    # NOTE: reports sort every device and finding by address; the C parser is ten times
    # faster than ipaddress, which still reads what it does not (IPv6 scope ids).
    for family, version in _FAMILIES:
        try:
            return (version, int.from_bytes(socket.inet_pton(family, ip), "big"), "")
        except (OSError, ValueError):
            pass
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return (9, 0, ip)
    return (address.version, int(address), "")


_FAMILIES = ((socket.AF_INET, 4), (socket.AF_INET6, 6))


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    return True


def _looks_like_hostname(text: str) -> bool:
    labels = text.rstrip(".").split(".")
    return (
        all(
            0 < len(label) <= 63 and label.replace("-", "").replace("_", "").isalnum()
            for label in labels
        )
        and not text.replace(".", "").isdigit()
    )


#: A target file larger than this is refused (a /16 written one address a line is ~1 MiB).
MAX_TARGET_FILE = 8 * 1024 * 1024


def _read_target_file(path: str) -> list[str]:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_TARGET_FILE + 1)  # bounded: @/dev/zero must not fill memory
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise TargetError(
            f"cannot read target file {path}: {getattr(e, 'strerror', None) or e}"
        ) from e
    if len(data) > MAX_TARGET_FILE:
        raise TargetError(f"target file {path}: larger than {MAX_TARGET_FILE // 2**20} MiB")
    if "\x00" in text:
        raise TargetError(f"target file {path}: not a text file (contains NUL bytes)")
    tokens: list[str] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        tokens.extend(line.replace(",", " ").split())
    return tokens


def expand_targets(targets: Iterable[str], max_hosts: int = DEFAULT_MAX_HOSTS) -> list[str]:
    """Expand target tokens to a de-duplicated, ordered list of addresses.

    Raises TargetError naming the bad token, or when the scope exceeds ``max_hosts``.
    """
    result: dict[str, None] = {}
    queue = list(targets)
    for token in queue:
        token = token.strip()
        if not token:
            continue
        if token.startswith("@"):
            for inner in _read_target_file(token[1:]):
                if inner.startswith("@"):
                    raise TargetError(f"{token[1:]}: nested @file {inner!r} is not allowed")
                queue.append(inner)
            continue
        try:
            for address in _expand_one(token):
                result[str(address)] = None
                if len(result) > max_hosts:
                    raise TargetError(
                        f"targets expand to more than {max_hosts} hosts; "
                        "narrow them or raise --max-hosts"
                    )
        except socket.gaierror as e:
            raise TargetError(f"target {token!r}: cannot resolve host name ({e.strerror})") from e
        except ValueError as e:
            raise TargetError(f"target {token!r}: {e}") from e
    if not result:
        raise TargetError("no targets given")
    return list(result)

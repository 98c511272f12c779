"""Scan targets: what a user types (addresses, CIDRs, ranges, @files) becomes the declared scope."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coverwatch.errors import InputError, TargetError
from coverwatch.targets import expand_targets

_REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture(autouse=True)
def no_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Only ``localhost`` may be resolved: anything else would leave the machine.

    This is a guard, not a fake: ``localhost`` still goes through the real resolver, and a test
    that makes coverwatch look up any other name fails loudly instead of touching the network.
    """
    asked: list[str] = []

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(str(host))
        if host == "localhost":
            return _REAL_GETADDRINFO(host, *args, **kwargs)
        pytest.fail(f"expand_targets tried a DNS look-up for {host!r}")

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    yield asked


def _hosts(prefix: str, first: int, last: int) -> list[str]:
    return [f"{prefix}.{i}" for i in range(first, last + 1)]


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (["127.31.0.1"], ["127.31.0.1"]),
        ([" 127.31.0.1\t"], ["127.31.0.1"]),
        (["::1"], ["::1"]),
        (["2001:DB8:0:0::0001"], ["2001:db8::1"]),  # written out long, stored canonical
        (["127.31.0.7/32"], ["127.31.0.7"]),
        (["127.31.0.6/31"], ["127.31.0.6", "127.31.0.7"]),  # RFC 3021 point-to-point: both
        (["127.31.0.0/30"], ["127.31.0.1", "127.31.0.2"]),
        (["127.31.0.5/30"], ["127.31.0.5", "127.31.0.6"]),  # host bits set: its network
        (["2001:db8::/126"], ["2001:db8::1", "2001:db8::2", "2001:db8::3"]),
        (["127.31.0.1-5"], _hosts("127.31.0", 1, 5)),
        (["127.31.0.4-4"], ["127.31.0.4"]),
        (["127.31.0.1-127.31.0.3"], _hosts("127.31.0", 1, 3)),
        (["127.31.0.254-127.31.1.1"], ["127.31.0.254", "127.31.0.255", "127.31.1.0", "127.31.1.1"]),
        (["2001:db8::1-2001:db8::3"], ["2001:db8::1", "2001:db8::2", "2001:db8::3"]),
    ],
)
def test_expands_each_target_form(targets: list[str], expected: list[str]) -> None:
    assert expand_targets(targets) == expected


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (["127.31.0.1", "127.31.0.1"], ["127.31.0.1"]),
        (["127.31.0.2", "127.31.0.1-3"], ["127.31.0.2", "127.31.0.1", "127.31.0.3"]),
        (["127.31.0.9", "127.31.0.8/31", "127.31.0.1"], ["127.31.0.9", "127.31.0.8", "127.31.0.1"]),
        (["::1", "0:0:0:0:0:0:0:1"], ["::1"]),
        (["", "127.31.0.1", "   "], ["127.31.0.1"]),
    ],
)
def test_duplicates_are_dropped_and_first_seen_order_is_kept(
    targets: list[str], expected: list[str]
) -> None:
    assert expand_targets(targets) == expected


def test_slash_24_is_its_254_hosts_without_network_and_broadcast() -> None:
    hosts = expand_targets(["127.31.5.0/24"])
    assert hosts == _hosts("127.31.5", 1, 254)
    assert "127.31.5.0" not in hosts
    assert "127.31.5.255" not in hosts


def test_localhost_resolves_to_loopback_addresses(no_dns: list[str]) -> None:
    hosts = expand_targets(["localhost"])
    assert hosts
    assert all(ipaddress.ip_address(h).is_loopback for h in hosts)
    assert len(hosts) == len(set(hosts))
    assert no_dns == ["localhost"]


def test_target_file_with_comments_commas_and_blank_lines(tmp_path: Path) -> None:
    scope = tmp_path / "scope.txt"
    scope.write_text(
        "# cameras, floor 2\n"
        "127.31.0.1, 127.31.0.2   # lobby\n"
        "\n"
        "127.31.0.2-4\n"
        "127.31.1.0/30,,\n"
        "   # indented comment only\n",
        encoding="utf-8",
    )
    assert expand_targets(["127.31.9.9", f"@{scope}"]) == [
        "127.31.9.9",
        "127.31.0.1",
        "127.31.0.2",
        "127.31.0.3",
        "127.31.0.4",
        "127.31.1.1",
        "127.31.1.2",
    ]


def _message(targets: list[str], **kwargs: Any) -> str:
    with pytest.raises(TargetError) as info:
        expand_targets(targets, **kwargs)
    message = str(info.value)
    assert "\n" not in message, "errors are one line a user can act on"
    assert isinstance(info.value, InputError)  # the CLI maps these to exit code 2
    return message


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("10.0.0.300", "not an address"),
        ("bad_host!", "not an address"),
        ("127.31.0.5-1", "before its start"),
        ("127.31.0.1-300", "127.31.0.300"),
        ("127.31.0.0/33", "33"),
        ("2001:db8::5-2001:db8::1", "before its start"),
        pytest.param(
            "1.2.3.4-1.2.3.1",
            "before its start",
        ),
        pytest.param(
            "10.0.0.1-10.0.0.300",
            "10.0.0.300",
        ),
    ],
)
def test_bad_token_is_named_in_the_error(token: str, says: str) -> None:
    message = _message(["127.31.0.1", token])
    assert repr(token) in message
    assert says in message


def test_missing_target_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    message = _message([f"@{missing}"])
    assert str(missing) in message
    assert "No such file" in message


def test_directory_as_target_file_is_named(tmp_path: Path) -> None:
    message = _message([f"@{tmp_path}"])
    assert str(tmp_path) in message


def test_binary_target_file_is_named(tmp_path: Path) -> None:
    blob = tmp_path / "capture.pcap"
    blob.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00\xff\xfe\x80")
    assert str(blob) in _message([f"@{blob}"])


def test_nested_target_file_is_refused(tmp_path: Path) -> None:
    inner = tmp_path / "inner.txt"
    inner.write_text("127.31.0.1\n", encoding="utf-8")
    outer = tmp_path / "outer.txt"
    outer.write_text(f"127.31.0.2\n@{inner}\n", encoding="utf-8")
    message = _message([f"@{outer}"])
    assert str(outer) in message
    assert f"@{inner}" in message
    assert "nested" in message


@pytest.mark.parametrize("targets", [[], [""], ["  ", "\t"]])
def test_no_targets_is_an_error(targets: list[str]) -> None:
    assert "no targets" in _message(targets)


def test_target_file_with_only_comments_is_no_targets(tmp_path: Path) -> None:
    scope = tmp_path / "scope.txt"
    scope.write_text("# nothing yet\n\n", encoding="utf-8")
    assert "no targets" in _message([f"@{scope}"])


@pytest.mark.parametrize(
    ("targets", "max_hosts"),
    [
        (["127.31.0.0/29"], 5),  # 6 hosts
        (["127.31.0.1-3", "127.31.0.10-12"], 5),  # 6 hosts over two tokens
        (["10.0.0.0/8"], 65_536),  # 16 M hosts: refused without expanding them all
        (["2001:db8::/64"], 100),
    ],
)
def test_more_than_max_hosts_is_refused(targets: list[str], max_hosts: int) -> None:
    message = _message(targets, max_hosts=max_hosts)
    assert str(max_hosts) in message
    assert "--max-hosts" in message


@pytest.mark.parametrize(
    ("targets", "max_hosts", "count"),
    [
        (["127.31.0.0/29"], 6, 6),
        (["127.31.0.1"] * 10, 1, 1),  # duplicates do not count twice
    ],
)
def test_up_to_max_hosts_is_accepted(targets: list[str], max_hosts: int, count: int) -> None:
    assert len(expand_targets(targets, max_hosts=max_hosts)) == count

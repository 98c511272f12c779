"""Banner probe: what SSH, Telnet and FTP services say first, as one clean line."""

from __future__ import annotations

import pytest

from coverwatch.probes.banner import (
    BANNER_SIGNALS,
    is_complete,
    parse_banner,
    strip_telnet_negotiation,
)

IAC, SB, SE, WILL, WONT, DO, DONT = 255, 250, 240, 251, 252, 253, 254
ECHO, SGA, NAWS, TTYPE = 1, 3, 31, 24

#: What BusyBox telnetd sends before its prompt (RFC 854 option negotiation first).
BUSYBOX_TELNET = (
    bytes([IAC, DO, ECHO, IAC, DO, NAWS, IAC, WILL, ECHO, IAC, WILL, SGA]) + b"\r\n(none) login: "
)


def test_ports_map_to_their_signal_keys() -> None:
    assert BANNER_SIGNALS == {22: "ssh.banner", 23: "telnet.banner", 21: "ftp.banner"}


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"plain", b"plain"),
        (bytes([IAC, DO, ECHO]) + b"login:", b"login:"),
        (bytes([IAC, WILL, SGA, IAC, WONT, NAWS, IAC, DONT, TTYPE]) + b"hi", b"hi"),
        (b"a" + bytes([IAC, SB, TTYPE, 1, IAC, SE]) + b"b", b"ab"),  # sub-negotiation
        (b"a" + bytes([IAC, SB, NAWS, 0, 80, 0, 24]), b"a"),  # unterminated SB: dropped
        (bytes([IAC, 241]) + b"x", b"x"),  # two-byte command (NOP)
        (BUSYBOX_TELNET, b"\r\n(none) login: "),
    ],
)
def test_strip_telnet_negotiation(data: bytes, text: bytes) -> None:
    assert strip_telnet_negotiation(data) == text


@pytest.mark.parametrize(
    ("data", "banner"),
    [
        (b"SSH-2.0-OpenSSH_7.4\r\n", "SSH-2.0-OpenSSH_7.4"),
        (b"SSH-2.0-dropbear_2019.78\n", "SSH-2.0-dropbear_2019.78"),
        (b"220 (vsFTPd 3.0.3)\r\n", "220 (vsFTPd 3.0.3)"),
        (BUSYBOX_TELNET, "(none) login:"),
        (b"\r\n\r\nDVR Telnet\r\n\r\nlogin: ", "DVR Telnet | login:"),
        (b"one\ntwo\nthree\nfour\nfive\n", "one | two | three"),
        (b"\x1b[1;32mWelcome\x1b[0m\x07 to\tNVR\r\n", "[1;32mWelcome [0m to NVR"),
        (b"220 Cam\xe9ra FTP\r\n", "220 Cam\ufffdra FTP"),
        (b"", ""),
        (b"\r\n \r\n\t\r\n", ""),
        (bytes([IAC, DO, ECHO, IAC, WILL, SGA]), ""),
    ],
)
def test_parse_banner_gives_one_clean_line(data: bytes, banner: str) -> None:
    assert parse_banner(data) == banner


def test_hostile_banner_is_bounded() -> None:
    text = parse_banner(b"SSH-2.0-" + b"A" * 10_000 + b"\r\n" + b"B" * 10_000 + b"\n")
    assert text.startswith("SSH-2.0-AAA")
    assert len(text) <= 512
    assert "\n" not in text


@pytest.mark.parametrize(
    ("buffer", "complete"),
    [
        (b"", False),
        (b"SSH-2.0-OpenSSH", False),
        (b"SSH-2.0-OpenSSH_7.4\r\n", True),
        (b"220 ready\n", True),
        (b"(none) login: ", True),
        (b"Password:", True),
        (b"C:\\>", True),
        (b"root@cam:~# ", True),
        (b"$ ", True),
        (bytes([IAC, DO, ECHO, IAC, WILL, SGA]), False),  # negotiation alone is not a greeting
        (bytes([IAC, DO, ECHO]) + b"login:", True),
        (b"Welcome", False),
    ],
)
def test_is_complete(buffer: bytes, complete: bool) -> None:
    assert is_complete(buffer) is complete

"""Banner probe: what SSH, Telnet and FTP services say first, cleaned to one line of text."""

from __future__ import annotations

from coverwatch.probes.http import clean_text

#: Port -> the signal key its greeting is stored under.
BANNER_SIGNALS = {22: "ssh.banner", 23: "telnet.banner", 21: "ftp.banner"}

_IAC = 255


def strip_telnet_negotiation(data: bytes) -> bytes:
    """Drop Telnet IAC option negotiation (RFC 854) so only the printable greeting remains."""
    out = bytearray()
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == _IAC and i + 1 < len(data):
            command = data[i + 1]
            if command == 250:  # SB ... IAC SE
                end = data.find(bytes([_IAC, 240]), i + 2)
                i = len(data) if end < 0 else end + 2
                continue
            i += 3 if command in (251, 252, 253, 254) else 2
            continue
        out.append(byte)
        i += 1
    return bytes(out)


def is_complete(buffer: bytes) -> bool:
    """A greeting is complete at its first line end (SSH, FTP) or a login prompt (Telnet)."""
    text = strip_telnet_negotiation(buffer)
    return b"\n" in text or text.rstrip().endswith((b":", b">", b"#", b"$"))


def parse_banner(data: bytes) -> str:
    """The greeting as one clean line (first non-empty lines, joined)."""
    text = strip_telnet_negotiation(data).decode("utf-8", "replace")
    lines = [line for line in (clean_text(part) for part in text.splitlines()) if line]
    return " | ".join(lines[:3])[:512]

"""RTSP probe (RFC 2326): OPTIONS and DESCRIBE requests and a bounded response parser.

RTSP looks like HTTP but carries its own version token, so h11 will not parse it; the grammar
needed here (status line, headers, Content-Length body) is small and bounded.
"""

from __future__ import annotations

import re

from coverwatch.probes.http import clean_text, message_complete

_MAX_HEADERS = 64


def build_request(method: str, url: str, cseq: int) -> bytes:
    """An RTSP/1.0 request with the headers every server requires."""
    lines = [f"{method} {url} RTSP/1.0", f"CSeq: {cseq}", "User-Agent: coverwatch/0.1"]
    if method == "DESCRIBE":
        lines.append("Accept: application/sdp")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def is_complete(buffer: bytes) -> bool:
    """True once the head and any Content-Length body have arrived."""
    return message_complete(buffer, without_length=True)


class MalformedRtsp(ValueError):
    """The bytes are not an RTSP response."""


def parse_response(data: bytes) -> tuple[int, dict[str, str]]:
    """Status code and lower-cased headers of an RTSP response."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    match = re.match(r"RTSP/\d\.\d (\d{3})", lines[0])
    if match is None:
        raise MalformedRtsp(f"not an RTSP status line: {clean_text(lines[0], 80)!r}")
    headers: dict[str, str] = {}
    for line in lines[1 : _MAX_HEADERS + 1]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return int(match.group(1)), headers


def signals(method: str, status: int, headers: dict[str, str]) -> dict[str, str]:
    """The JSONL signal keys an RTSP reply yields."""
    result: dict[str, str] = {}
    if "server" in headers:
        result["rtsp.server"] = clean_text(headers["server"])
    if "www-authenticate" in headers:
        result["rtsp.www_authenticate"] = clean_text(headers["www-authenticate"])
    if method == "OPTIONS" and "public" in headers:
        result["rtsp.public"] = clean_text(headers["public"])
    if method == "DESCRIBE":
        result["rtsp.describe_status"] = str(status)
    return result

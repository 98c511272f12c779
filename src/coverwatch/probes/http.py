"""HTTP probe: build a bounded GET, decide when a reply is complete, and parse it into signals.

Parsing uses h11 (a maintained sans-IO HTTP/1.1 library); the title comes from the stdlib
HTML parser. Everything returned is text, truncated, and safe to store.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from urllib.parse import quote, urljoin, urlsplit

import h11

#: How much of a page body we keep as evidence.
BODY_KEEP = 4096
_MAX_FIELD = 512


def build_request(
    host: str,
    path: str = "/",
    method: str = "GET",
    body: bytes = b"",
    extra_headers: list[tuple[str, str]] | None = None,
) -> bytes:
    """An HTTP/1.1 request that asks the server to close the connection after replying."""
    headers = [
        ("Host", host),
        ("User-Agent", "coverwatch/0.1 (+inventory audit)"),
        ("Accept", "*/*"),
        ("Connection", "close"),
        *(extra_headers or []),
    ]
    if body or method == "POST":
        headers.append(("Content-Length", str(len(body))))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head.encode("ascii") + b"\r\n" + body


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d{1,12})", re.IGNORECASE)


def message_complete(buffer: bytes, without_length: bool) -> bool:
    """True once a head (ending in a blank line) and its Content-Length body have arrived.

    ``without_length`` says whether a head with no Content-Length is complete (RTSP replies)
    or is followed by a body that runs to EOF (HTTP: chunked or close-delimited).
    """
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    match = _CONTENT_LENGTH.search(buffer[: head_end + 2])
    if match is None:
        return without_length
    return len(buffer) - head_end - 4 >= int(match.group(1))


def is_complete(buffer: bytes) -> bool:
    """True once an HTTP reply with a Content-Length has fully arrived (else read to EOF)."""
    return message_complete(buffer, without_length=False)


class _TitleParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._in_title = False
        self.title: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and self.title is None:
            self._in_title = True
            self.title = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title and self.title is not None and len(self.title) < _MAX_FIELD:
            self.title += data


def clean_text(text: str, limit: int = _MAX_FIELD) -> str:
    """One line of printable text, whitespace collapsed, at most ``limit`` characters."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())[:limit]


def _title(body: str) -> str | None:
    parser = _TitleParser()
    try:
        parser.feed(body[:65536])
        parser.close()
    except AssertionError:  # NOTE: HTMLParser raises AssertionError on some broken markup
        return None
    return clean_text(parser.title) if parser.title else None


class MalformedReply(ValueError):
    """The bytes are not a parsable HTTP response."""


def parse_response(data: bytes, method: str = "GET") -> tuple[int, dict[str, str], str]:
    """Parse a (possibly truncated) response into status, lower-cased headers, decoded body.

    Raises MalformedReply when the bytes are not HTTP.
    """
    conn = h11.Connection(our_role=h11.CLIENT, max_incomplete_event_size=64 * 1024)
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
    conn.send(h11.EndOfMessage())
    try:
        conn.receive_data(data)
        conn.receive_data(b"")
        status = 0
        headers: dict[str, str] = {}
        body = bytearray()
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Response | h11.InformationalResponse):
                status = event.status_code
                headers = {}
                for name, value in event.headers:
                    key = name.decode("latin-1").lower()
                    text = value.decode("latin-1")
                    headers[key] = f"{headers[key]}, {text}" if key in headers else text
            elif isinstance(event, h11.Data):
                body += event.data
            elif (
                event is h11.NEED_DATA
                or isinstance(event, h11.EndOfMessage | h11.ConnectionClosed)
                or event is h11.PAUSED
            ):
                break
    except h11.RemoteProtocolError as e:
        if status:  # head parsed; body framing broken (truncated chunk, early close): keep it
            return status, headers, _decode(bytes(body), headers.get("content-type", ""))
        raise MalformedReply(f"not an HTTP response: {e}") from e
    if not status:
        raise MalformedReply("no HTTP status line in reply")
    return status, headers, _decode(bytes(body), headers.get("content-type", ""))


#: Codecs Python knows that are not character sets a page can be written in: they transform
#: bytes (``unicode_escape`` interprets backslashes, ``idna`` refuses "replace", ``undefined``
#: always fails). A device naming one gets its body read as UTF-8 instead.
_NOT_CHARSETS = frozenset(
    {"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape", "rot-13"}
)


def charset(name: str) -> str | None:
    """Python's codec for a charset a device declared, or None when it is not one we read."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    if not info._is_text_encoding or info.name in _NOT_CHARSETS:
        return None
    return info.name


def _decode(body: bytes, content_type: str) -> str:
    match = re.search(r"charset=\s*\"?([\w.:-]+)", content_type, re.IGNORECASE)
    encoding = (charset(match.group(1)) if match else None) or "utf-8"
    try:
        return body.decode(encoding, "replace")
    except (UnicodeError, LookupError, ValueError):  # a codec that still misbehaves
        return body.decode("utf-8", "replace")


def signals(status: int, headers: dict[str, str], body: str) -> dict[str, str]:
    """The JSONL signal keys an HTTP reply yields."""
    result = {"http.status": str(status)}
    for header, key in (
        ("server", "http.server"),
        ("www-authenticate", "http.www_authenticate"),
        ("location", "http.location"),
    ):
        if header in headers:
            result[key] = clean_text(headers[header])
    title = _title(body)
    if title:
        result["http.title"] = title
    if body.strip():
        result["http.body"] = body[:BODY_KEEP]
    return result


def same_origin_redirect(
    status: int, headers: dict[str, str], path: str, authority: str, port: int
) -> str | None:
    """The path a 3xx reply points to, if it stays on the same host and port; else None."""
    location = headers.get("location")
    if status not in (301, 302, 303, 307, 308) or not location:
        return None
    try:
        target = urlsplit(urljoin(f"http://{authority}:{port}{path}", location.strip()))
        effective_port = target.port or (443 if target.scheme == "https" else 80)
    except ValueError:  # a malformed Location (bad port, broken IPv6 literal): not followed
        return None
    if target.hostname != authority.strip("[]") or effective_port != port:
        return None
    new_path = (target.path or "/") + (f"?{target.query}" if target.query else "")
    # NOTE: a Location may carry raw non-ASCII bytes or controls (read as latin-1); the next
    # request line must be ASCII, so anything else is percent-encoded (RFC 3986 section 2.1).
    new_path = quote(new_path, safe="/?=&%:@!$'()*+,;~-._")
    return None if new_path == path else new_path

"""HTTP probe: the request coverwatch sends and what it makes of replies, hostile ones included."""

from __future__ import annotations

import h11
import pytest

from coverwatch.probes import http
from coverwatch.probes.http import (
    BODY_KEEP,
    MalformedReply,
    build_request,
    is_complete,
    parse_response,
    same_origin_redirect,
    signals,
)


def reply(head: str, body: bytes = b"", *, length: bool = True) -> bytes:
    """A response with ``head`` lines; adds a correct Content-Length unless told not to."""
    lines = [line for line in head.strip().split("\r\n") if line]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def facts(data: bytes) -> dict[str, str]:
    """What the scanner records for a reply."""
    return signals(*parse_response(data))


# --- the request -----------------------------------------------------------------------------


def test_get_request_bytes() -> None:
    assert build_request("127.31.0.1:8080", "/doc/page/login.asp") == (
        b"GET /doc/page/login.asp HTTP/1.1\r\n"
        b"Host: 127.31.0.1:8080\r\n"
        b"User-Agent: coverwatch/0.1 (+inventory audit)\r\n"
        b"Accept: */*\r\n"
        b"Connection: close\r\n"
        b"\r\n"
    )


def _as_server_sees_it(data: bytes) -> tuple[h11.Request, bytes]:
    server = h11.Connection(our_role=h11.SERVER)
    server.receive_data(data)
    request = server.next_event()
    assert isinstance(request, h11.Request)
    body = b""
    while True:
        event = server.next_event()
        if isinstance(event, h11.Data):
            body += event.data
        else:
            assert isinstance(event, h11.EndOfMessage), event
            return request, body


def test_get_request_is_valid_http_with_no_body() -> None:
    request, body = _as_server_sees_it(build_request("127.31.0.1:80"))
    assert (request.method, request.target) == (b"GET", b"/")
    headers = dict(request.headers)
    assert headers[b"host"] == b"127.31.0.1:80"
    assert headers[b"connection"] == b"close"
    assert b"content-length" not in headers
    assert body == b""


def test_post_request_carries_body_length_and_extra_headers() -> None:
    envelope = b"<s:Envelope>...</s:Envelope>"
    data = build_request(
        "[::1]:8899",
        "/onvif/device_service",
        "POST",
        envelope,
        [("Content-Type", "application/soap+xml; charset=utf-8")],
    )
    request, body = _as_server_sees_it(data)
    headers = dict(request.headers)
    assert (request.method, request.target) == (b"POST", b"/onvif/device_service")
    assert headers[b"host"] == b"[::1]:8899"
    assert headers[b"content-type"] == b"application/soap+xml; charset=utf-8"
    assert headers[b"content-length"] == str(len(envelope)).encode()
    assert body == envelope


def test_empty_post_still_says_content_length_zero() -> None:
    request, body = _as_server_sees_it(build_request("127.31.0.1:80", "/", "POST"))
    assert dict(request.headers)[b"content-length"] == b"0"
    assert body == b""


# --- when to stop reading -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("buffer", "complete"),
    [
        (b"", False),
        (b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\n", False),  # head not finished
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", True),
        (b"HTTP/1.1 200 OK\r\ncontent-length:\t5\r\n\r\nhello", True),
        (b"HTTP/1.1 200 OK\r\nServer: x\r\nCONTENT-LENGTH: 0\r\n\r\n", True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhello", True),  # over-long: stop anyway
        # no length: close-delimited or chunked, so read to EOF (bounded by the transport)
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n<html>", False),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nX-Content-Length: 0\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\n\r\nContent-Length: 0\r\n\r\n", False),  # in the body, not head
    ],
)
def test_is_complete(buffer: bytes, complete: bool) -> None:
    assert is_complete(buffer) is complete


# --- parsing replies ----------------------------------------------------------------------------


def test_camera_login_page() -> None:
    page = b"<html><head><title>  Login\n</title></head><body>/doc/page/login.asp</body></html>"
    data = reply(
        "HTTP/1.1 200 OK\r\nServer: App-webs/\r\nContent-Type: text/html\r\n"
        "Set-Cookie: a=1\r\nSet-Cookie: b=2",
        page,
    )
    status, headers, body = parse_response(data)
    assert status == 200
    assert headers == {
        "server": "App-webs/",
        "content-type": "text/html",
        "set-cookie": "a=1, b=2",
        "content-length": str(len(page)),
    }
    assert body == page.decode()
    assert signals(status, headers, body) == {
        "http.status": "200",
        "http.server": "App-webs/",
        "http.title": "Login",
        "http.body": page.decode(),
    }


def test_digest_challenge_and_redirect_become_signals() -> None:
    challenge = facts(
        reply(
            'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm="IP Camera(C2189)", '
            'nonce="abc", qop="auth"\r\nSERVER: DNVRS-Webs'
        )
    )
    assert challenge == {
        "http.status": "401",
        "http.server": "DNVRS-Webs",
        "http.www_authenticate": 'Digest realm="IP Camera(C2189)", nonce="abc", qop="auth"',
    }
    moved = facts(reply("HTTP/1.1 302 Found\r\nLocation: /doc/page/login.asp?_=1"))
    assert moved == {"http.status": "302", "http.location": "/doc/page/login.asp?_=1"}


def test_interim_100_continue_is_skipped() -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\n" + reply("HTTP/1.1 200 OK", b"ok")
    assert parse_response(data)[0] == 200
    assert parse_response(data)[2] == "ok"


def test_head_reply_has_no_body_despite_content_length() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    assert parse_response(data, "HEAD") == (200, {"content-length": "1000"}, "")


def test_close_delimited_http_1_0_body() -> None:
    assert parse_response(b"HTTP/1.0 200 OK\r\nServer: Boa/0.94\r\n\r\n<html>x</html>") == (
        200,
        {"server": "Boa/0.94"},
        "<html>x</html>",
    )


def test_body_kept_as_evidence_is_truncated() -> None:
    page = ("<html><title>Web</title>" + "x" * (3 * BODY_KEEP)).encode()
    found = facts(reply("HTTP/1.1 200 OK\r\nContent-Type: text/html", page))
    assert found["http.body"] == page.decode()[:BODY_KEEP]
    assert found["http.title"] == "Web"


def test_empty_body_gives_no_body_signal() -> None:
    assert facts(reply("HTTP/1.1 204 No Content", b"")) == {"http.status": "204"}
    assert facts(reply("HTTP/1.1 200 OK", b" \r\n\t ")) == {"http.status": "200"}


@pytest.mark.parametrize(
    ("content_type", "raw", "text"),
    [
        ("text/html; charset=iso-8859-1", "Caméra".encode("latin-1"), "Caméra"),
        ("text/html; Charset=UTF-8", "Caméra".encode(), "Caméra"),
        ("text/html; charset=windows-1251", "Камера".encode("cp1251"), "Камера"),
        ("text/html", "Caméra".encode(), "Caméra"),  # no charset: UTF-8
        ("text/html; charset=no-such-codec", "Caméra".encode(), "Caméra"),  # unknown: UTF-8
        ("text/html", b"Cam\xe9ra", "Cam\ufffdra"),  # not UTF-8: replaced, never an exception
        pytest.param(
            'text/html; charset="iso-8859-1"',
            "Caméra".encode("latin-1"),
            "Caméra",
        ),
    ],
)
def test_body_is_decoded_with_its_charset(content_type: str, raw: bytes, text: str) -> None:
    data = reply(f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}", b"<title>" + raw)
    assert parse_response(data)[2] == f"<title>{text}"


def test_chunked_body_is_reassembled() -> None:
    data = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"7\r\n<title>\r\n6\r\nWeb UI\r\n8\r\n</title>\r\n0\r\n\r\n"
    )
    status, _headers, body = parse_response(data)
    assert (status, body) == (200, "<title>Web UI</title>")


@pytest.mark.parametrize(
    "data",
    [
        # Content-Length promises more than arrived (read limit or timeout hit)
        b"HTTP/1.1 200 OK\r\nServer: lighttpd\r\nContent-Length: 5000\r\n\r\n<title>Half",
        # chunked, cut inside a chunk
        b"HTTP/1.1 200 OK\r\nServer: lighttpd\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\n<titl\r\n40\r\ne>Half",
    ],
)
def test_truncated_body_keeps_what_arrived(data: bytes) -> None:
    status, headers, body = parse_response(data)
    assert status == 200
    assert headers["server"] == "lighttpd"
    assert body == "<title>Half"
    assert signals(status, headers, body)["http.title"] == "Half"


def test_truncated_body_is_decoded_with_its_charset() -> None:
    data = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=iso-8859-1\r\n"
        b"Content-Length: 5000\r\n\r\n<title>Cam\xe9ra"
    )
    assert parse_response(data)[2] == "<title>Caméra"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage\r\n\r\n",
        b"SSH-2.0-OpenSSH_8.4\r\n",
        b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n",
        b"\x16\x03\x01\x00\x05hello",  # a TLS record on a plain-HTTP port
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header Line\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nServer: x\r\n",  # head never finished
        b"\x00" * 64,
    ],
)
def test_non_http_bytes_raise_malformed_reply(data: bytes) -> None:
    with pytest.raises(MalformedReply) as info:
        parse_response(data)
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


# --- hostile replies --------------------------------------------------------------------------


def _title(page: bytes) -> str:
    return facts(reply("HTTP/1.1 200 OK\r\nContent-Type: text/html", page))["http.title"]


@pytest.mark.parametrize(
    ("page", "title"),
    [
        (b"<title>\n\t  Network \r\n  Camera  </title>", "Network Camera"),
        (b"<TITLE>&lt;NVR&gt; &amp; DVR</TITLE>", "<NVR> & DVR"),
        (b"<title>first</title><title>second</title>", "first"),
        (b"<html><title>never closed", "never closed"),
    ],
)
def test_title_is_one_line_of_text(page: bytes, title: str) -> None:
    assert _title(page) == title


def test_control_characters_in_title_do_not_survive() -> None:
    title = _title(b"<title>Cam\x1b[2J\x1b]0;pwned\x07era\x00\x08</title>")
    assert all(ch.isprintable() for ch in title), repr(title)
    assert "Cam" in title


def test_megabyte_title_is_bounded() -> None:
    page = b"<title>" + b"A" * 1_000_000 + b"</title>" + b"B" * 100_000
    found = facts(reply("HTTP/1.1 200 OK\r\nContent-Type: text/html", page))
    assert found["http.title"] == "A" * 512
    assert len(found["http.body"]) == BODY_KEEP


def test_megabyte_title_of_words_is_bounded() -> None:
    title = _title(b"<title>" + b"word " * 200_000 + b"</title>")
    assert 0 < len(title) <= 512
    assert all("word".startswith(w) for w in title.split())  # the last word may be cut


def test_hostile_server_header_is_one_clean_bounded_line() -> None:
    data = reply("HTTP/1.1 200 OK\r\nServer: App\x1b[2J\x85webs " + "X" * 5000, b"")
    server = facts(data)["http.server"]
    assert server.startswith("App")
    assert all(ch.isprintable() for ch in server)
    assert len(server) <= 512


# --- following redirects ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "location", "path", "authority", "port", "expected"),
    [
        (302, "/doc/page/login.asp", "/", "127.31.0.1", 80, "/doc/page/login.asp"),
        (301, "login.asp?_=1", "/doc/page/", "127.31.0.1", 80, "/doc/page/login.asp?_=1"),
        (303, "../index.html", "/a/b/", "127.31.0.1", 80, "/a/index.html"),
        (307, "  /spaced  ", "/", "127.31.0.1", 80, "/spaced"),
        (308, "http://127.31.0.1:8080/web/", "/", "127.31.0.1", 8080, "/web/"),
        (302, "http://127.31.0.1/web/", "/", "127.31.0.1", 80, "/web/"),  # default port 80
        (302, "https://127.31.0.1/web/", "/", "127.31.0.1", 443, "/web/"),  # default 443
        (302, "HTTP://127.31.0.1:80/web/", "/", "127.31.0.1", 80, "/web/"),
        (302, "/x", "/", "[::1]", 8080, "/x"),
        (302, "http://[::1]:8080/y", "/", "[::1]", 8080, "/y"),
        # leaves the device: never followed
        (302, "http://127.31.0.2/web/", "/", "127.31.0.1", 80, None),
        (302, "//127.31.0.2/web/", "/", "127.31.0.1", 80, None),
        (302, "http://cloud.example/login", "/", "127.31.0.1", 80, None),
        (302, "http://127.31.0.1:8080/web/", "/", "127.31.0.1", 80, None),
        (302, "https://127.31.0.1/web/", "/", "127.31.0.1", 80, None),
        (302, "http://127.31.0.1/web/", "/", "127.31.0.1", 443, None),
        # not a redirect, or going nowhere
        (200, "/doc/page/login.asp", "/", "127.31.0.1", 80, None),
        (304, "/doc/page/login.asp", "/", "127.31.0.1", 80, None),
        (302, "", "/", "127.31.0.1", 80, None),
        (302, "/", "/", "127.31.0.1", 80, None),
        (302, "http://127.31.0.1/start", "/start", "127.31.0.1", 80, None),
    ],
)
def test_same_origin_redirect(
    status: int, location: str, path: str, authority: str, port: int, expected: str | None
) -> None:
    headers = {"location": location}
    assert same_origin_redirect(status, headers, path, authority, port) == expected


def test_redirect_without_location_is_not_followed() -> None:
    assert same_origin_redirect(302, {}, "/", "127.31.0.1", 80) is None


@pytest.mark.parametrize(
    "location",
    ["http://127.31.0.1:99999/x", "http://127.31.0.1:abc/x", "http://[::1/x"],
)
def test_hostile_location_is_not_followed(location: str) -> None:
    assert same_origin_redirect(302, {"location": location}, "/", "127.31.0.1", 80) is None


def test_clean_text_is_exported_for_other_parsers() -> None:
    assert http.clean_text("a\x00b\n\tc" + "d" * 600, 10) == "a b c" + "d" * 5

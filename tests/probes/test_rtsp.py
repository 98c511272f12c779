"""RTSP probe (RFC 2326): the requests sent and the facts taken from replies."""

from __future__ import annotations

import pytest

from coverwatch.probes.rtsp import (
    MalformedRtsp,
    build_request,
    is_complete,
    parse_response,
    signals,
)

OPTIONS_REPLY = (
    b"RTSP/1.0 200 OK\r\n"
    b"CSeq: 1\r\n"
    b"Public: OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER\r\n"
    b"Date:  Mon, Jan 01 2024 00:00:00 GMT\r\n"
    b"\r\n"
)

DESCRIBE_401 = (
    b"RTSP/1.0 401 Unauthorized\r\n"
    b"CSeq: 2\r\n"
    b'WWW-Authenticate: Digest realm="IP Camera(C2189)", nonce="8a1f", stale="FALSE"\r\n'
    b'WWW-Authenticate: Basic realm="IP Camera(C2189)"\r\n'
    b"Server: Rtsp Server/3.0\r\n"
    b"\r\n"
)


def test_options_request_bytes() -> None:
    assert build_request("OPTIONS", "rtsp://127.31.0.1:554/", 1) == (
        b"OPTIONS rtsp://127.31.0.1:554/ RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: coverwatch/0.1\r\n\r\n"
    )


def test_describe_request_asks_for_sdp() -> None:
    assert build_request("DESCRIBE", "rtsp://[::1]:8554/", 2) == (
        b"DESCRIBE rtsp://[::1]:8554/ RTSP/1.0\r\n"
        b"CSeq: 2\r\n"
        b"User-Agent: coverwatch/0.1\r\n"
        b"Accept: application/sdp\r\n"
        b"\r\n"
    )


@pytest.mark.parametrize(
    ("buffer", "complete"),
    [
        (b"", False),
        (b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n", False),
        (OPTIONS_REPLY, True),  # no body: the head is the whole message
        (b"RTSP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nv=0\r\n", False),
        (b"RTSP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nv=0\r\no=- 1", True),
        (b"RTSP/1.0 200 OK\r\ncontent-length:\t3\r\n\r\nabc", True),
    ],
)
def test_is_complete(buffer: bytes, complete: bool) -> None:
    assert is_complete(buffer) is complete


def test_options_reply() -> None:
    status, headers = parse_response(OPTIONS_REPLY)
    assert status == 200
    assert headers == {
        "cseq": "1",
        "public": "OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER",
        "date": "Mon, Jan 01 2024 00:00:00 GMT",
    }


def test_repeated_headers_are_joined_and_names_lower_cased() -> None:
    status, headers = parse_response(DESCRIBE_401)
    assert status == 401
    assert headers["www-authenticate"] == (
        'Digest realm="IP Camera(C2189)", nonce="8a1f", stale="FALSE", '
        'Basic realm="IP Camera(C2189)"'
    )
    assert headers["server"] == "Rtsp Server/3.0"


def test_body_and_lines_without_colon_are_not_headers() -> None:
    data = (
        b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nnot a header line\r\nContent-Length: 20\r\n\r\n"
        b"Server: from-the-sdp\r\n"
    )
    assert parse_response(data) == (200, {"cseq": "2", "content-length": "20"})


def test_header_flood_is_bounded() -> None:
    data = (
        b"RTSP/1.0 200 OK\r\n"
        + b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(10_000))
        + b"Server: late\r\n\r\n"
    )
    _status, headers = parse_response(data)
    assert len(headers) <= 64
    assert "server" not in headers


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\n\r\n",
        b"SSH-2.0-OpenSSH_8.4\r\n",
        b"RTSP/1.0 OK\r\n\r\n",
        b"RTSP/1.0 2x0 OK\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01",
    ],
)
def test_non_rtsp_bytes_raise_malformed(data: bytes) -> None:
    with pytest.raises(MalformedRtsp) as info:
        parse_response(data)
    assert isinstance(info.value, ValueError)


def test_malformed_message_quotes_a_short_clean_status_line() -> None:
    hostile = b"EVIL\x1b[2J\x00" + b"A" * 10_000 + b"\r\n\r\n"
    with pytest.raises(MalformedRtsp) as info:
        parse_response(hostile)
    message = str(info.value)
    assert "EVIL" in message
    assert all(ch.isprintable() for ch in message)
    assert len(message) < 200


@pytest.mark.parametrize(
    ("method", "data", "expected"),
    [
        (
            "OPTIONS",
            OPTIONS_REPLY,
            {
                "rtsp.public": "OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, "
                "GET_PARAMETER",
            },
        ),
        (
            "DESCRIBE",
            DESCRIBE_401,
            {
                "rtsp.server": "Rtsp Server/3.0",
                "rtsp.www_authenticate": 'Digest realm="IP Camera(C2189)", nonce="8a1f", '
                'stale="FALSE", Basic realm="IP Camera(C2189)"',
                "rtsp.describe_status": "401",
            },
        ),
        # Public on a DESCRIBE reply says nothing new; a DESCRIBE always records its status
        (
            "DESCRIBE",
            b"RTSP/1.0 200 OK\r\nPublic: OPTIONS\r\n\r\n",
            {"rtsp.describe_status": "200"},
        ),
        ("OPTIONS", b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n", {}),
        (
            "OPTIONS",
            b"RTSP/1.0 200 OK\r\nServer: GStreamer\x1b[31m\x00RTSP\tserver\r\n\r\n",
            {"rtsp.server": "GStreamer [31m RTSP server"},
        ),
    ],
)
def test_signals(method: str, data: bytes, expected: dict[str, str]) -> None:
    status, headers = parse_response(data)
    assert signals(method, status, headers) == expected


def test_long_server_header_is_bounded() -> None:
    status, headers = parse_response(b"RTSP/1.0 200 OK\r\nServer: " + b"S" * 100_000 + b"\r\n\r\n")
    assert len(signals("OPTIONS", status, headers)["rtsp.server"]) == 512

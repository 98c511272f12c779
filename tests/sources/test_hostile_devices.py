"""Hostile devices on loopback: one device's odd answer costs its own note, never the scan.

Each server below answers the way a broken or malicious device could (issue 11's failure
classes): a charset Python treats specially, a redirect to non-ASCII bytes, ONVIF SOAP in an
encoding nobody knows, NUL bytes and Rich markup in the body. A well-behaved neighbour on the
same scan must still be recorded in full.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from coverwatch.models import ObsStatus
from coverwatch.observer import NULL_OBSERVER
from coverwatch.sources.active import ActiveScanSource, ScanOptions


def _reply(headers: list[tuple[str, str]], body: bytes, status: str = "200 OK") -> bytes:
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode("latin-1") + body


SOAP_UNKNOWN = (
    b'<?xml version="1.0" encoding="x-unknown-charset"?><s:Envelope '
    b'xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>'
)
#: What each hostile device answers to any HTTP request, by its last address byte.
HOSTILE: dict[int, bytes] = {
    11: _reply([("Content-Type", "text/html; charset=idna")], b"<title>x\xff</title>"),
    12: _reply([("Content-Type", "text/html; charset=undefined")], b"<title>y</title>"),
    13: _reply([("Content-Type", "text/html; charset=unicode_escape")], b"<title>\\x41</title>"),
    14: _reply([("Location", "/p\xe9ge\x01/?q=\xff")], b"", "302 Found"),
    15: _reply([("Content-Type", "application/soap+xml")], SOAP_UNKNOWN),
    16: _reply([("Server", "[bold red]evil[/]")], b"<title>a\x00b</title>\x00\x00"),
}
GOOD = _reply([("Server", "App-webs/"), ("Content-Type", "text/html")], b"<title>ok</title>")


@pytest.fixture
def devices() -> Iterator[list[str]]:
    servers: list[socket.socket] = []
    stop = threading.Event()

    def serve(server: socket.socket, answer: bytes) -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    conn.recv(65536)
                    conn.sendall(answer)
                except OSError:
                    pass

    threads = []
    for last, answer in [*HOSTILE.items(), (20, GOOD)]:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((f"127.0.77.{last}", 8080))
        server.listen(16)
        servers.append(server)
        threads.append(threading.Thread(target=serve, args=(server, answer), daemon=True))
        threads[-1].start()
    yield [f"127.0.77.{last}" for last in (*HOSTILE, 20)]
    stop.set()
    for thread in threads:
        thread.join()
    for server in servers:
        server.close()


def test_a_scan_of_hostile_devices_completes_and_keeps_every_neighbour(
    devices: list[str],
) -> None:
    source = ActiveScanSource(devices, ScanOptions(ports=(8080,), timeout=1.0))
    result = asyncio.run(asyncio.wait_for(source.scan(NULL_OBSERVER), 60))
    assert set(result) == set(devices)  # every host that answered is recorded
    good = {o.signal: o.value for o in result["127.0.77.20"] if o.status is ObsStatus.OK}
    assert good["http.server"] == "App-webs/" and good["http.title"] == "ok"
    for ip in devices:
        for o in result[ip]:
            assert "\x00" not in o.value
            assert not any(0xD800 <= ord(c) <= 0xDFFF for c in o.value)
    # the odd charsets were read as text, not executed as codecs or raised
    titles = {ip: o.value for ip in devices for o in result[ip] if o.signal == "http.title"}
    assert titles["127.0.77.13"] == "\\x41"  # unicode_escape is not a charset: not interpreted
    assert titles["127.0.77.16"] == "a b"  # a title is one line of printable text
    location = [o.value for o in result["127.0.77.14"] if o.signal == "http.location"]
    assert location and location[0].startswith("/p")

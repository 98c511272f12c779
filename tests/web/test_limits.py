"""Server limits (issue #11) against the real ``coverwatch serve`` on 127.0.0.1: request bodies
are capped before authentication and before buffering, posted policies are checked with the
loader's bounds and a time limit, and bad input is a 4xx with a clear detail, never a 500.

The server runs as its own process so its resident memory can be read from /proc while a
client streams a 1 GiB body at it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from coverwatch.store import open_inventory
from coverwatch.web.app import MAX_BODY_BYTES
from tests.conftest import free_port

GIB = 1024**3
BOMB = (
    "rules:\n  - id: x\n    kind: covered-vendor\n    severity: low\n    title: t\n"
    "    remediation: r\n    references:\n"
    + "".join(
        f"      - &l{i} [{', '.join([f'*l{i - 1}' if i else 'lol'] * 10)}]\n" for i in range(9)
    )
)
"""A "billion laughs" policy: nine levels of ten aliases, 10**9 values once expanded, where the
loader turns every reference into text."""


@dataclass(frozen=True)
class Server:
    """A running ``coverwatch serve`` process and the tokens to call it."""

    url: str
    port: int
    pid: int
    viewer: str
    admin: str

    def rss(self) -> int:
        """Resident memory of the server process, in bytes (from /proc)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(kb) * 1024

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db = tmp_path_factory.mktemp("limits") / "inventory.db"
    inventory = open_inventory(str(db))
    try:
        viewer, admin = inventory.create_token("v", "viewer"), inventory.create_token("a", "admin")
    finally:
        inventory.close()
    port = free_port()
    command = [sys.executable, "-m", "coverwatch", "--db", str(db), "serve"]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "coverwatch serve did not start"
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        yield Server(f"http://127.0.0.1:{port}", port, process.pid, viewer, admin)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _raw_post(
    server: Server, path: str, head: dict[str, str], chunks: Iterator[bytes]
) -> tuple[int, bytes, int]:
    """POST with a raw socket, sending ``chunks`` until the server answers or hangs up;
    returns (status, response, body bytes sent)."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in head.items())]
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sock.settimeout(0)
        answer = b""
        for chunk in chunks:
            with contextlib.suppress(BlockingIOError):
                answer += sock.recv(65536)
            if answer:
                break
            try:
                sock.settimeout(30)
                sock.sendall(chunk)
                sent += len(chunk)
                sock.settimeout(0)
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.settimeout(10)
        try:  # the rest of the answer: the server closes the connection after a 413
            while more := sock.recv(65536):
                answer += more
        except (ConnectionResetError, TimeoutError):
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, answer, sent


def _chunked(total: int, size: int = 256 * 1024, head: bytes = b"") -> Iterator[bytes]:
    """A chunked-transfer body of ``head`` and then ``total`` bytes of filler, lazily."""
    if head:
        yield f"{len(head):x}\r\n".encode() + head + b"\r\n"
    piece = b"x" * size
    for _ in range(total // size):
        yield f"{size:x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


def test_a_declared_gigabyte_is_413_before_authentication(server: Server) -> None:
    before = server.rss()
    head = {"Content-Type": "application/json", "Content-Length": str(GIB)}
    status, answer, _ = _raw_post(server, "/api/v1/policy/check", head, iter([b""]))
    assert status == 413, answer[:300]  # not 401: refused before the token is looked at
    assert answer.endswith(b'{"detail": "request body over 2048 KB refused"}')
    assert b"content-security-policy" in answer.lower()  # still behind the security headers
    assert server.rss() - before < 4 * 1024**2


@pytest.mark.parametrize("token", [None, "viewer"])
def test_a_streamed_gigabyte_is_refused_without_growing_the_server(
    server: Server, token: str | None
) -> None:
    """A chunked body (no Content-Length) is counted as it arrives: 413 once past the cap,
    without authentication and without the server holding more than the cap."""
    before = server.rss()
    head = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    if token:
        head["Authorization"] = f"Bearer {server.viewer}"
    status, answer, sent = _raw_post(server, "/api/v1/policy/check", head, _chunked(GIB))
    assert status == 413, answer[:300]
    assert sent < 64 * 1024**2, f"the server read {sent} bytes before refusing"
    assert server.rss() - before < 8 * 1024**2
    with server.client(server.viewer) as client:  # and it still serves
        assert client.get("/api/v1/scans").status_code == 200


def test_a_streamed_upload_to_a_page_is_refused_before_sign_in(server: Server) -> None:
    head = {"Content-Type": "multipart/form-data; boundary=b", "Transfer-Encoding": "chunked"}
    part = (
        b'--b\r\nContent-Disposition: form-data; name="upload"; filename="site.yaml"\r\n'
        b"Content-Type: application/x-yaml\r\n\r\nname: "
    )
    status, answer, sent = _raw_post(server, "/policy", head, _chunked(GIB, head=part))
    assert status == 413 and b"request body over" in answer, answer[:300]
    assert sent < 64 * 1024**2


def test_a_body_at_the_cap_is_still_served(server: Server) -> None:
    text = "# " + "x" * 200_000 + "\nname: big comment\n"
    assert len(json.dumps({"text": text})) < MAX_BODY_BYTES
    with server.client(server.viewer) as client:
        response = client.post("/api/v1/policy/check", json={"text": text})
    assert response.status_code == 200 and response.json()["name"] == "big comment"


def test_policy_check_refuses_an_alias_bomb_fast(server: Server) -> None:
    """A viewer token is enough to post a policy: a billion laughs must cost nothing."""
    before = server.rss()
    started = time.monotonic()
    with server.client(server.viewer) as client:
        response = client.post("/api/v1/policy/check", json={"text": BOMB})
        assert time.monotonic() - started < 5
        assert response.status_code == 200, response.text
        verdict = response.json()
        assert verdict["valid"] is False and "alias" in verdict["error"]
        assert verdict["error"].startswith("<posted>:")
        assert client.get("/api/v1/scans").status_code == 200
    assert server.rss() - before < 16 * 1024**2


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "waivers:\n  - rule: covered-vendor\n    devices: [10.0.0.1]\n    reason: r\n"
            "    approver: a\n    expires: 2026-02-30\n",
            "<posted>:6: waivers[0].expires: '2026-02-30' is not a valid date",
        ),
        ("name: " + "[" * 500 + "]" * 500 + "\n", "<posted>:1: name[0][0]"),
        ("unit_costs: {camera: .nan}\n", "<posted>:1: unit_costs.camera: must be a number"),
        ("name: a\x00b\n", "<posted>:0: yaml: unacceptable character"),
        (
            "rules:\n  - {id: x, kind: vulnerable-firmware, severity: low, title: t,\n"
            "     remediation: r, options: {min_cvss: high}}\n",
            "<posted>:3: rules[0].options.min_cvss: must be a number",
        ),
    ],
)
def test_policy_check_names_line_and_field(server: Server, text: str, says: str) -> None:
    with server.client(server.viewer) as client:
        response = client.post("/api/v1/policy/check", json={"text": text})
    assert response.status_code == 200, response.text
    assert response.json()["valid"] is False
    assert response.json()["error"].startswith(says)


DEEP = b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("/api/v1/policy/check", b"{not json", 422, "body: not valid JSON"),
        ("/api/v1/policy/check", b'{"text": 5}', 422, "body.text: "),
        ("/api/v1/policy/check", b"[1, 2]", 422, "body: "),
        ("/api/v1/policy/check", b'{"text": NaN}', 422, "body.text: "),
        ("/api/v1/policy/check", b'{"text": "x", "label": 1e999}', 422, "body.label: "),
        ("/api/v1/policy/check", b'{"text": ' + b"9" * 5000 + b"}", 400, "body: a number"),
        ("/api/v1/policy/check", DEEP, 400, "body: JSON nested too deeply"),
        ("/api/v1/policy/check", b'{"text": "\xff\xfe"}', 400, "body: not UTF-8"),
        ("/api/v1/policy/check", b'{"text": "\\ud800"}', 422, "body.text: "),
        ("/api/v1/waivers", b'{"expires": "2026-02-30"}', 422, "body."),
        (
            "/api/v1/waivers",
            b'{"rule": "x", "ip": "1", "reason": "r", "approver": "a", "expires": 1e999}',
            422,
            "body.expires: ",
        ),
    ],
)
def test_bad_input_is_4xx_with_a_clear_detail(
    server: Server, path: str, body: bytes, status: int, says: str
) -> None:
    with server.client(server.admin) as client:
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail.startswith(says) and "\n" not in detail, detail


def test_an_overlong_device_address_is_422(server: Server) -> None:
    with server.client(server.viewer) as client:
        response = client.get("/api/v1/devices/" + "1" * 5000)
    assert response.status_code == 422 and response.json()["detail"].startswith("path.ip: ")


def test_the_server_survived_everything(server: Server) -> None:
    """After all of the above, the same process still answers (no crash, no restart)."""
    os.kill(server.pid, 0)
    with server.client(server.viewer) as client:
        assert client.get("/api/v1/policy").status_code == 200

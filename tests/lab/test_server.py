"""The lab answers like real devices: ONVIF authentication, canned HTTP, RTSP, bounded input."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coverwatch.lab.runner import LabProcess
from coverwatch.lab.site import DEFAULT_PASSWORD, DEFAULT_USERNAME
from coverwatch.models import DeviceType
from coverwatch.probes import http, onvif, rtsp


def _exchange(ip: str, port: int, request: bytes) -> bytes:
    with socket.create_connection((ip, port), timeout=5) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture(scope="module")
def hik(lab: LabProcess) -> Iterator[str]:
    yield next(ip for ip, t in lab.truth.items() if t["profile"] == "hikvision-ipc")


def _soap(ip: str, envelope: bytes) -> tuple[int, object]:
    request = http.build_request(
        f"{ip}:80", onvif.DEFAULT_PATH, "POST", envelope, [("Content-Type", "application/soap+xml")]
    )
    status, _headers, body = http.parse_response(_exchange(ip, 80, request), "POST")
    return status, onvif.parse_envelope(body.encode())


def test_onvif_date_time_needs_no_credentials(hik: str) -> None:
    status, root = _soap(hik, onvif.build_envelope("GetSystemDateAndTime"))
    assert status == 200
    assert onvif.system_date_time(root)["onvif.service"] == "GetSystemDateAndTime"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("username", "password", "authorised"),
    [
        (DEFAULT_USERNAME, DEFAULT_PASSWORD, True),
        (DEFAULT_USERNAME, "wrong", False),
        ("operator", DEFAULT_PASSWORD, False),
        (None, None, False),
    ],
)
def test_onvif_device_information_needs_a_password_digest(
    hik: str, lab: LabProcess, username: str | None, password: str | None, authorised: bool
) -> None:
    status, root = _soap(hik, onvif.build_envelope("GetDeviceInformation", username, password))
    info = onvif.device_information(root)  # type: ignore[arg-type]
    if authorised:
        assert status == 200
        assert info["onvif.model"] == lab.truth[hik]["model"]
        assert info["onvif.serial"] == lab.truth[hik]["serial"]
    else:
        assert status == 400
        assert "NotAuthorized" in (onvif.fault_reason(root) or "")  # type: ignore[arg-type]
        assert "onvif.model" not in info


def test_malformed_and_hostile_soap_get_a_fault(hik: str) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>'
    )
    for body in (b"<not-xml", bomb):
        request = http.build_request(f"{hik}:80", onvif.DEFAULT_PATH, "POST", body)
        status, _h, text = http.parse_response(_exchange(hik, 80, request), "POST")
        assert status == 400 and "WellFormed" in text


def test_http_root_and_unknown_path(hik: str) -> None:
    status, headers, body = http.parse_response(_exchange(hik, 80, http.build_request(hik)))
    assert status == 200 and headers["server"] == "App-webs/"
    assert "/doc/page/login.asp" in body
    status, _h, _b = http.parse_response(_exchange(hik, 80, http.build_request(hik, "/nope")))
    assert status == 404


def test_rtsp_options_and_describe_echo_cseq(hik: str) -> None:
    with socket.create_connection((hik, 554), timeout=5) as conn:
        for cseq, method in ((7, "OPTIONS"), (8, "DESCRIBE")):
            conn.sendall(rtsp.build_request(method, f"rtsp://{hik}:554/", cseq))
            reply = conn.recv(65536)
            status, headers = rtsp.parse_response(reply)
            assert headers["cseq"] == str(cseq)
            assert status == (200 if method == "OPTIONS" else 401)


def test_oversized_request_is_dropped_and_the_lab_keeps_serving(hik: str) -> None:
    huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-Fill: " + b"a" * (200 * 1024) + b"\r\n\r\n"
    try:
        reply = _exchange(hik, 80, huge)
    except (ConnectionResetError, BrokenPipeError):
        reply = b""
    assert not reply.startswith(b"HTTP/1.1 200")
    status, _h, _b = http.parse_response(_exchange(hik, 80, http.build_request(hik)))
    assert status == 200


def test_lab_command_writes_truth_and_stops_by_itself(tmp_path: Path) -> None:
    truth = tmp_path / "truth.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "coverwatch",
            "lab",
            "--hosts",
            "5",
            "--seed",
            "3",
            "--base",
            "127.41.0.0",
            "--truth",
            str(truth),
            "--duration",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(truth.read_text())
    assert list(data) == [f"127.41.0.{i}" for i in range(1, 6)]
    assert all(v["device_type"] in {t.value for t in DeviceType} for v in data.values())


def test_lab_refuses_addresses_outside_loopback() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "coverwatch",
            "lab",
            "--hosts",
            "2",
            "--base",
            "192.0.2.0",
            "--duration",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "127.0.0.0/8" in done.stderr and "Traceback" not in done.stderr

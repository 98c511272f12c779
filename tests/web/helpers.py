"""A synchronous client for the ASGI app (httpx over ASGITransport), small page helpers, and
a Dashboard with hand-built traffic data."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from coverwatch.report import ReportData
from coverwatch.traffic.model import (
    Destination,
    DeviceEgress,
    EgressVerdict,
    PortMapping,
    ZoneLink,
)
from coverwatch.web.dashboard import Dashboard
from tests.conftest import free_port
from tests.report.sample import HIK_CLOUD, HOSTILE_DNS, NOW

BASE = "http://127.0.0.1:8080"


class Client:
    """Requests to the app in-process, keeping cookies like a browser (one event loop each)."""

    def __init__(self, app: FastAPI, token: str | None = None) -> None:
        self.app = app
        self.token = token
        self.cookies = httpx.Cookies()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")

        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(
                transport=transport, base_url=BASE, cookies=self.cookies
            ) as client:
                response = await client.request(method, path, headers=headers, **kwargs)
                self.cookies.update(client.cookies)
                return response

        return asyncio.run(send())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def sign_in(self, token: str) -> httpx.Response:
        """Sign in through the form, as a browser would."""
        form = self.get("/signin")
        nonce = hidden(form.text, "nonce")
        return self.post("/signin", data={"token": token, "nonce": nonce, "next": "/"})

    def csrf(self, path: str = "/") -> str:
        """The session's CSRF token, from a page's sign-out form."""
        return hidden(self.get(path).text, "csrf")


def hidden(html: str, name: str) -> str:
    """The value of a hidden input."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name} field"
    return found.group(1)


class TrafficBoard(Dashboard):
    """A Dashboard whose report data carries hand-built traffic verdicts and zone links.

    Stands in for a flow store (``--traffic-dir``) so the pages and the API can be tested
    without captures: the rest of the data is the real pipeline's.
    """

    def __init__(self, board: Dashboard, traffic: list[DeviceEgress], links: list[ZoneLink]):
        super().__init__(board.inventory, board.policy, board.title)
        self.fixed_traffic = traffic
        self.fixed_links = links

    def build(self, site: str | None) -> ReportData:
        return replace(super().build(site), traffic=self.fixed_traffic, links=self.fixed_links)


def estate_traffic(hosts: list[str]) -> tuple[list[DeviceEgress], list[ZoneLink]]:
    """Verdicts for the lab estate: the first host reaches an unknown (hostile) name and its
    maker's cloud with a UPnP mapping, the second shows no egress; one zone link."""
    window = (NOW - timedelta(days=7), NOW)
    unknown = Destination(
        "203.0.113.66", 443, "tcp", HOSTILE_DNS, "RU", None, 2_400_000, 1_000, 3,
        window[0] + timedelta(hours=1), window[0] + timedelta(hours=5), True,
    )  # fmt: skip
    cloud = Destination(
        "198.51.100.7", 443, "tcp", "dev.hik-connect.com", "NL", HIK_CLOUD, 80_000, 9_000, 20,
        window[0], window[1], True,
    )  # fmt: skip
    mapping = PortMapping(hosts[0], "192.0.2.254", "soap-add-port-mapping", NOW, 8000, 80, "TCP")
    traffic = [
        DeviceEgress(
            hosts[0], EgressVerdict.UNKNOWN_DESTINATION, window, 160.0, 300, (unknown, cloud),
            port_mappings=(mapping,), maker="Hikvision",
        ),
        DeviceEgress(hosts[1], EgressVerdict.NO_EGRESS, window, 90.0, 40),
    ]  # fmt: skip
    link = ZoneLink(
        "car-park", "core-dc", window[0], NOW, ("tcp/554",), 5_000_000, 20_000, 7,
        ((hosts[-1], hosts[1]),),
    )  # fmt: skip
    return traffic, [link]


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on 127.0.0.1 (a free port); yields its base URL
    and stops the server afterwards."""
    port = free_port()
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=10)

"""A synchronous client for the ASGI app (httpx over ASGITransport) and small page helpers."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
from fastapi import FastAPI

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

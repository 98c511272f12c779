"""The ASGI application: API router, pages, static assets, security headers, error handling.

``create_app(db, policy_path)`` opens the inventory, loads the policy once (a bad policy fails
here, before anything is served) and wires the rest. Every response carries a strict
Content-Security-Policy (own stylesheet only; no script, no frames, no foreign fetch),
``X-Content-Type-Options: nosniff`` and ``frame-ancestors 'none'``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import cache
from importlib import resources

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coverwatch import __version__
from coverwatch.errors import StoreError
from coverwatch.policy.loader import load_policy
from coverwatch.store import open_inventory
from coverwatch.web import api, ingest, pages
from coverwatch.web.auth import SessionStore
from coverwatch.web.dashboard import Dashboard

#: No script at all, our own stylesheet only, forms post only to us, never framed.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'none'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",  # Chromium sends Origin: null on POST under no-referrer
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cache-control": "no-store",
}
MAX_BODY_BYTES = 2 * 1024 * 1024
"""Largest request body accepted (a 256 KB policy, JSON-escaped, fits); larger ones are
answered 413 before authentication and before anything is buffered."""
#: Stylesheets served at /static/NAME: the report's, then the dashboard's additions.
STATIC = {"report.css": ("coverwatch.report", "templates"), "web.css": ("coverwatch.web", "static")}


class SecurityHeaders:
    """ASGI middleware adding ``SECURITY_HEADERS`` to every response that lacks them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """ASGI middleware refusing request bodies over ``limit`` bytes with 413, before the app
    (authentication, form and JSON parsing) sees them.

    A declared ``Content-Length`` over the limit is refused unread. A chunked body is counted
    as the app reads it: past the limit, the client gets 413 at once and the app sees the
    client go away, so at most ``limit`` bytes are ever held.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = [v for k, v in scope["headers"] if k.lower() == b"content-length"]
        if declared and any(not v.strip().isdigit() or int(v) > self.limit for v in declared):
            await self._refuse(scope, send)
            return
        seen = 0
        refused = False
        started = False

        async def counted_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    if not started:
                        await self._refuse(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has gone out; what the app says after it is moot
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, guarded_send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        detail = f"request body over {self.limit // 1024} KB refused"
        if scope["path"].startswith("/api/"):
            body, media = json.dumps({"detail": detail}).encode(), b"application/json"
        else:
            body, media = f"{detail}\n".encode(), b"text/plain; charset=utf-8"
        headers = [(b"content-type", media), (b"content-length", str(len(body)).encode())]
        headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@cache
def _static_text(name: str) -> str:
    package, folder = STATIC[name]
    return (resources.files(package) / folder / name).read_text("utf-8")


_FASTAPI_BODY_ERROR = "There was an error parsing the body"


def _body_problem(exc: HTTPException) -> str | None:
    """A clear detail for FastAPI's generic 400 "There was an error parsing the body", from
    what the JSON decoder raised."""
    cause = exc.__cause__
    if exc.status_code != 400 or cause is None or exc.detail != _FASTAPI_BODY_ERROR:
        return None
    if isinstance(cause, RecursionError):
        return "body: JSON nested too deeply"
    if isinstance(cause, UnicodeDecodeError):
        return "body: not UTF-8 text"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "body: a number with too many digits"
    return "body: not parsable"


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def create_app(
    db: str,
    policy_path: str | None,
    *,
    trusted: Sequence[str] | None = None,
    traffic_dir: str | None = None,
    max_body: int = MAX_BODY_BYTES,
    ingest_rate: int = ingest.DEFAULT_RATE,
) -> FastAPI:
    """The dashboard and API over the inventory at ``db`` and the policy at ``policy_path``
    (None: the shipped default). ``trusted``: accepted Host header names (None: any).
    ``traffic_dir``: the flow store egress verdicts come from (None: no traffic data).
    ``max_body``: request bodies over this many bytes are refused (413).
    ``ingest_rate``: sensor batches a minute each sensor token may send (429 beyond)."""
    policy = load_policy(policy_path)
    inventory = open_inventory(db)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        inventory.close()

    app = FastAPI(
        title="coverwatch API",
        version=__version__,
        description="The coverwatch inventory, findings, scans and reports. "
        "Authenticate with `Authorization: Bearer <token>` (`coverwatch token create`).",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.dashboard = Dashboard(inventory, policy, traffic_dir=traffic_dir)
    app.state.sessions = SessionStore()
    app.state.ingest_limit = ingest.RateLimit(ingest_rate)
    app.include_router(api.router)
    app.include_router(ingest.router)
    app.include_router(pages.router)

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404, "not found")
        return Response(
            _static_text(name),
            media_type="text/css",
            headers={"cache-control": "public, max-age=3600"},
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        detail = _body_problem(exc) or exc.detail
        if _is_page(request):
            return pages.error_page(request, exc.status_code, str(detail))
        return JSONResponse({"detail": detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid')}"
        if first.get("type") == "json_invalid":
            reason = str(first.get("ctx", {}).get("error", "")).split(":")[0]
            message = f"body: not valid JSON ({reason or 'decode error'})"
        if _is_page(request):
            return pages.error_page(request, 422, message)
        return JSONResponse({"detail": message}, 422)

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> Response:
        if _is_page(request):
            return pages.error_page(request, 503, "The inventory cannot be read right now.")
        return JSONResponse({"detail": "the inventory cannot be read right now"}, 503)

    @app.exception_handler(pages.SignInRequired)
    async def sign_in(request: Request, exc: pages.SignInRequired) -> Response:
        return pages.to_sign_in(request)

    if trusted is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(trusted))
    # Added later = outer: the body cap runs before the Host check, routing and authentication.
    app.add_middleware(BodyLimit, limit=max_body)
    app.add_middleware(SecurityHeaders)  # outermost: even a refused Host gets the headers
    return app

"""The ASGI application: API router, pages, static assets, security headers, error handling.

``create_app(db, policy_path)`` opens the inventory, loads the policy once (a bad policy fails
here, before anything is served) and wires the rest. Every response carries a strict
Content-Security-Policy (own stylesheet only; no script, no frames, no foreign fetch),
``X-Content-Type-Options: nosniff`` and ``frame-ancestors 'none'``.
"""

from __future__ import annotations

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
from coverwatch.web import api, pages
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


@cache
def _static_text(name: str) -> str:
    package, folder = STATIC[name]
    return (resources.files(package) / folder / name).read_text("utf-8")


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def create_app(
    db: str,
    policy_path: str | None,
    *,
    trusted: Sequence[str] | None = None,
    traffic_dir: str | None = None,
) -> FastAPI:
    """The dashboard and API over the inventory at ``db`` and the policy at ``policy_path``
    (None: the shipped default). ``trusted``: accepted Host header names (None: any).
    ``traffic_dir``: the flow store egress verdicts come from (None: no traffic data)."""
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
    app.include_router(api.router)
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
        if _is_page(request):
            return pages.error_page(request, exc.status_code, str(exc.detail))
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid')}"
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
    app.add_middleware(SecurityHeaders)  # outermost: even a refused Host gets the headers
    return app

"""The dashboard pages: server-rendered Jinja2 (autoescaped), no script, forms with CSRF tokens.

Signed-out visitors are sent to /signin. Viewers see everything; only admins see (and may post)
the waiver form. Every POST checks the session's CSRF token and, when the browser sends one,
that the Origin is this server.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi import Path as FastPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from coverwatch import __version__
from coverwatch.errors import InputError
from coverwatch.models import VIDEO_TYPES
from coverwatch.policy.model import FindingStatus, Severity
from coverwatch.report.common import ACTION_LABELS, currency_of, format_cost
from coverwatch.report.html_report import report_charts, rule_rows
from coverwatch.report.overview import SEVERITIES
from coverwatch.report.traffic import (
    build_traffic,
    destination_kind,
    egress_badge,
    format_bytes,
    verdict_class,
)
from coverwatch.targets import ip_key
from coverwatch.traffic.model import EgressVerdict, beyond_maker
from coverwatch.waivers import WaiverRequest
from coverwatch.web.auth import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    SIGNIN_COOKIE,
    Role,
    Session,
    role_of,
)
from coverwatch.web.dashboard import (
    Dashboard,
    DeviceFilter,
    DeviceSort,
    FindingFilter,
    Verdict,
    check_policy_text,
)
from coverwatch.web.schemas import NOT_IN_TRAFFIC_NOTE, TRAFFIC_NOTE

MAX_POLICY_BYTES = 256 * 1024
T = TypeVar("T")

_ENV = Environment(
    loader=PackageLoader("coverwatch.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

router = APIRouter(include_in_schema=False)


class SignInRequired(Exception):
    """No live session: the app answers with a redirect to the sign-in form."""


def _board(request: Request) -> Dashboard:
    board: Dashboard = request.app.state.dashboard
    return board


def _session_of(request: Request) -> Session | None:
    sid = request.cookies.get(SESSION_COOKIE)
    session: Session | None = request.app.state.sessions.get(sid, _board(request).inventory)
    return session


def page_session(request: Request) -> Session:
    """The signed-in session, else SignInRequired."""
    session = _session_of(request)
    if session is None:
        raise SignInRequired
    return session


SessionDep = Annotated[Session, Depends(page_session)]
Board = Annotated[Dashboard, Depends(_board)]


def _local(target: str | None) -> str:
    """``target`` if it is a path on this site, else "/" (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def to_sign_in(request: Request) -> RedirectResponse:
    """Redirect to the sign-in form, coming back here afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/signin" + (f"?{urlencode({'next': here})}" if here != "/" else "")
    return RedirectResponse(target, 303)


def _check_post(request: Request, session: Session, csrf: str) -> None:
    """403 unless the form carries the session's CSRF token and comes from this origin."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPException(403, "cross-origin form refused")
    if not session.csrf_ok(csrf):
        raise HTTPException(403, "the form expired or did not come from this dashboard; reload")


def render(
    request: Request, name: str, session: Session | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """Render a template with the common context (session, CSRF token, flash messages)."""
    flash = list(session.flash) if session else []
    if session:
        session.flash.clear()
    html = _ENV.get_template(name).render(
        request_path=request.url.path,
        session=session,
        csrf=session.csrf if session else "",
        flash=flash,
        version=__version__,
        board=_board(request),
        severities=SEVERITIES,
        statuses=FindingStatus,
        page_rows=PAGE_ROWS,
        action_labels=ACTION_LABELS,
        traffic_note=TRAFFIC_NOTE,
        not_in_traffic_note=NOT_IN_TRAFFIC_NOTE,
        egress=EgressVerdict,
        verdict_class=verdict_class,
        egress_badge=egress_badge,
        destination_kind=destination_kind,
        beyond_maker=beyond_maker,
        format_bytes=format_bytes,
        **context,
    )
    return HTMLResponse(html, status)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """An error as a page (within the layout when signed in)."""
    return render(
        request, "error.html.j2", _session_of(request), status, code=status, message=message
    )


@router.get("/signin")
def signin_form(request: Request, next: Annotated[str, Query(max_length=2000)] = "/") -> Response:
    """The sign-in form (a token in a password field)."""
    if _session_of(request):
        return RedirectResponse(_local(next), 303)
    return _signin_page(request, next, None, 200)


def _signin_page(request: Request, next: str, error: str | None, status: int) -> Response:
    nonce = secrets.token_urlsafe(24)
    response = render(
        request, "signin.html.j2", None, status, next=_local(next), nonce=nonce, error=error
    )
    response.set_cookie(
        SIGNIN_COOKIE,
        nonce,
        max_age=1800,
        path="/signin",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/signin")
def signin(
    request: Request,
    token: Annotated[str, Form(max_length=512)] = "",
    nonce: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the token; on success start a session (HttpOnly, SameSite=Strict cookie)."""
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), nonce.encode()):
        return _signin_page(request, next, "The form expired; please sign in again.", 400)
    role = role_of(_board(request).inventory, token.strip())
    if role is None:
        return _signin_page(request, next, "That token is not valid (or was revoked).", 401)
    if role is Role.SENSOR:
        return _signin_page(request, next, "A sensor token cannot sign in to the dashboard.", 403)
    sid, _session = request.app.state.sessions.create(role, token.strip())
    response = RedirectResponse(_local(next), 303)
    response.set_cookie(
        SESSION_COOKIE,
        sid,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


@router.post("/signout")
def signout(
    request: Request, session: SessionDep, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    """End the session."""
    _check_post(request, session, csrf)
    request.app.state.sessions.drop(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/signin", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def overview(request: Request, session: SessionDep, board: Board) -> Response:
    """Executive summary and charts, live."""
    data, ov = board.snapshot()
    return render(
        request,
        "overview.html.j2",
        session,
        data=data,
        ov=ov,
        traffic=build_traffic(data),
        charts=report_charts(data, ov),
        rule_rows=rule_rows(data),
        video_type_names={t.value for t in VIDEO_TYPES},
        format_cost=partial(format_cost, currency=currency_of(data.policy)),
    )


#: Rows a list page shows unless asked for more (``rows``): 100,000 devices on one page are
#: some 50 MB of HTML, and their 200,000 findings 300 MB, more than a browser can use.
PAGE_ROWS = 500
MAX_PAGE_ROWS = 5000
PageParam = Annotated[int, Query(ge=1, le=10_000_000)]
RowsParam = Annotated[int, Query(ge=1, le=MAX_PAGE_ROWS)]


@dataclass(frozen=True)
class Paging:
    """Where one page of a list sits in it."""

    page: int
    rows: int
    total: int

    @classmethod
    def of(cls, items: list[T], page: int, rows: int) -> tuple[list[T], Paging]:
        """The ``page``-th run of ``rows`` items (the last page when ``page`` is past it)."""
        paging = cls(min(page, cls(1, rows, len(items)).pages), rows, len(items))
        return items[paging.first - 1 : paging.last], paging

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.rows))

    @property
    def first(self) -> int:
        """The 1-based position of the page's first row (0 when the list is empty)."""
        return min(self.total, (self.page - 1) * self.rows + 1)

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.rows)


def _query(params: dict[str, str], rows: int) -> Callable[..., str]:
    """The query string of this list with some parameters changed (empty ones left out): the
    filters, sort and page size stay as they are; a link to another page changes ``page``."""
    fixed = {**params, "rows": "" if rows == PAGE_ROWS else str(rows)}
    return lambda **kw: urlencode({k: v for k, v in {**fixed, **kw}.items() if v})


def _choices(values: set[str | None]) -> list[str]:
    return sorted((v for v in values if v), key=str.lower)


@router.get("/devices")
def devices(
    request: Request,
    session: SessionDep,
    board: Board,
    q: Annotated[str, Query(max_length=200)] = "",
    site: Annotated[str, Query(max_length=200)] = "",
    zone: Annotated[str, Query(max_length=200)] = "",
    maker: Annotated[str, Query(max_length=200)] = "",
    covered: Annotated[str, Query(pattern="^(|yes|no)$")] = "",
    verdict: Annotated[str, Query(pattern="^(|open|waived|unverified|clean)$")] = "",
    sort: DeviceSort = DeviceSort.IP,
    desc: bool = False,
    page: PageParam = 1,
    rows: RowsParam = PAGE_ROWS,
) -> Response:
    """The device list: search, filters, sortable columns, a page at a time."""
    _data, ov = board.snapshot()
    f = DeviceFilter(
        q,
        site or None,
        zone or None,
        maker or None,
        {"yes": True, "no": False}.get(covered),
        Verdict(verdict) if verdict else None,
        sort,
        desc,
    )
    views = ov.devices
    params = {"q": q, "site": site, "zone": zone, "maker": maker, "covered": covered}
    params["verdict"] = verdict
    shown, paging = Paging.of(board.devices(f, ov), page, rows)
    return render(
        request,
        "devices.html.j2",
        session,
        views=shown,
        paging=paging,
        total=len(views),
        f=f,
        params=params,
        sites=_choices({v.device.site for v in views}),
        zones=_choices({v.zone.name if v.zone else None for v in views}),
        makers=_choices({v.device.attribution.maker or "unknown" for v in views}),
        sorts=DeviceSort,
        query=_query(
            {**params, "sort": f.sort.value, "desc": "true" if f.descending else ""}, rows
        ),
    )


@router.get("/device")
def device(
    request: Request,
    session: SessionDep,
    board: Board,
    ip: Annotated[str, Query(max_length=64)],
    site: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """One device: attribution and evidence, findings (waive), observations, history, and
    its traffic verdict with every outside destination."""
    try:
        detail = board.device(ip, site)
    except InputError as e:
        raise HTTPException(404, str(e)) from e
    return render(request, "device.html.j2", session, d=detail, today=date.today())


@router.get("/findings")
def findings(
    request: Request,
    session: SessionDep,
    board: Board,
    severity: Annotated[str, Query(pattern="^(|info|low|medium|high|critical)$")] = "",
    status: Annotated[str, Query(pattern="^(|open|waived|unverified)$")] = "",
    rule: Annotated[str, Query(max_length=100)] = "",
    site: Annotated[str, Query(max_length=200)] = "",
    page: PageParam = 1,
    rows: RowsParam = PAGE_ROWS,
) -> Response:
    """Findings with filters, a page at a time; admins can waive from here."""
    everything = board.data().findings
    f = FindingFilter(
        Severity(severity) if severity else None,
        FindingStatus(status) if status else None,
        rule or None,
        site or None,
    )
    shown, paging = Paging.of(board.findings(f, among=everything), page, rows)
    params = {"severity": severity, "status": status, "rule": rule, "site": site}
    return render(
        request,
        "findings.html.j2",
        session,
        findings=shown,
        paging=paging,
        total=len(everything),
        counts={s: sum(1 for x in everything if x.status is s) for s in FindingStatus},
        params=params,
        rules=sorted({x.rule for x in everything}),
        sites=sorted({x.site for x in everything}),
        today=date.today(),
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        query=_query(params, rows),
    )


@router.post("/waivers")
def waive(
    request: Request,
    session: SessionDep,
    board: Board,
    csrf: Annotated[str, Form(max_length=100)] = "",
    rule: Annotated[str, Form(max_length=100)] = "",
    ip: Annotated[str, Form(max_length=64)] = "",
    site: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    approver: Annotated[str, Form(max_length=500)] = "",
    expires: Annotated[str, Form(max_length=20)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/findings",
) -> Response:
    """Grant a waiver (admin only; the token's name is its author): the finding is "waived"."""
    _check_post(request, session, csrf)
    author = _admin_name(session, board)
    try:
        try:
            until = date.fromisoformat(expires)
        except ValueError as e:
            raise InputError("expires: give a date (YYYY-MM-DD)") from e
        board.waive(WaiverRequest(rule, ip, site or None, reason, approver, until), author)
    except InputError as e:
        session.flash.append(("error", f"Not waived: {e}"))
    else:
        session.flash.append(("ok", f"Waived {rule} for {ip} until {until.isoformat()}."))
    return RedirectResponse(_local(next), 303)


@router.post("/waivers/{waiver_id}/revoke")
def revoke_waiver(
    request: Request,
    session: SessionDep,
    board: Board,
    waiver_id: Annotated[int, FastPath(ge=1, le=2**53)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Revoke a stored waiver (admin only; the token's name is recorded): its finding opens."""
    _check_post(request, session, csrf)
    author = _admin_name(session, board)
    try:
        entry = board.revoke(waiver_id, author)
    except InputError as e:
        session.flash.append(("error", f"Not revoked: {e}"))
    else:
        session.flash.append(
            ("ok", f"Revoked waiver {waiver_id} ({entry.rule} for {entry.device}).")
        )
    return RedirectResponse("/policy#waivers", 303)


def _admin_name(session: Session, board: Dashboard) -> str:
    """The signed-in admin token's name (the author of a waiver change); 403 otherwise."""
    name = board.inventory.token_name(session.token) if session.admin else None
    if name is None:
        raise HTTPException(403, "Only an admin may grant or revoke waivers.")
    return name


@router.get("/scans")
def scans(
    request: Request,
    session: SessionDep,
    board: Board,
    before: Annotated[int | None, Query(ge=0, le=2**53)] = None,
    after: Annotated[int | None, Query(ge=0, le=2**53)] = None,
) -> Response:
    """Every scan, and the difference between any two."""
    records = board.inventory.scans()
    result, error = None, None
    if len(records) >= 2 or before is not None or after is not None:
        try:
            result = board.diff(before, after)
        except InputError as e:
            error = str(e)
    return render(
        request,
        "scans.html.j2",
        session,
        scans=list(reversed(records)),
        sensors=board.inventory.sensors(),
        history={p["scan_id"]: p for p in board.inventory.history()},
        result=result,
        changes=sorted(result.devices, key=lambda c: (c.site, ip_key(c.ip))) if result else [],
        error=error,
    )


@router.get("/policy")
def policy(request: Request, session: SessionDep) -> Response:
    """The effective policy, and a form to validate another."""
    return _policy_page(request, session, None, "")


def _policy_page(request: Request, session: Session, check: Any, text: str) -> Response:
    board = _board(request)
    return render(
        request,
        "policy.html.j2",
        session,
        policy=board.policy,
        waivers=board.waivers(),
        check=check,
        text=text,
        today=date.today(),
    )


@router.post("/policy")
async def policy_check(
    request: Request,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    text: Annotated[str, Form(max_length=MAX_POLICY_BYTES)] = "",
    upload: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Validate a pasted or uploaded policy; shows the one-line error (file:line: field)."""
    _check_post(request, session, csrf)
    label = "<pasted>"
    if upload is not None and upload.filename:
        raw = await upload.read(MAX_POLICY_BYTES + 1)
        if len(raw) > MAX_POLICY_BYTES:
            raise HTTPException(413, "policy files over 256 KB are refused")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _policy_page(request, session, (None, f"{upload.filename}: not UTF-8 text"), "")
        label = upload.filename.replace("/", "_")[:100]
    policy, error = check_policy_text(text, label)
    return _policy_page(request, session, (policy, error), text)

"""The REST API under /api/v1: bearer-token authenticated, JSON in the CLI's shapes.

Reads need any valid token (viewer or admin); granting or revoking a waiver needs an admin
token, whose name is recorded as its author. The API
never reads cookies, so a browser session cannot be used to call it (no CSRF surface).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from coverwatch.errors import InputError
from coverwatch.policy.model import FindingStatus, Severity, finding_to_json, policy_document
from coverwatch.report import REPORTS, Format
from coverwatch.report.html_report import content_security_policy
from coverwatch.report.traffic import egress_to_json, link_to_json
from coverwatch.waivers import WaiverRequest
from coverwatch.web.auth import Role, role_of
from coverwatch.web.dashboard import (
    Dashboard,
    DeviceFilter,
    DeviceSort,
    FindingFilter,
    Verdict,
    check_policy_text,
)
from coverwatch.web.schemas import (
    NOT_IN_TRAFFIC_NOTE,
    TRAFFIC_NOTE,
    DeviceDetailOut,
    DeviceOut,
    DiffOut,
    ErrorOut,
    FindingOut,
    PolicyCheckIn,
    PolicyCheckOut,
    ScanOut,
    SensorOut,
    TrafficOut,
    WaiverIn,
    WaiverOut,
    scan_json,
)

_bearer = HTTPBearer(
    auto_error=False,
    description="A token from `coverwatch token create --role viewer|admin|sensor`.",
)
#: Every operation: 400 for an unparsable body, 401 without a valid token, 413 for a body over
#: the cap (app.BodyLimit), 422 for invalid input (one line; the bad value is never echoed).
_COMMON: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Malformed request (body not parsable)"},
    401: {"model": ErrorOut, "description": "No valid bearer token"},
    413: {"model": ErrorOut, "description": "Request body over 2 MB (refused unread)"},
    422: {"model": ErrorOut, "description": "Invalid input"},
}
_MEDIA = {
    Format.JSON: "application/json",
    Format.CSV: "text/csv; charset=utf-8",
    Format.MD: "text/markdown; charset=utf-8",
    Format.HTML: "text/html; charset=utf-8",
    Format.SUMMARY: "text/html; charset=utf-8",
}

router = APIRouter(prefix="/api/v1", responses=_COMMON)


def dashboard_of(request: Request) -> Dashboard:
    """The app's Dashboard."""
    board: Dashboard = request.app.state.dashboard
    return board


Board = Annotated[Dashboard, Depends(dashboard_of)]


def token_role(
    board: Board,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Role:
    """The caller's role from ``Authorization: Bearer``; 401 without a valid token."""
    role = role_of(board.inventory, credentials.credentials) if credentials else None
    if role is None:
        raise HTTPException(
            401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    return role


def api_role(role: Annotated[Role, Depends(token_role)]) -> Role:
    """403 for a sensor token: it may send its sites' runs, not read the inventory."""
    if role is Role.SENSOR:
        raise HTTPException(403, "a sensor token may only send runs (POST /api/v1/ingest)")
    return role


def admin_role(role: Annotated[Role, Depends(api_role)]) -> Role:
    """403 unless the caller's token is an admin token."""
    if role is not Role.ADMIN:
        raise HTTPException(403, "this needs an admin token")
    return role


def admin_name(
    board: Board,
    role: Annotated[Role, Depends(admin_role)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The admin token's name: the author recorded for what it does."""
    name = board.inventory.token_name(credentials.credentials) if credentials else None
    if name is None:  # revoked between the two checks
        raise HTTPException(401, "a valid bearer token is required")
    return name


Reader = Depends(api_role)
Author = Annotated[str, Depends(admin_name)]


def _json(content: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(content, status_code=status)


T = TypeVar("T")
#: ``limit`` and ``offset`` of a list: all of it unless asked (the list stays the body; the
#: ``X-Total-Count`` header says how long the whole is).
Limit = Annotated[int | None, Query(ge=1, le=1_000_000, description="At most this many")]
Offset = Annotated[int, Query(ge=0, le=100_000_000, description="Skip this many first")]


def _listed(
    items: Sequence[T], to_json: Callable[[T], Any], limit: int | None, offset: int
) -> JSONResponse:
    """A part of a list as JSON, with the whole list's length in ``X-Total-Count``."""
    part = items[offset : None if limit is None else offset + limit]
    response = _json([to_json(x) for x in part])
    response.headers["X-Total-Count"] = str(len(items))
    return response


@router.get("/devices", response_model=list[DeviceOut], dependencies=[Reader], tags=["devices"])
def list_devices(
    board: Board,
    q: Annotated[str, Query(max_length=200, description="Words to find")] = "",
    site: Annotated[str | None, Query(max_length=200)] = None,
    zone: Annotated[str | None, Query(max_length=200)] = None,
    maker: Annotated[str | None, Query(max_length=200, description='A maker, or "unknown"')] = None,
    covered: bool | None = None,
    verdict: Annotated[Verdict | None, Query(description="Has a finding of this status")] = None,
    sort: DeviceSort = DeviceSort.IP,
    desc: bool = False,
    limit: Limit = None,
    offset: Offset = 0,
) -> JSONResponse:
    """The inventory, as ``coverwatch devices --json``, filtered and sorted; ``limit`` and
    ``offset`` take a part of it (``X-Total-Count``: how many match)."""
    f = DeviceFilter(q, site, zone, maker, covered, verdict, sort, desc)
    return _listed(board.devices(f), lambda v: v.device.to_json(), limit, offset)


@router.get(
    "/devices/{ip}",
    response_model=DeviceDetailOut,
    dependencies=[Reader],
    responses={404: {"model": ErrorOut, "description": "No such device (or several sites)"}},
    tags=["devices"],
)
def device_detail(
    board: Board,
    ip: Annotated[str, Path(max_length=64)],
    site: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    """One device: attribution with every piece of evidence, findings, observations, history."""
    try:
        detail = board.device(ip, site)
    except InputError as e:
        raise HTTPException(404, str(e)) from e
    zone = detail.view.zone
    return _json(
        {
            "device": detail.view.device.to_json(),
            "zone": None
            if zone is None
            else {
                "name": zone.name,
                "cidrs": [str(n) for n in zone.networks],
                "sensitive": zone.sensitive,
                "core": zone.core,
            },
            "findings": [finding_to_json(f) for f in detail.view.findings],
            "observations": [o.to_json() for o in detail.explanation.observations],
            "unmatched": [o.to_json() for o in detail.explanation.unmatched],
            "history": [
                {
                    "scan_id": s.scan_id,
                    "started_at": s.started_at,
                    "device": s.record.to_json() if s.record else None,
                    "changed": list(s.changed),
                }
                for s in detail.history
            ],
            "traffic": {
                "verdicts": [egress_to_json(detail.egress)] if detail.egress else [],
                "note": None
                if detail.egress
                else NOT_IN_TRAFFIC_NOTE
                if detail.has_traffic
                else TRAFFIC_NOTE,
            },
        }
    )


@router.get("/findings", response_model=list[FindingOut], dependencies=[Reader], tags=["findings"])
def list_findings(
    board: Board,
    severity: Severity | None = None,
    status: FindingStatus | None = None,
    rule: Annotated[str | None, Query(max_length=100)] = None,
    site: Annotated[str | None, Query(max_length=200)] = None,
    ip: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = None,
    offset: Offset = 0,
) -> JSONResponse:
    """The policy's findings now, as ``coverwatch audit --json`` (stored waivers applied);
    ``limit`` and ``offset`` take a part of them (``X-Total-Count``: how many match)."""
    f = FindingFilter(severity, status, rule, site, ip)
    return _listed(board.findings(f, cli_order=True), finding_to_json, limit, offset)


@router.get("/scans", response_model=list[ScanOut], dependencies=[Reader], tags=["scans"])
def list_scans(board: Board) -> JSONResponse:
    """Every recorded scan, oldest first."""
    return _json([scan_json(s) for s in board.inventory.scans()])


@router.get("/sensors", response_model=list[SensorOut], dependencies=[Reader], tags=["sensors"])
def list_sensors(board: Board) -> JSONResponse:
    """Every site sensor that has sent batches: per site, how many, its last contact and lag."""
    return _json(
        [{**s, "last_contact": s["last_contact"].isoformat()} for s in board.inventory.sensors()]
    )


@router.get(
    "/diff",
    response_model=DiffOut,
    dependencies=[Reader],
    responses={404: {"model": ErrorOut, "description": "Unknown scan, or fewer than two"}},
    tags=["scans"],
)
def scan_diff(
    board: Board,
    before: Annotated[int | None, Query(ge=0, le=2**53)] = None,
    after: Annotated[int | None, Query(ge=0, le=2**53)] = None,
) -> JSONResponse:
    """Devices added, removed and changed between two scans (default: the last two), and the
    findings that appeared or were resolved; as ``coverwatch diff --json``."""
    try:
        result = board.diff(before, after)
    except InputError as e:
        raise HTTPException(404, str(e)) from e
    return _json(result.to_json())


@router.get(
    "/report/{fmt}",
    dependencies=[Reader],
    response_class=Response,
    responses={
        200: {
            "description": "The report file",
            "content": {
                m.split(";")[0]: {"schema": {"type": "object" if f is Format.JSON else "string"}}
                for f, m in _MEDIA.items()
            },
        },
        404: {"model": ErrorOut, "description": "No such site"},
    },
    tags=["reports"],
)
def report(
    board: Board,
    fmt: Format,
    site: Annotated[str | None, Query(max_length=200)] = None,
    title: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The compliance report (as ``coverwatch report``) in json, csv, md or html, or the
    one-page executive summary (summary, HTML); a site the
    inventory does not know is 404 (a typo must not read as an empty, clean estate)."""
    try:
        board.known_site(site)
    except InputError as e:
        raise HTTPException(404, str(e)) from e
    text = REPORTS[fmt]().render(board.data(site, title))
    name = "summary" if fmt is Format.SUMMARY else "report"
    filename = f"coverwatch-{name}.{REPORTS[fmt].extension}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt is Format.SUMMARY:
        from coverwatch.report.html_report import csp_hash, report_asset

        style = csp_hash(report_asset("summary.css"))
        headers["Content-Security-Policy"] = (
            f"default-src 'none'; style-src {style}; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'"
        )
    if fmt is Format.HTML:
        # The report allows its own inline script and style by hash; keep exactly that.
        from coverwatch.report.html_report import report_asset

        csp = content_security_policy(report_asset("report.js"), report_asset("report.css"))
        headers["Content-Security-Policy"] = csp + "; frame-ancestors 'none'"
    return Response(text, media_type=_MEDIA[fmt], headers=headers)


@router.get("/waivers", response_model=list[WaiverOut], dependencies=[Reader], tags=["waivers"])
def list_waivers(board: Board) -> JSONResponse:
    """Every waiver: the policy file's (``origin: policy``, ``id: null``) and those granted in
    the dashboard, API or CLI (``origin: stored``), revoked ones included, in one shape."""
    return _json([w.to_json() for w in board.waivers()])


@router.post(
    "/waivers",
    response_model=WaiverOut,
    status_code=201,
    responses={403: {"model": ErrorOut, "description": "Not an admin token"}},
    tags=["waivers"],
)
def create_waiver(board: Board, body: WaiverIn, author: Author) -> JSONResponse:
    """Waive one rule for one device until a date: its finding becomes "waived" (admin only;
    the token's name is recorded as the author). ``ip`` is accepted for ``device``."""
    device = body.device or body.ip
    if not device:
        raise HTTPException(422, "device: required")
    ask = WaiverRequest(body.rule, device, body.site, body.reason, body.approver, body.expires)
    try:
        entry = board.waive(ask, author)
    except InputError as e:
        raise HTTPException(422, str(e)) from e
    return _json(entry.to_json(), 201)


@router.delete(
    "/waivers/{waiver_id}",
    response_model=WaiverOut,
    responses={
        403: {"model": ErrorOut, "description": "Not an admin token"},
        404: {"model": ErrorOut, "description": "No such stored waiver"},
        409: {"model": ErrorOut, "description": "Already revoked"},
    },
    tags=["waivers"],
)
def revoke_waiver(
    board: Board, author: Author, waiver_id: Annotated[int, Path(ge=1, le=2**53)]
) -> JSONResponse:
    """Revoke a stored waiver (admin only): it is kept, with when and by which token, and no
    longer applies; its finding is open again. A policy file's waiver is removed in the file."""
    if not any(w.id == waiver_id for w in board.waivers()):
        raise HTTPException(404, f"waiver {waiver_id}: no such stored waiver")
    try:
        entry = board.revoke(waiver_id, author)
    except InputError as e:
        raise HTTPException(409, str(e)) from e
    return _json(entry.to_json())


@router.get("/traffic", response_model=TrafficOut, dependencies=[Reader], tags=["traffic"])
def traffic(board: Board) -> JSONResponse:
    """Every device's egress verdict (no traffic, no egress, vendor cloud, third party,
    unknown destination) with its destinations, and the traffic seen between zones; the same
    objects as the JSON report's ``traffic`` and ``links``."""
    data = board.data()
    return _json(
        {
            "verdicts": [egress_to_json(e) for e in data.traffic],
            "links": [link_to_json(k) for k in data.links],
            "note": None if data.traffic else TRAFFIC_NOTE,
        }
    )


@router.get("/policy", dependencies=[Reader], tags=["policy"])
def effective_policy(board: Board) -> dict[str, Any]:
    """The effective policy (defaults filled in), as ``coverwatch policy show``."""
    return policy_document(board.policy)


@router.post("/policy/check", response_model=PolicyCheckOut, dependencies=[Reader], tags=["policy"])
def check_policy(body: PolicyCheckIn) -> JSONResponse:
    """Validate a policy document without applying it; errors name line and field."""
    policy, error = check_policy_text(body.text, body.label)
    return _json(
        {
            "valid": policy is not None,
            "error": error,
            "name": policy.name if policy else None,
            "version": policy.version if policy else None,
            "zones": len(policy.zones) if policy else 0,
            "rules": len(policy.rules) if policy else 0,
            "waivers": len(policy.waivers) if policy else 0,
        }
    )

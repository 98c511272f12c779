"""``POST /api/v1/ingest``: site sensors send their runs to the central server (issue #15).

A batch is one run of one source kind at one site. It is attributed and stored through the same
path as a local run (``pipeline.record_run``), so identity resolution and attribution are the
same, and its idempotency key is kept in the same transaction: a retried batch is acknowledged
with the run it already became and records nothing twice, even when two copies race.

Only ``sensor`` tokens may send, each to the sites it is bound to (403 otherwise). A batch over
``MAX_HOSTS`` hosts or ``MAX_OBSERVATIONS`` observations is 413 (the app's body cap applies
first); each token gets ``rate`` batches a minute, in bursts of at most that many (429 beyond).

A batch may also carry flow aggregates, DNS answers and port mappings from the site's captures
(``traffic.aggregate``): they go to the server's flow store under the batch's key, before its
run is recorded, so a retry replaces them rather than adding them twice. A batch of flows
alone records no run.

A run too large for one batch comes in parts sharing a ``run_key`` (``part`` of ``parts``): each
part is kept in the inventory (202) until the last is in, and the run is then recorded whole,
once, under the run key, so a diff or a watch never compares half a run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from coverwatch.errors import CoverwatchError, StoreError
from coverwatch.models import Observation
from coverwatch.pipeline import CollectedRun, record_collected
from coverwatch.web.api import _COMMON, Board, _bearer, token_role
from coverwatch.web.auth import Role
from coverwatch.web.schemas import ErrorOut, IngestHostIn, IngestIn, IngestOut

logger = logging.getLogger(__name__)

MAX_HOSTS = 2_000
"""Hosts in one batch at most (a sensor splits a larger run)."""
MAX_OBSERVATIONS = 40_000
"""Observations in one batch at most."""
MAX_FLOW_ROWS = 20_000
"""Flow aggregates, DNS answers and port mappings in one batch at most."""
DEFAULT_RATE = 120
"""Batches a minute per sensor token by default."""
_FUTURE = timedelta(days=1)
"""A run said to start later than this from now is a sensor's clock gone wrong: refused."""

router = APIRouter(prefix="/api/v1", tags=["sensors"], responses=_COMMON)


class RateLimit:
    """A token bucket per caller: ``per_minute`` requests a minute, bursts of that many."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, caller: str) -> bool:
        """Take one request from ``caller``'s bucket; False when it is empty."""
        now = time.monotonic()
        with self._lock:
            if len(self._buckets) > 10_000:  # bounded memory: forget idle callers
                self._buckets.clear()
            level, then = self._buckets.get(caller, (float(self.per_minute), now))
            level = min(float(self.per_minute), level + (now - then) * self.per_minute / 60)
            if level < 1:
                self._buckets[caller] = (level, now)
                return False
            self._buckets[caller] = (level - 1, now)
            return True


def sensor_token(
    role: Annotated[Role, Depends(token_role)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The caller's token; 403 unless it is a sensor token."""
    if role is not Role.SENSOR or credentials is None:
        raise HTTPException(
            403, "this needs a sensor token (coverwatch token create --role sensor)"
        )
    return credentials.credentials


def _acknowledge(
    run_id: int | None, key: str, hosts: int, duplicate: bool, status: int = 201
) -> JSONResponse:
    body = {"run_id": run_id, "batch_key": key, "hosts": hosts, "duplicate": duplicate}
    return JSONResponse(body, 200 if duplicate else status)


def _known(board: Board, body: IngestIn) -> JSONResponse | None:
    """The acknowledgement of a batch (or of the run its parts make) already recorded under
    its key, else None (409 when the key was used for another site)."""
    key, field = (body.run_key, "run_key") if body.parts > 1 else (body.batch_key, "batch_key")
    done = board.inventory.ingested(key or "")
    if done is None:
        return None
    if done["site"] != body.site:
        raise HTTPException(409, f"{field}: already used for another site")
    return _acknowledge(done["run_id"], body.batch_key, len(body.hosts), True)


@router.post(
    "/ingest",
    response_model=IngestOut,
    status_code=201,
    responses={
        200: {"model": IngestOut, "description": "Already recorded under this key (a retry)"},
        202: {"model": IngestOut, "description": "A part kept until the run's last part is in"},
        403: {"model": ErrorOut, "description": "Not a sensor token, or not one of its sites"},
        409: {"model": ErrorOut, "description": "The key was used for another site"},
        413: {"model": ErrorOut, "description": "Too many hosts, observations or flows"},
        501: {"model": ErrorOut, "description": "Flows sent to a server without a flow store"},
        429: {"model": ErrorOut, "description": "Too many batches a minute from this token"},
    },
)
def ingest(
    request: Request, board: Board, body: IngestIn, token: Annotated[str, Depends(sensor_token)]
) -> JSONResponse:
    """Record one sensor batch (one run of one source kind at one site) as a local run is
    recorded: the same identity resolution and attribution. 201 with the new run's id; 200
    with the same id when the key was already recorded (nothing is recorded twice)."""
    inventory = board.inventory
    if body.site not in inventory.token_sites(token):
        raise HTTPException(403, f"site {body.site[:60]!r}: this sensor token may not write it")
    limit: RateLimit = request.app.state.ingest_limit
    if not limit.allow(hashlib.sha256(token.encode()).hexdigest()):
        raise HTTPException(429, "too many batches from this token; retry later")
    observations = sum(len(h.observations) for h in body.hosts)
    if len(body.hosts) > MAX_HOSTS or observations > MAX_OBSERVATIONS:
        raise HTTPException(
            413,
            f"batch of {len(body.hosts)} hosts, {observations} observations: at most "
            f"{MAX_HOSTS} hosts and {MAX_OBSERVATIONS} observations a batch",
        )
    rows = len(body.flows) + len(body.dns) + len(body.portmaps)
    if rows > MAX_FLOW_ROWS:
        raise HTTPException(
            413, f"batch of {rows} flow, DNS and port mapping rows: at most {MAX_FLOW_ROWS}"
        )
    latest = datetime.now(UTC) + _FUTURE
    if body.started_at > latest:
        raise HTTPException(422, "body.started_at: more than a day in the future")
    sensor = inventory.token_name(token) or "sensor"
    if rows:
        stored = _store_flows(board, body, sensor, latest.timestamp())
        if not body.hosts:
            return _acknowledge(None, body.batch_key, 0, stored)
    known = _known(board, body)
    if known is not None:
        return known
    whole = body
    if body.run_key is not None and body.parts > 1:
        kept = inventory.stage_part(
            body.run_key, body.part, body.parts, body.site, body.model_dump_json(include={"hosts"})
        )
        if not kept:
            return _acknowledge(None, body.batch_key, len(body.hosts), False, 202)
        hosts = [IngestHostIn.model_validate(h) for part in kept for h in json.loads(part)["hosts"]]
        whole = body.model_copy(update={"hosts": hosts, "batch_key": body.run_key})
    run = CollectedRun(whole.kind, _found(whole), whole.targets, _options(whole), whole.started_at)
    try:
        run_id, results = record_collected(
            inventory, body.site, run, batch=(whole.batch_key, sensor)
        )
    except StoreError:
        known = _known(board, body)  # the same batch, recorded by a concurrent request
        if known is not None:
            return known
        raise
    if whole is not body:
        inventory.drop_parts(whole.batch_key)
    logger.info("sensor %s: batch %s recorded as run %d", sensor, whole.batch_key, run_id)
    return _acknowledge(run_id, body.batch_key, len(results), False)


def _store_flows(board: Board, body: IngestIn, sensor: str, latest: float) -> bool:
    """Add the batch's flow aggregates, DNS answers and port mappings to the server's flow
    store under its key (a retry replaces its own rows); True when the key was stored before.
    Written before the batch's run is recorded, so a retry after any failure completes it."""
    store_dir = board.traffic_dir
    if store_dir is None:
        raise HTTPException(501, "this server keeps no flow store: flows cannot be recorded")
    try:
        from coverwatch.traffic import aggregate
    except ImportError as e:
        raise HTTPException(
            501, "this server cannot store flows: install the pcap extra (duckdb, pyarrow)"
        ) from e
    times = (
        ("flows", [r.last_ts for r in body.flows]),
        ("dns", [r.ts for r in body.dns]),
        ("portmaps", [r.ts for r in body.portmaps]),
    )
    for name, ends in times:
        late = next((i for i, ts in enumerate(ends) if ts > latest), None)
        if late is not None:
            raise HTTPException(422, f"body.{name}.{late}: more than a day in the future")
    stored = aggregate.stored(store_dir, body.batch_key)
    found = aggregate.Aggregates(
        [r.model_dump() for r in body.flows],
        [r.model_dump() for r in body.dns],
        [r.model_dump() for r in body.portmaps],
    )
    try:
        aggregate.store(store_dir, body.batch_key, body.site, found)
    except CoverwatchError as e:
        logger.error("sensor %s: batch %s: %s", sensor, body.batch_key, e)
        raise HTTPException(503, "the flow store cannot be written right now") from e
    return stored


def _found(body: IngestIn) -> dict[str, list[Observation]]:
    found: dict[str, list[Observation]] = {}
    for host in body.hosts:
        found.setdefault(host.ip, []).extend(
            Observation(
                host.ip,
                o.signal,
                o.value,
                o.port,
                o.protocol,
                o.status,
                body.kind,
                o.observed_at,
            )
            for o in host.observations
        )
    return {ip: obs for ip, obs in found.items() if obs}


def _options(body: IngestIn) -> dict[str, Any]:
    return {**body.options, "sensor_batch": body.batch_key}

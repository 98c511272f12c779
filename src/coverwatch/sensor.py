"""A site sensor (issue #15): runs the site's scans and discovery locally, reads what the
captures dropped in its capture folder show passively, and ships what it observed to the
central ``coverwatch serve`` (``POST /api/v1/ingest``) as batches: observations, and the
captures' flows as per-device aggregates (``traffic.aggregate``), never raw flows.

Every batch is written to the spool before it is sent, under an idempotency key (a UUID) kept
inside the file, and leaves the spool only once the server has acknowledged it: when the server
cannot be reached the batches wait there and are resent, oldest first, on the next cycle, and a
retry of a batch the server did record is acknowledged without recording it twice. The spool is
bounded (``max_batches``): past it the oldest batches are dropped, and each drop is reported.
The token is sent only in the Authorization header; it is never written to the spool or logged.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coverwatch.errors import CoverwatchError, InputError
from coverwatch.models import Observation
from coverwatch.observer import NULL_OBSERVER, Observer
from coverwatch.pipeline import CollectedRun, collect_discovery, collect_scan
from coverwatch.sources.active import ScanOptions
from coverwatch.targets import DEFAULT_MAX_HOSTS, expand_targets

if TYPE_CHECKING:
    from coverwatch.traffic.aggregate import Aggregates

logger = logging.getLogger(__name__)

BATCH_HOSTS = 500
"""Hosts in one batch at most (the server takes up to 2,000)."""
BATCH_BYTES = 1_500_000
"""A batch's JSON at most this large (the server's body cap is 2 MB)."""
BATCH_FLOW_ROWS = 4000
"""Flow aggregates, DNS answers and port mappings in one batch at most (about 1 MB)."""
DEFAULT_SPOOL_BATCHES = 1000
"""Batches the spool keeps by default; beyond, the oldest are dropped."""
#: Answers after which a batch will never be accepted as it is: it is set aside, not resent.
_REFUSED = {400, 403, 409, 413, 422}


@dataclass(frozen=True)
class SensorPlan:
    """What a sensor does each cycle."""

    site: str
    """The site its runs belong to (its token must be bound to it)."""
    targets: list[str] = field(default_factory=list)
    """The declared scope it scans (nothing outside is contacted)."""
    options: ScanOptions = field(default_factory=ScanOptions)
    """How it scans."""
    interface: str | None = None
    """Ask the local link on this interface with the discovery protocols, too."""
    max_hosts: int = DEFAULT_MAX_HOSTS
    """Refuse targets that expand to more hosts than this."""
    capture_dir: Path | None = None
    """A folder where captures (pcap, pcapng) are dropped: each is read once, passively."""


#: A capture is read once it has not changed for this long (a capture being written is not).
CAPTURE_SETTLE_SECONDS = 30.0
_CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap")
_SEEN_FILE = ".captures-read"


@dataclass
class Collected:
    """What one cycle observed, before it is spooled."""

    runs: list[CollectedRun] = field(default_factory=list)
    """The runs: discovery, the scan, the captures' passive observations."""
    flows: Aggregates | None = None
    """The captures' flows as per-device aggregates (None without new captures)."""
    captures: list[str] = field(default_factory=list)
    """Marks of the captures read (``remember_captures`` once their batches are spooled)."""


def _marks(state: Path) -> set[str]:
    return set(state.read_text(encoding="utf-8").splitlines()) if state.exists() else set()


def remember_captures(state: Path, marks: list[str]) -> None:
    """Note the captures of ``marks`` as read, so they are not read again; called once their
    batches are in the spool (a crash before then reads them again: a capture's batches may be
    sent twice under new keys, never lost)."""
    if not marks:
        return
    seen = _marks(state) | set(marks)
    partial = state.with_name(state.name + ".part")
    partial.write_text("".join(f"{m}\n" for m in sorted(seen)), encoding="utf-8")
    os.replace(partial, state)


def collect_captures(
    folder: Path, state: Path, observer: Observer = NULL_OBSERVER
) -> tuple[CollectedRun, Aggregates, list[str]] | None:
    """The captures in ``folder`` not read before (``remember_captures`` notes them in
    ``state``: name, size, time), each read once: the passive observations as one capture run,
    their flows as per-device aggregates, and the captures' marks; None when there is no new
    capture. A file that is not a capture is reported (and remembered with the others)."""
    from datetime import UTC, datetime

    from coverwatch.models import SourceKind
    from coverwatch.traffic.aggregate import Aggregates, read_capture

    seen = _marks(state)
    now = time.time()
    fresh: list[tuple[Path, str]] = []
    for path in sorted(folder.glob("*")):
        if path.suffix.lower() not in _CAPTURE_SUFFIXES or not path.is_file():
            continue
        info = path.stat()
        mark = f"{path.name}\t{info.st_size}\t{info.st_mtime_ns}"
        if mark not in seen and now - info.st_mtime >= CAPTURE_SETTLE_SECONDS:
            fresh.append((path, mark))
    if not fresh:
        return None
    started = datetime.now(UTC)
    found: dict[str, list[Observation]] = {}
    flows = Aggregates()
    read: list[str] = []
    for path, _ in fresh:
        try:
            observed, aggregates = read_capture(str(path))
        except CoverwatchError as e:
            observer.note(f"capture {path.name}: {e}")
        else:
            for ip, observations in observed.items():
                found.setdefault(ip, []).extend(observations)
            flows.extend(aggregates)
            read.append(path.name)
    options: dict[str, object] = {"files": read}
    run = CollectedRun(SourceKind.CAPTURE, found, read, options, started)
    return run, flows, [mark for _, mark in fresh]


def collect(
    plan: SensorPlan, observer: Observer = NULL_OBSERVER, state: Path | None = None
) -> Collected:
    """One cycle: discovery (with an interface), the scan of the targets, and the captures of
    the capture folder not read before (``state``), with their flows."""
    hosts = expand_targets(plan.targets, plan.max_hosts) if plan.targets else []
    cycle = Collected()
    if plan.interface:
        run = collect_discovery(
            hosts or None, plan.interface, plan.options.timeout, observer, plan.targets or None
        )
        cycle.runs.append(run)
    if hosts:
        cycle.runs.append(collect_scan(hosts, plan.targets, plan.options, observer))
    if plan.capture_dir is not None and state is not None:
        passive = collect_captures(plan.capture_dir, state, observer)
        if passive is not None:
            run, cycle.flows, cycle.captures = passive
            cycle.runs.append(run)
    return cycle


def _host_json(ip: str, observations: list[Observation]) -> dict[str, Any]:
    return {
        "ip": ip,
        "observations": [
            {k: v for k, v in o.to_json().items() if k != "source"} for o in observations
        ],
    }


def batches_of(run: CollectedRun, site: str) -> list[dict[str, Any]]:
    """The run as ingest batches, each with its own idempotency key: one, or for a large run
    several parts sharing a ``run_key`` that the server records as one run once all are in.
    A run with no host is still one (empty) batch: the server learns the scope was looked at."""
    head: dict[str, Any] = {
        "site": site,
        "kind": run.kind.value,
        "targets": run.targets,
        "options": run.options,
        "started_at": run.started.isoformat(),
    }
    groups: list[list[dict[str, Any]]] = [[]]
    size = 0
    for ip, observations in run.found.items():
        host = _host_json(ip, observations)
        length = len(json.dumps(host))
        if groups[-1] and (len(groups[-1]) >= BATCH_HOSTS or size + length > BATCH_BYTES):
            groups.append([])
            size = 0
        groups[-1].append(host)
        size += length
    if len(groups) > 1:
        head |= {"run_key": str(uuid.uuid4()), "parts": len(groups)}
    return [
        {
            "batch_key": str(uuid.uuid4()),
            **head,
            **({"part": n} if len(groups) > 1 else {}),
            "hosts": hosts,
        }
        for n, hosts in enumerate(groups, 1)
    ]


def flow_batches(flows: Aggregates, site: str, started: str) -> Iterator[dict[str, Any]]:
    """The captures' flow aggregates, DNS answers and port mappings as ingest batches of at
    most ``BATCH_FLOW_ROWS`` rows, each with its own idempotency key (they record no run)."""
    rows = [("flows", r) for r in flows.flows]
    rows += [("dns", r) for r in flows.dns]
    rows += [("portmaps", r) for r in flows.portmaps]
    for at in range(0, len(rows), BATCH_FLOW_ROWS):
        batch: dict[str, Any] = {
            "batch_key": str(uuid.uuid4()),
            "site": site,
            "kind": "capture",
            "targets": [],
            "started_at": started,
            "hosts": [],
            "flows": [],
            "dns": [],
            "portmaps": [],
        }
        for table, row in rows[at : at + BATCH_FLOW_ROWS]:
            batch[table].append(row)
        yield batch


class Spool:
    """Batches waiting for the server: one JSON file each in ``folder``, oldest first."""

    def __init__(self, folder: Path, max_batches: int = DEFAULT_SPOOL_BATCHES) -> None:
        self.folder = folder
        self.max_batches = max_batches
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as e:
            raise InputError(f"--spool {folder}: cannot create it: {e.strerror}") from e

    def put(self, batch: dict[str, Any]) -> list[str]:
        """Keep a batch (written whole, then renamed into place); returns the keys of the
        oldest batches dropped to stay within the bound."""
        name = f"{time.time_ns():020d}-{batch['batch_key']}.json"
        partial = self.folder / f".{name}.part"
        try:
            partial.write_text(json.dumps(batch), encoding="utf-8")
            partial.chmod(0o600)
            os.replace(partial, self.folder / name)
        except OSError as e:
            raise CoverwatchError(f"spool {self.folder}: cannot write a batch: {e.strerror}") from e
        dropped = []
        waiting = self.pending()
        for old in waiting[: max(0, len(waiting) - self.max_batches)]:
            dropped.append(_key_of(old))
            old.unlink(missing_ok=True)
        return dropped

    @property
    def state(self) -> Path:
        """Where the sensor remembers the captures it has read (beside the batches)."""
        return self.folder / _SEEN_FILE

    def pending(self) -> list[Path]:
        """The batches waiting, oldest first."""
        return sorted(self.folder.glob("*.json"))

    def set_aside(self, path: Path, reason: str) -> None:
        """Move a batch the server refused to ``rejected/``, with the reason beside it."""
        rejected = self.folder / "rejected"
        rejected.mkdir(exist_ok=True, mode=0o700)
        os.replace(path, rejected / path.name)
        (rejected / (path.name + ".reason")).write_text(reason + "\n", encoding="utf-8")


def _key_of(path: Path) -> str:
    return path.stem.split("-", 1)[1] if "-" in path.stem else path.stem


@dataclass
class Delivery:
    """What one delivery attempt did."""

    sent: int = 0
    """Batches the server recorded now."""
    already: int = 0
    """Batches the server had recorded before (a retry after a lost answer)."""
    rejected: list[str] = field(default_factory=list)
    """Batches the server refused (key: reason), set aside in the spool's ``rejected/``."""
    waiting: int = 0
    """Batches still in the spool (the server could not be reached, or asked to wait)."""
    problem: str | None = None
    """Why delivery stopped early, in one line."""


def deliver(spool: Spool, server: str, token: str, timeout: float = 30.0) -> Delivery:
    """Send the spooled batches, oldest first, until one cannot be delivered now."""
    import httpx

    result = Delivery()
    url = server.rstrip("/") + "/api/v1/ingest"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    # NOTE: trust_env: a site's HTTPS_PROXY / SSL_CERT_FILE apply (sensors often sit behind
    # a proxy, and a central server may have an internal CA).
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=True) as client:
        for path in spool.pending():
            try:
                body = path.read_bytes()
            except OSError:
                continue  # dropped by a concurrent bound
            try:
                answer = client.post(url, content=body, headers=headers)
            except httpx.HTTPError as e:
                result.problem = f"{server}: cannot reach the server ({e.__class__.__name__})"
                break
            if answer.status_code in (200, 201, 202):  # 202: a part kept for its run
                path.unlink(missing_ok=True)
                if answer.status_code == 200:
                    result.already += 1
                else:
                    result.sent += 1
                continue
            detail = _detail(answer)
            if answer.status_code in _REFUSED:
                reason = f"{answer.status_code} {detail}"
                spool.set_aside(path, reason)
                result.rejected.append(f"{_key_of(path)}: {reason}")
                continue
            result.problem = f"{server}: answered {answer.status_code} ({detail})"
            break
    result.waiting = len(spool.pending())
    return result


def _detail(answer: Any) -> str:
    try:
        text = str(answer.json().get("detail", ""))
    except (ValueError, AttributeError):
        text = answer.text
    return " ".join(text.split())[:200] or "no detail"


def read_token(token_file: str | None) -> str:
    """The sensor token from ``token_file`` or ``COVERWATCH_TOKEN`` (never from the command
    line, where other users of the machine can read it)."""
    if token_file:
        try:
            text = Path(token_file).read_text(encoding="utf-8")[:1024]
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"--token-file {token_file}: cannot read it") from e
        token = text.strip()
    else:
        token = os.environ.get("COVERWATCH_TOKEN", "").strip()
    if not token:
        where = f"--token-file {token_file}" if token_file else "COVERWATCH_TOKEN"
        raise InputError(f"{where}: no sensor token (coverwatch token create --role sensor)")
    if len(token) > 256 or not token.isprintable() or " " in token:
        raise InputError("the sensor token is not a coverwatch token")
    return token


def check_server(server: str) -> str:
    """The server's base URL, refused unless it is http(s)://host[:port][/path]."""
    import httpx

    try:
        url = httpx.URL(server)
    except (httpx.InvalidURL, TypeError) as e:
        raise InputError(f"--server {server[:80]!r}: not a URL") from e
    if url.scheme not in ("http", "https") or not url.host:
        raise InputError(f"--server {server[:80]!r}: use http(s)://HOST[:PORT]")
    if url.userinfo or url.query or url.fragment:
        raise InputError(f"--server {server[:80]!r}: no user, query or fragment in the URL")
    return server.rstrip("/")

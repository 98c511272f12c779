"""The inventory seam: where devices, scans and observation history are kept."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any, TypedDict

from coverwatch.errors import StoreError
from coverwatch.identity import Claim
from coverwatch.models import DeviceRecord, HostResult, Observation, ScanRecord, SourceKind

PART_DAYS = 7
"""Days the parts of an incomplete sensor run are kept (a sensor resends within its spool)."""

__all__ = [
    "AuditRow",
    "AuditStore",
    "DeviceRecord",
    "DeviceStore",
    "HostResult",
    "Inventory",
    "RunRecorder",
    "ScanPointRow",
    "ScanRecord",
    "StoreError",
    "TokenRow",
    "TokenStore",
    "WaiverRow",
    "WaiverStore",
]


class ScanPointRow(TypedDict):
    """One run in the inventory's history: what it saw, counted."""

    scan_id: int
    started_at: datetime
    site: str
    devices: int
    video_devices: int
    covered: int


class AuditRow(TypedDict):
    """One stored audit."""

    id: int
    at: datetime
    site: str | None
    policy_name: str
    policy_version: str
    policy_source: str
    scan_id: int | None


class TokenRow(TypedDict):
    """One API token, never the token itself."""

    id: int
    name: str
    role: str
    created_at: datetime
    revoked: bool
    sites: list[str]
    """The sites a sensor token may write (empty for viewer and admin tokens)."""


class IngestRow(TypedDict):
    """A sensor batch recorded under its idempotency key."""

    batch_key: str
    run_id: int
    site: str
    sensor: str
    """The name of the sensor token that sent it."""
    received_at: datetime


class SensorRow(TypedDict):
    """One sensor's contact with the server, per site it sends for."""

    sensor: str
    """The sensor token's name."""
    site: str
    batches: int
    """Batches recorded from it for the site."""
    last_contact: datetime
    """When its latest batch arrived."""
    lag_seconds: float
    """How long after its newest run began that run's batch arrived (a spooled batch shows
    how long it waited)."""


class WaiverRow(TypedDict):
    """One waiver granted outside the policy file, with its audit trail."""

    id: int
    rule: str
    device: str
    site: str | None
    reason: str
    approver: str
    expires: date
    created_at: datetime
    author: str | None
    """Who granted it (a token's name, or the CLI's ``--author``); None before schema 6."""
    revoked_at: datetime | None
    revoked_by: str | None


class RunRecorder(ABC):
    """The inventory inside one write transaction (``Inventory.recording``): runs are started,
    fed their hosts batch by batch (so a large import never holds all of them at once) and
    finished; everything is kept when the transaction ends well, nothing when it fails. Reads
    see what the transaction wrote."""

    @abstractmethod
    def start(
        self, site: str, targets: list[str], options: dict[str, object], started_at: datetime
    ) -> int:
        """Begin a run of one site; returns its id."""

    @abstractmethod
    def match(self, run_id: int, claims: list[Claim]) -> tuple[list[int | None], list[str]]:
        """Per claim, the known device it is (None: new), and the contradictions met
        (``identity.IdentityIndex.match`` over the run's site)."""

    @abstractmethod
    def latest_observations(
        self, device_ids: list[int], exclude: SourceKind | None = None
    ) -> dict[int, list[Observation]]:
        """As ``Inventory.latest_observations``."""

    @abstractmethod
    def history_of(
        self,
        device_ids: list[int],
        since: datetime | None = None,
        signals: tuple[str, ...] | None = None,
    ) -> dict[int, list[Observation]]:
        """As ``Inventory.history_of``."""

    @abstractmethod
    def sites_of(self, ips: list[str]) -> dict[str, list[str]]:
        """As ``Inventory.sites_of``."""

    @abstractmethod
    def add(self, run_id: int, hosts: list[HostResult]) -> list[str]:
        """Record a batch of the run's hosts, each recognised as ``identity`` says (a host may
        be a known device at a new address); returns the identity contradictions met."""

    @abstractmethod
    def finish(self, run_id: int, options: dict[str, object] | None = None) -> None:
        """Close a run: its host count, finish time and (when given) its final options. Runs
        left open are closed when the transaction ends."""

    @abstractmethod
    def keep_batch_key(self, key: str, run_id: int, site: str, sensor: str) -> None:
        """Keep a sensor batch's idempotency key with the run it became (in this transaction:
        a second transaction keeping the same key fails, and records nothing)."""


class DeviceStore(ABC):
    """Devices, their runs and observations: where identity resolution writes."""

    @abstractmethod
    def recording(self) -> AbstractContextManager[RunRecorder]:
        """One write transaction for one or more runs (see ``RunRecorder``)."""

    def record_scan(
        self,
        site: str,
        targets: list[str],
        options: dict[str, object],
        started_at: datetime,
        hosts: list[HostResult],
    ) -> int:
        """Store a finished run and update its devices, each recognised as ``identity`` says
        (a host may be a known device at a new address); returns the run's id."""
        with self.recording() as recorder:
            run_id = recorder.start(site, targets, options, started_at)
            recorder.add(run_id, hosts)
        return run_id

    @abstractmethod
    def devices(
        self, site: str | None = None, *, ip: str | None = None, run: int | None = None
    ) -> list[DeviceRecord]:
        """Devices, ordered by site and address; optionally only those of one site, those at
        address ``ip`` now, or those run ``run`` recorded. Filters are read in the database:
        a command about a few devices does no work in proportion to the inventory."""

    @abstractmethod
    def scans(self) -> list[ScanRecord]:
        """Every recorded scan, oldest first."""

    @abstractmethod
    def sites(self) -> list[str]:
        """Every site the inventory knows (of a device or of a run), sorted."""

    @abstractmethod
    def sites_of(self, ips: list[str]) -> dict[str, list[str]]:
        """Per address: the sites holding a device at it (sorted); unknown addresses absent."""

    @abstractmethod
    def observations(self, ip: str, site: str | None = None) -> list[Observation]:
        """The observation history of the device at an address (per site, the latest seen
        there), oldest first."""

    @abstractmethod
    def history_of(
        self,
        device_ids: list[int],
        since: datetime | None = None,
        signals: tuple[str, ...] | None = None,
    ) -> dict[int, list[Observation]]:
        """Per device: its observation history, oldest first; only what was observed at or
        after ``since`` and, with ``signals``, only the signals starting with one of them."""

    @abstractmethod
    def latest_observations(
        self, device_ids: list[int], exclude: SourceKind | None = None
    ) -> dict[int, list[Observation]]:
        """Per device: the latest run's observations of each source kind (but ``exclude``)."""

    @abstractmethod
    def sightings(self, scan_id: int) -> list[DeviceRecord]:
        """The devices as one scan saw them."""

    @abstractmethod
    def history(self) -> list[ScanPointRow]:
        """Per scan, oldest first: scan_id, started_at, site, devices, video_devices, covered."""


class AuditStore(ABC):
    """Audits and the findings they stored."""

    @abstractmethod
    def record_audit(
        self,
        site: str | None,
        policy_name: str,
        policy_version: str,
        policy_source: str,
        documents: list[dict[str, Any]],
    ) -> int:
        """Store an audit's findings (JSON documents) with the policy they came from."""

    @abstractmethod
    def audits(self) -> list[AuditRow]:
        """Every audit, oldest first."""

    @abstractmethod
    def findings(self, audit_id: int) -> list[dict[str, Any]]:
        """The finding documents of one audit."""


class TokenStore(ABC):
    """API tokens (stored hashed)."""

    @abstractmethod
    def create_token(self, name: str, role: str, sites: tuple[str, ...] = ()) -> str:
        """Create an API token (``sites``: those a sensor token may write); returns it in
        clear (only this once; it is stored hashed)."""

    @abstractmethod
    def token_sites(self, token: str) -> list[str]:
        """The sites a valid, unrevoked sensor token may write (empty for any other)."""

    @abstractmethod
    def ingested(self, key: str) -> IngestRow | None:
        """The sensor batch recorded under idempotency key ``key``, else None."""

    @abstractmethod
    def stage_part(self, run_key: str, part: int, parts: int, site: str, body: str) -> list[str]:
        """Keep part ``part`` of ``parts`` of a sensor run sent in several batches (a part
        already kept is kept once); returns every part's body, in order, once all are in,
        else an empty list. Parts older than ``PART_DAYS`` days are forgotten."""

    @abstractmethod
    def drop_parts(self, run_key: str) -> None:
        """Forget the parts of a run (it has been recorded)."""

    @abstractmethod
    def ingests(self) -> list[IngestRow]:
        """Every sensor batch recorded, oldest first."""

    @abstractmethod
    def sensors(self) -> list[SensorRow]:
        """Per sensor and site: batches, last contact and lag, by sensor then site."""

    @abstractmethod
    def token_role(self, token: str) -> str | None:
        """The role of a valid, unrevoked token, else None."""

    @abstractmethod
    def token_name(self, token: str) -> str | None:
        """The name of a valid, unrevoked token (the author of what it does), else None."""

    @abstractmethod
    def tokens(self) -> list[TokenRow]:
        """Every token's id, name, role, created_at and revoked flag (never the token)."""

    @abstractmethod
    def revoke_token(self, token_id: int) -> bool:
        """Revoke a token; False when there is no such token."""


class WaiverStore(ABC):
    """Waivers granted outside the policy file (e.g. in the web dashboard)."""

    @abstractmethod
    def add_waiver(
        self,
        rule: str,
        device: str,
        site: str | None,
        reason: str,
        approver: str,
        expires: date,
        author: str | None = None,
    ) -> int:
        """Store a waiver granted outside the policy file (e.g. in the web dashboard)."""

    @abstractmethod
    def waivers(self) -> list[WaiverRow]:
        """Stored waivers, revoked ones included, oldest first."""

    @abstractmethod
    def revoke_waiver(self, waiver_id: int, by: str) -> bool:
        """Mark a waiver revoked (kept, with when and by whom); False when there is no such
        waiver or it was already revoked."""


class Inventory(DeviceStore, AuditStore, TokenStore, WaiverStore):
    """The whole inventory behind one database; every write is all-or-nothing. Code that needs
    one part takes that seam (``DeviceStore``, ``AuditStore``, ``TokenStore``, ``WaiverStore``).
    """

    @abstractmethod
    def changes(self) -> tuple[int, ...]:
        """A few counts that change whenever a run or a waiver is recorded or a waiver revoked,
        whichever process wrote it: what a report is built from is unchanged while they are."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection pool."""

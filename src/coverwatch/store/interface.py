"""The inventory seam: where devices, scans and observation history are kept."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from coverwatch.errors import StoreError
from coverwatch.models import Attribution, Observation, SourceKind

__all__ = ["DeviceRecord", "HostResult", "Inventory", "ScanRecord", "StoreError"]


@dataclass(frozen=True)
class HostResult:
    """What one scan learned about one host."""

    ip: str
    """The host's address."""
    observations: tuple[Observation, ...]
    """Everything it said, failures included."""
    attribution: Attribution
    """Who made it, from those observations."""
    mac: str | None = None
    """Its MAC address, when a source knew it."""
    open_ports: tuple[int, ...] | None = None
    """Open TCP ports as all sources together know them; None: those this run observed."""


@dataclass(frozen=True)
class ScanRecord:
    """One recorded scan."""

    id: int
    """Scan number, increasing."""
    started_at: datetime
    """When it started (UTC)."""
    finished_at: datetime | None
    """When it finished (UTC)."""
    site: str
    """Site label given with --site."""
    targets: list[str]
    """Targets as the user gave them."""
    options: dict[str, object]
    """Scan options (ports, timeout, ...); never credentials."""
    hosts_found: int
    """Hosts that answered on at least one port."""

    @property
    def kind(self) -> str:
        """What made the run: ``scan``, ``discovery``, ``import``, ``register``, ``capture``
        (a ``SourceKind`` value, kept in its options as ``source``). Runs recorded before the
        kind was kept are told by their options: an import names its file, a discovery its
        interface; anything else was an active scan."""
        source = self.options.get("source")
        if isinstance(source, str) and source:
            return source
        if "file" in self.options:
            return "import"
        if "interface" in self.options:
            return "discovery"
        return "scan"

    @property
    def scope(self) -> tuple[str, str, tuple[str, ...]]:
        """Kind, site and targets (in any order): runs of one scope are comparable."""
        return (self.kind, self.site, tuple(sorted(self.targets)))


@dataclass(frozen=True)
class DeviceRecord:
    """A device in the inventory: its latest attribution plus where and when it was seen."""

    ip: str
    mac: str | None
    site: str
    attribution: Attribution
    open_ports: list[int] = field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    def to_json(self) -> dict[str, object]:
        """The ``devices --json`` object: identify's field names plus inventory fields."""
        return {
            "ip": self.ip,
            "mac": self.mac,
            **self.attribution.to_json(),
            "site": self.site,
            "open_ports": self.open_ports,
            "first_seen": self.first_seen.isoformat() if self.first_seen else None,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
        }


class Inventory(ABC):
    """Stores scans and devices; every write is all-or-nothing."""

    @abstractmethod
    def record_scan(
        self,
        site: str,
        targets: list[str],
        options: dict[str, object],
        started_at: datetime,
        hosts: list[HostResult],
    ) -> int:
        """Store a finished scan and update its devices; returns the scan id."""

    @abstractmethod
    def devices(self, site: str | None = None) -> list[DeviceRecord]:
        """Devices, optionally of one site, ordered by site and address."""

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
        """A device's observation history, oldest first."""

    @abstractmethod
    def latest_observations(
        self, site: str, ips: list[str], exclude: SourceKind | None = None
    ) -> dict[str, list[Observation]]:
        """Per device: the latest run's observations of each source kind (but ``exclude``)."""

    @abstractmethod
    def sightings(self, scan_id: int) -> list[DeviceRecord]:
        """The devices as one scan saw them."""

    @abstractmethod
    def history(self) -> list[dict[str, Any]]:
        """Per scan, oldest first: scan_id, started_at, site, devices, video_devices, covered."""

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
    def audits(self) -> list[dict[str, Any]]:
        """Every audit, oldest first."""

    @abstractmethod
    def findings(self, audit_id: int) -> list[dict[str, Any]]:
        """The finding documents of one audit."""

    @abstractmethod
    def create_token(self, name: str, role: str) -> str:
        """Create an API token; returns it in clear (only this once; it is stored hashed)."""

    @abstractmethod
    def token_role(self, token: str) -> str | None:
        """The role of a valid, unrevoked token, else None."""

    @abstractmethod
    def tokens(self) -> list[dict[str, Any]]:
        """Every token's id, name, role, created_at and revoked flag (never the token)."""

    @abstractmethod
    def revoke_token(self, token_id: int) -> bool:
        """Revoke a token; False when there is no such token."""

    @abstractmethod
    def add_waiver(
        self, rule: str, device: str, site: str | None, reason: str, approver: str, expires: date
    ) -> int:
        """Store a waiver granted outside the policy file (e.g. in the web dashboard)."""

    @abstractmethod
    def waivers(self) -> list[dict[str, Any]]:
        """Stored waivers: id, rule, device, site, reason, approver, expires, created_at."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection pool."""

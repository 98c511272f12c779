"""What the pages and the API show, computed by the pipeline from the inventory and policy.

`Dashboard` is the one object both front-ends (``pages`` and ``api``) talk to: it builds the
report data (findings live, stored waivers merged, traffic verdicts from the flow store when
one is given), filters and sorts devices and findings, assembles a device's detail, history and
egress, grants, lists and revokes waivers (``coverwatch.waivers``) and diffs scans. Nothing
here renders.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, assert_never

from coverwatch.errors import InputError
from coverwatch.models import DeviceRecord
from coverwatch.pipeline import (
    Explanation,
    ScanDiff,
    build_report_data,
    changed_fields,
    diff_scans,
    explain,
    latest_comparable_runs,
)
from coverwatch.policy.interface import PolicyError
from coverwatch.policy.loader import parse_policy
from coverwatch.policy.model import Finding, FindingStatus, Policy, Severity
from coverwatch.report import ReportData
from coverwatch.report.common import numeric_diff
from coverwatch.report.overview import DeviceView, Overview, build_overview, sort_findings
from coverwatch.report.traffic import TrafficOverview, build_traffic
from coverwatch.store import Inventory
from coverwatch.targets import ip_key
from coverwatch.traffic.model import DeviceEgress
from coverwatch.waivers import WaiverEntry, WaiverRequest, grant, list_waivers, revoke

#: Time a posted policy may take to check (a 256 KB one takes about 2 s).
POLICY_CHECK_SECONDS = 5.0
#: Scans of a device's site shown in its history, newest first.
HISTORY_SCANS = 50


#: Reports kept (the whole inventory's and those of the sites asked for last): about 230 MB
#: each at 100,000 devices. The one used longest ago goes first.
_KEPT_REPORTS = 3


@dataclass
class _Built:
    """A report as built, and what it was built from."""

    made_of: tuple[Any, ...]
    data: ReportData
    overview: Overview | None = None


def _files(traffic_dir: str | None) -> tuple[tuple[str, int, int, int, int], ...] | None:
    """Every file of a flow store: (path, size, modified, changed, inode); empty without one;
    None for a store at a URL, which cannot be looked at cheaply (read every time)."""
    if not traffic_dir:
        return ()
    if "://" in traffic_dir:
        return None
    found, folders = [], set()
    for folder, dirs, names in os.walk(traffic_dir, followlinks=True):  # flows/ may be a link
        with contextlib.suppress(OSError):
            seen = os.stat(folder)
            if (seen.st_dev, seen.st_ino) in folders:  # a link back up: walked already
                dirs.clear()
                continue
            folders.add((seen.st_dev, seen.st_ino))
        for name in names:
            path = os.path.join(folder, name)
            with contextlib.suppress(OSError):  # a file replaced while we look: seen next time
                stat = os.stat(path)
                found.append((path, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino))
    return tuple(sorted(found))


class Verdict(str, Enum):
    """A device's verdict filter: it has a finding of this status, or none at all."""

    OPEN = "open"
    WAIVED = "waived"
    UNVERIFIED = "unverified"
    CLEAN = "clean"


class DeviceSort(str, Enum):
    """Device list sort keys."""

    IP = "ip"
    SITE = "site"
    ZONE = "zone"
    TYPE = "type"
    MAKER = "maker"
    MODEL = "model"
    FIRMWARE = "firmware"
    COVERED = "covered"
    CONFIDENCE = "confidence"
    FINDINGS = "findings"
    LAST_SEEN = "last_seen"


@dataclass(frozen=True)
class DeviceFilter:
    """Which devices to list, in which order (every field optional)."""

    q: str = ""
    """Words that must all appear in the device's address, MAC, maker, brand, model or zone."""
    site: str | None = None
    zone: str | None = None
    maker: str | None = None
    """A maker name, or "unknown"."""
    covered: bool | None = None
    verdict: Verdict | None = None
    sort: DeviceSort = DeviceSort.IP
    descending: bool = False


@dataclass(frozen=True)
class FindingFilter:
    """Which findings to list (every field optional)."""

    severity: Severity | None = None
    status: FindingStatus | None = None
    rule: str | None = None
    site: str | None = None
    ip: str | None = None


@dataclass(frozen=True)
class Sighting:
    """A device as one scan of its site saw it (None: not seen by that scan)."""

    scan_id: int
    started_at: str
    record: DeviceRecord | None
    changed: tuple[str, ...]
    """Fields that differ from the previous scan that saw it."""


@dataclass(frozen=True)
class DeviceDetail:
    """Everything the device page shows."""

    view: DeviceView
    explanation: Explanation
    history: tuple[Sighting, ...]
    egress: DeviceEgress | None = None
    """Its traffic verdict and destinations (None: no traffic data, or none for it)."""
    has_traffic: bool = False
    """Whether any traffic data was given at all (tells "no data" from "not in the data")."""


def _matches(view: DeviceView, f: DeviceFilter) -> bool:
    d, a = view.device, view.device.attribution
    zone = view.zone.name if view.zone else None
    if (f.site and d.site != f.site) or (f.zone and zone != f.zone):
        return False
    if f.maker and (a.maker or "unknown") != f.maker:
        return False
    if f.covered is not None and bool(a.covered) != f.covered:
        return False
    if f.verdict is Verdict.CLEAN and view.findings:
        return False
    if f.verdict not in (None, Verdict.CLEAN) and not any(
        x.status.value == f.verdict.value for x in view.findings
    ):
        return False
    text = " ".join(x or "" for x in (d.ip, d.mac, d.site, a.maker, a.brand, a.model, zone))
    return all(word in text.lower() for word in f.q.lower().split())


def _sort_key(view: DeviceView, key: DeviceSort) -> tuple[Any, ...]:
    d, a = view.device, view.device.attribution
    match key:
        case DeviceSort.IP:
            return (ip_key(d.ip), d.site)
        case DeviceSort.SITE:
            return (d.site, ip_key(d.ip))
        case DeviceSort.ZONE:
            return (view.zone.name if view.zone else "~", ip_key(d.ip))
        case DeviceSort.TYPE:
            return (a.device_type.value if a.device_type else "~", ip_key(d.ip))
        case DeviceSort.MAKER:
            return ((a.maker or "~").lower(), ip_key(d.ip))
        case DeviceSort.MODEL:
            return ((a.model or "~").lower(), ip_key(d.ip))
        case DeviceSort.FIRMWARE:
            return ((a.firmware or "~").lower(), ip_key(d.ip))
        case DeviceSort.COVERED:
            return (a.covered is None, a.covered or "", ip_key(d.ip))
        case DeviceSort.CONFIDENCE:
            return (a.confidence, ip_key(d.ip))
        case DeviceSort.FINDINGS:
            worst = view.worst.rank + 1 if view.worst else 0
            return (worst, len(view.open_findings), ip_key(d.ip))
        case DeviceSort.LAST_SEEN:
            return (d.last_seen.isoformat() if d.last_seen else "", ip_key(d.ip))
        case _:
            assert_never(key)


def check_policy_text(text: str, label: str) -> tuple[Policy | None, str | None]:
    """Validate a policy document: (policy, None) or (None, the one-line error).

    Anyone with a viewer token can post one, so the check has the loader's bounds (size,
    depth, aliases) and gives up after ``POLICY_CHECK_SECONDS``."""
    try:
        return parse_policy(text, label, time.monotonic() + POLICY_CHECK_SECONDS), None
    except PolicyError as e:
        return None, str(e)


class Dashboard:
    """The inventory and the effective policy, as the dashboard and API see them."""

    def __init__(
        self,
        inventory: Inventory,
        policy: Policy,
        title: str = "coverwatch",
        traffic_dir: str | None = None,
    ) -> None:
        self.inventory = inventory
        self.policy = policy
        self.title = title
        self.traffic_dir = traffic_dir
        """The flow store (``--traffic-dir``) the traffic verdicts come from; None: none."""
        self._built: OrderedDict[str | None, _Built] = OrderedDict()
        self._building: dict[str | None, threading.Lock] = {}
        self._guard = threading.Lock()

    def known_site(self, site: str | None) -> None:
        """InputError naming the known sites when ``site`` is given and unknown."""
        if site is not None and site not in (known := self.inventory.sites()):
            shown = ", ".join(repr(s) for s in known[:50]) or "none yet"
            raise InputError(f"no site {site[:60]!r} in the inventory (known sites: {shown})")

    def data(self, site: str | None = None, title: str | None = None) -> ReportData:
        """The report data now: devices, scans, trend, the findings (stored waivers in) and,
        with a flow store, each device's egress verdict and the links between zones."""
        data = self._report(site).data
        return replace(data, title=title or self.title, generated_at=datetime.now(UTC))

    def build(self, site: str | None) -> ReportData:
        """Build the report of ``site`` (None: every site) from the inventory and flow store."""
        return build_report_data(
            self.inventory, self.policy, site, self.title, traffic_dir=self.traffic_dir
        )

    def _report(self, site: str | None) -> _Built:
        """The report built once for what the inventory, flow store and date are now: a page
        or an API call that follows reuses it (a report of 100,000 devices takes seconds),
        until a run, a waiver or a flow file is recorded, by this process or another."""
        made_of = (date.today(), self.inventory.changes(), _files(self.traffic_dir))
        if made_of[2] is None:  # a flow store at a URL: nothing to tell it changed
            return _Built(made_of, self.build(site))
        with self._guard:
            built = self._built.get(site)
            if built is not None and built.made_of == made_of:
                self._built.move_to_end(site)
                return built
            building = self._building.setdefault(site, threading.Lock())
        with building:  # NOTE: a burst of requests for one report waits for one build
            with self._guard:
                built = self._built.get(site)
            if built is None or built.made_of != made_of:
                built = _Built(made_of, self.build(site))
            with self._guard:
                self._built[site] = built
                self._built.move_to_end(site)
                while len(self._built) > _KEPT_REPORTS:
                    self._built.popitem(last=False)  # the one used longest ago
            return built

    def traffic(self) -> TrafficOverview:
        """Every device's egress verdict, joined with the inventory and zones; zone links."""
        return build_traffic(self.data())

    def snapshot(self) -> tuple[ReportData, Overview]:
        """The report data and its overview (zones, findings per device, plan)."""
        built = self._report(None)
        if built.overview is None:  # NOTE: a race builds it twice, to the same result
            built.overview = build_overview(built.data)
        return replace(built.data, generated_at=datetime.now(UTC)), built.overview

    def devices(self, f: DeviceFilter, overview: Overview | None = None) -> list[DeviceView]:
        """Devices that pass ``f``, sorted as it asks."""
        views = (overview or self.snapshot()[1]).devices
        chosen = [v for v in views if _matches(v, f)]
        return sorted(chosen, key=lambda v: _sort_key(v, f.sort), reverse=f.descending)

    def findings(
        self, f: FindingFilter, cli_order: bool = False, among: list[Finding] | None = None
    ) -> list[Finding]:
        """Findings that pass ``f`` (of ``among``, else of the report now); ``cli_order``
        sorts as ``audit --json`` does."""
        found = [
            x
            for x in (self.data().findings if among is None else among)
            if (f.severity is None or x.severity is f.severity)
            and (f.status is None or x.status is f.status)
            and (not f.rule or x.rule == f.rule)
            and (not f.site or x.site == f.site)
            and (not f.ip or x.ip == f.ip)
        ]
        if cli_order:
            return sorted(found, key=lambda x: (-x.severity.rank, x.site, ip_key(x.ip), x.rule))
        return sort_findings(found)

    def device(self, ip: str, site: str | None) -> DeviceDetail:
        """One device's detail; InputError when absent or ambiguous (several sites)."""
        explanation = explain(self.inventory, ip, site)
        record = explanation.device
        data, overview = self.snapshot()
        view = next(
            v for v in overview.devices if (v.device.ip, v.device.site) == (ip, record.site)
        )
        # NOTE: traffic is keyed by address only (flow data knows no sites).
        egress = next((e for e in data.traffic if e.ip == record.ip), None)
        return DeviceDetail(view, explanation, self._history(record), egress, bool(data.traffic))

    def _history(self, record: DeviceRecord) -> tuple[Sighting, ...]:
        scans = [s for s in self.inventory.scans() if s.site == record.site][-HISTORY_SCANS:]
        rows: list[Sighting] = []
        previous: dict[str, object] | None = None
        for scan in scans:
            seen = next((d for d in self.inventory.sightings(scan.id) if d.id == record.id), None)
            now = None if seen is None else seen.to_json()
            changed: tuple[str, ...] = ()
            if now is not None and previous is not None:
                changed = tuple(changed_fields(previous, now))
            rows.append(Sighting(scan.id, scan.started_at.isoformat(), seen, changed))
            previous = now if now is not None else previous
        return tuple(reversed(rows))

    def waive(self, ask: WaiverRequest, author: str) -> WaiverEntry:
        """Grant a waiver (stored in the inventory, ``author`` recorded); InputError names
        what is wrong."""
        return grant(self.inventory, self.policy, ask, author, date.today())

    def waivers(self) -> list[WaiverEntry]:
        """The policy file's waivers and the stored ones, revoked included."""
        return list_waivers(self.policy, self.inventory, date.today())

    def revoke(self, waiver_id: int, by: str) -> WaiverEntry:
        """Revoke a stored waiver (``by`` recorded); InputError if none or already revoked."""
        return revoke(self.inventory, waiver_id, by, date.today())

    def diff(self, before: int | None, after: int | None) -> ScanDiff:
        """What changed between two scans (default: the last two); InputError if unknown."""
        records = self.inventory.scans()
        ids = [s.id for s in records]
        if before is None or after is None:
            pair = latest_comparable_runs(records)
            if before is not None or after is not None or pair is None:
                raise InputError(
                    "a diff needs two runs of the same kind and site: give both, or scan twice"
                )
            before, after = pair[0].id, pair[1].id
        for number in (before, after):
            if number not in ids:
                raise InputError(f"no scan {number} in the inventory")
        return numeric_diff(diff_scans(self.inventory, before, after, self.policy))

"""The pipeline front-ends call: sources -> identify -> store (-> report).

`run_scan` is one active scan of declared targets into an inventory; `summarise` condenses an
inventory for the summary table and the reports.

Evidence accumulates (issue #10 part 3): a host is attributed from this run, the latest run of
every other source kind, and the lasting evidence of earlier runs (a device's own management
API, a credentialed ONVIF device-information answer, a discovery answer) that nothing in those
re-answered, for ``EVIDENCE_HORIZON``. A weaker later run (an uncredentialed rescan) therefore
never erases a stronger earlier identification; the evidence only ages out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from coverwatch.discovery import families as discovery_families
from coverwatch.identify import contradicts, identify_host, load_knowledge
from coverwatch.identify.versions import firmware_changed, model_changed
from coverwatch.identity import Claim, group_hosts, mac_of, macs_of, normal_mac, serial_of
from coverwatch.models import (
    VIDEO_TYPES,
    Attribution,
    DeviceRecord,
    HostResult,
    Observation,
    ObsStatus,
    ScanRecord,
    SourceKind,
)
from coverwatch.observer import NULL_OBSERVER, Observer
from coverwatch.policy.engine import evaluate
from coverwatch.policy.interface import TrafficFacts
from coverwatch.policy.model import Finding, Policy, Waiver, finding_to_json
from coverwatch.sources.active import ActiveScanSource, ScanOptions
from coverwatch.store import Inventory
from coverwatch.store.interface import RunRecorder
from coverwatch.targets import DEFAULT_MAX_HOSTS, expand_targets, ip_key

if TYPE_CHECKING:
    from coverwatch.report.interface import ReportData
    from coverwatch.traffic.engines.interface import FlowEngine


@dataclass(frozen=True)
class ScanOutcome:
    """What one scan did."""

    scan_id: int
    """Its id in the inventory."""
    hosts_scanned: int
    """Addresses in scope."""
    hosts: list[HostResult]
    """Hosts that answered, with their attributions."""


@dataclass(frozen=True)
class CollectedRun:
    """What one source kind observed in one run, before anything is stored."""

    kind: SourceKind
    """The source kind (scan, discovery, capture)."""
    found: dict[str, list[Observation]]
    """Per address, its observations (only hosts that said something)."""
    targets: list[str]
    """The declared scope it covered."""
    options: dict[str, object]
    """How it ran (kept with the run; never credentials)."""
    started: datetime
    """When it began."""


def collect_scan(
    hosts: list[str], targets: list[str], options: ScanOptions, observer: Observer = NULL_OBSERVER
) -> CollectedRun:
    """Scan ``hosts`` (the expansion of ``targets``, the declared scope); store nothing."""
    started = datetime.now(UTC)
    found = ActiveScanSource(hosts, options).collect(observer)
    recorded_options: dict[str, object] = {
        "ports": list(options.ports),
        "concurrency": options.concurrency,
        "timeout": options.timeout,
        "rate": options.rate,
        "credentials": options.credentials.default is not None or bool(options.credentials.hosts),
    }
    return CollectedRun(SourceKind.SCAN, found, targets, recorded_options, started)


def collect_discovery(
    hosts: list[str] | None,
    interface: str | None,
    timeout: float,
    observer: Observer = NULL_OBSERVER,
    targets: list[str] | None = None,
) -> CollectedRun:
    """Ask ``hosts`` (unicast) and/or the link on ``interface`` (multicast) to introduce
    themselves; store nothing. The run's options keep the drop counts (``warnings``); the
    observer is told them as a note."""
    from coverwatch.sources.discovery import discover

    started = datetime.now(UTC)
    report = discover(hosts, interface, timeout, observer)
    found = {ip: obs for ip, obs in report.observations.items() if obs}
    options: dict[str, object] = {
        "interface": interface,
        "timeout": timeout,
        "warnings": report.warnings,
    }
    run = CollectedRun(
        SourceKind.DISCOVERY, found, targets or hosts or [interface or ""], options, started
    )
    return run


def run_scan(
    targets: list[str],
    options: ScanOptions,
    site: str,
    inventory: Inventory,
    observer: Observer = NULL_OBSERVER,
    max_hosts: int = DEFAULT_MAX_HOSTS,
    discovery: bool = False,
    interface: str | None = None,
) -> ScanOutcome:
    """Scan ``targets`` (the declared scope), attribute every host that answered, store it all.

    With ``discovery``, the discovery protocols ask the same hosts first (and the local link
    on ``interface``); their answers are stored as a discovery run that the scan's
    attribution fuses with.
    """
    hosts = expand_targets(targets, max_hosts)
    if discovery:
        run_discovery(inventory, site, hosts, interface, options.timeout, observer, targets)
    run = collect_scan(hosts, targets, options, observer)
    scan_id, results = record_collected(inventory, site, run, observer)
    return ScanOutcome(scan_id, len(hosts), results)


def run_discovery(
    inventory: Inventory,
    site: str,
    hosts: list[str] | None,
    interface: str | None,
    timeout: float,
    observer: Observer = NULL_OBSERVER,
    targets: list[str] | None = None,
) -> tuple[int, list[HostResult]]:
    """Ask ``hosts`` (unicast) and/or the link on ``interface`` (multicast) to introduce
    themselves; store the answers as a discovery run. Returns its id and hosts."""
    run = collect_discovery(hosts, interface, timeout, observer, targets)
    return record_collected(inventory, site, run, observer)


def record_collected(
    inventory: Inventory,
    site: str,
    run: CollectedRun,
    observer: Observer = NULL_OBSERVER,
    batch: tuple[str, str] | None = None,
) -> tuple[int, list[HostResult]]:
    """Store a collected run (``record_run``); ``batch``: its sensor idempotency key and
    the sensor's name."""
    return record_run(
        inventory,
        site,
        run.found,
        run.kind,
        run.targets,
        run.options,
        run.started,
        observer,
        batch=batch,
    )


#: How long lasting evidence (see ``lasting_family``) counts after it was last confirmed.
#: NOTE: a module constant until the policy file grows a setting for it (issue #10 part 3);
#: ``record_run`` and ``explain`` take a ``horizon`` to override it.
EVIDENCE_HORIZON = timedelta(days=90)

# Signals whose answer is strong evidence that lasts: (prefix, family). A family answered again
# replaces its earlier answer as a whole; one not asked again (no credentials this time, a
# discovery not repeated) keeps its last answer until the horizon.
_LASTING = (
    ("isapi.", "isapi"),  # Hikvision ISAPI: the device's own management API (credentialed)
    ("dahua.", "dahua"),  # Dahua HTTP API: the device's own management API (credentialed)
    ("onvif.manufacturer", "onvif.device"),  # ONVIF GetDeviceInformation (credentialed)
    ("onvif.model", "onvif.device"),
    ("onvif.firmware", "onvif.device"),
    ("onvif.serial", "onvif.device"),
    ("onvif.hardware_id", "onvif.device"),
    ("onvif.mac", "onvif.device"),  # ONVIF GetNetworkInterfaces (credentialed)
    ("onvif.scope.", "onvif.scope"),  # WS-Discovery scopes: the device's own announcement
    # A vendor discovery answer (SADP, DHIP, Bosch, Hanwha, ...): the device introducing itself.
    *((family, family.rstrip(".")) for family in discovery_families()),
)


#: The signal prefixes of lasting evidence (what ``history_of`` is asked for).
LASTING_PREFIXES = tuple(prefix for prefix, _ in _LASTING)


@cache  # a few hundred distinct signals, asked for every observation of every run
def lasting_family(signal: str) -> str | None:
    """The family of a lasting-evidence signal (``isapi``, ``onvif.device``, ...), else None."""
    return next((family for prefix, family in _LASTING if signal.startswith(prefix)), None)


def carried_evidence(
    history: list[Observation], fresh: list[Observation], since: datetime
) -> list[Observation]:
    """Lasting observations from ``history`` that still count beside ``fresh`` ones: the latest
    answer of each signal confirmed at or after ``since``, in families ``fresh`` does not answer.
    Equally strong fresh evidence (the same family answering again) replaces them, and none is
    carried when ``fresh`` reports a MAC address the history never saw (another device)."""
    fresh_macs, known_macs = macs_of(fresh), macs_of(o for o in history if o.observed_at)
    if fresh_macs and known_macs and not fresh_macs & known_macs:
        return []  # another device answers at this address now: its evidence is not this one's
    answered = {lasting_family(o.signal) for o in fresh if o.status is ObsStatus.OK}
    kept = {(o.signal, o.value) for o in fresh}
    latest: dict[str, Observation] = {}
    for o in history:  # oldest first: a later answer of a signal replaces an earlier one
        family = lasting_family(o.signal)
        if (
            family is None
            or family in answered
            or o.status is not ObsStatus.OK
            or o.observed_at is None
            or o.observed_at < since
        ):
            continue
        known = latest.get(o.signal)
        if known is None or known.observed_at is None or o.observed_at >= known.observed_at:
            latest[o.signal] = o
    return [o for o in latest.values() if (o.signal, o.value) not in kept]


def _another_maker(fresh: list[Observation], known: list[Observation]) -> str | None:
    """What to tell the user when a host known only by its address (it states no MAC or
    serial) answers as another maker's device than its earlier answers (``known``: every
    source kind's latest run, this one's previous run included, and the lasting answers within
    the horizon) said; None when they agree. A device that answered as both before is one
    device answering as both: the note comes once, on the run that first sees the change.

    The two stay one device: a camera replaced at a fixed address and a white label whose own
    answers name its label (one ``oem.yaml`` does not list) look alike here, and taking a
    covered maker's camera for another device would clear its finding. A register's rows are
    claims with their own conflict flag, not answers: they are left out."""
    now = identify_host(fresh)
    before = identify_host([o for o in known if o.source is not SourceKind.REGISTER])
    if not contradicts(now, before):
        return None
    return (
        f"answers as {now.maker} now, as {before.maker} before: kept as one device (a replaced "
        "camera, or a white label the knowledge base does not list; a rescan with credentials "
        "that reads its serial or MAC tells them apart)"
    )


#: How many identity contradictions a run names one by one (the rest are counted).
_CONFLICTS_SHOWN = 20


def record_run(
    inventory: Inventory,
    site: str,
    found: dict[str, list[Observation]],
    kind: SourceKind,
    targets: list[str],
    options: dict[str, object],
    started: datetime,
    observer: Observer = NULL_OBSERVER,
    horizon: timedelta = EVIDENCE_HORIZON,
    batch: tuple[str, str] | None = None,
) -> tuple[int, list[HostResult]]:
    """Attribute and store one run of a source (scan, discovery, import, capture) in one
    transaction; returns its id and its hosts (see ``RunWriter``). ``batch``: the idempotency
    key and sensor name of a sensor's batch, kept in the same transaction (a key already kept
    makes the whole run fail, so a batch is never recorded twice)."""
    with inventory.recording() as recorder:
        run = RunWriter(recorder, site, kind, targets, options, started, observer, horizon)
        observer.stage("identify", len(found))
        results = run.add(found)
        observer.done()
        run.finish()
        if batch is not None:
            recorder.keep_batch_key(batch[0], run.id, site, batch[1])
    return run.id, results


class RunWriter:
    """One run being recorded, batch by batch, inside a ``RunRecorder``'s transaction.

    A batch's addresses that are one device (one serial, one MAC: a device that moved during
    the run) are one host. Each host is recognised as a known device where ``identity`` says so,
    and attributed from this run's observations fused with the latest run of every other source
    kind for that device (a discovery answer, an nmap import and an asset register all weigh in,
    each as its knowledge entries say) and with the lasting evidence of earlier runs confirmed
    within ``horizon`` that none of those answers again. Identity contradictions (one serial on
    two sites, two serials at one address, a host known only by its address that now answers
    as another maker) are noted through ``observer`` and kept with the run.
    """

    def __init__(
        self,
        recorder: RunRecorder,
        site: str,
        kind: SourceKind,
        targets: list[str],
        options: dict[str, object],
        started: datetime,
        observer: Observer = NULL_OBSERVER,
        horizon: timedelta = EVIDENCE_HORIZON,
    ) -> None:
        self.recorder = recorder
        self.site = site
        self.kind = kind
        self.options = {**options, "source": kind.value}
        self.since = started - horizon
        self.observer = observer
        self.conflicts: list[str] = []
        self.hosts = 0
        self.id = recorder.start(site, targets, self.options, started)

    def add(self, found: dict[str, list[Observation]]) -> list[HostResult]:
        """Attribute and record a batch of the run's hosts; returns them."""
        hosts = [
            (ips[-1], tuple(ips), [o for ip in ips for o in found[ip]])
            for ips in group_hosts(found)
        ]
        claims = [Claim(ip, mac_of(obs), serial_of(obs)) for ip, _, obs in hosts]
        matched, _ = self.recorder.match(self.id, claims)
        known = [device_id for device_id in matched if device_id is not None]
        prior = self.recorder.latest_observations(known, exclude=self.kind)
        lasting = self.recorder.history_of(known, since=self.since, signals=LASTING_PREFIXES)
        results = []
        doubtful: list[tuple[str, int, list[Observation], list[Observation]]] = []
        for (ip, addresses, observations), device_id, claim in zip(
            hosts, matched, claims, strict=True
        ):
            earlier = prior.get(device_id, []) if device_id is not None else []
            history = lasting.get(device_id, []) if device_id is not None else []
            carried = carried_evidence(history, earlier + observations, self.since)
            evidence = carried + earlier + observations
            attribution = identify_host(evidence)
            if (
                device_id is not None
                and claim.mac is None  # known by its address alone
                and claim.serial is None
                and (carried or earlier)
                and self.kind is not SourceKind.REGISTER
                and any(e.conflicts for e in attribution.evidence)  # most hosts: not
            ):
                doubtful.append((ip, device_id, observations, history))
            raw = next((o.value for o in reversed(evidence) if o.signal == "mac"), None)
            mac = (normal_mac(raw) or raw) if raw else None
            ports = tuple(
                sorted(
                    {int(o.value) for o in evidence if o.signal == "tcp.port" and o.value.isdigit()}
                )
            )
            results.append(
                HostResult(
                    ip,
                    tuple(observations),
                    attribution,
                    mac,
                    ports,
                    serial_of(evidence),
                    addresses if len(addresses) > 1 else (),
                )
            )
            self.observer.advance()
        doubts = self._doubts(doubtful)  # before this run's answers are stored beside them
        conflicts = self.recorder.add(self.id, results) + doubts
        for conflict in conflicts[: max(0, _CONFLICTS_SHOWN - len(self.conflicts))]:
            self.observer.note(f"identity: {conflict}")
        self.conflicts += conflicts
        self.hosts += len(results)
        return results

    def _doubts(
        self, doubtful: list[tuple[str, int, list[Observation], list[Observation]]]
    ) -> list[str]:
        """The notes on hosts known by their address alone whose answers conflict with what
        was known: compared with every source kind's latest run, this one's previous run
        included (a device that already answered as it does now is no news)."""
        if not doubtful:
            return []
        latest = self.recorder.latest_observations([device_id for _, device_id, _, _ in doubtful])
        notes = []
        for ip, device_id, fresh, history in doubtful:
            doubt = _another_maker(fresh, history + latest.get(device_id, []))
            if doubt:
                notes.append(f"{ip} (site {self.site}) {doubt}")
        return notes

    def finish(self) -> None:
        """Close the run, keeping the identity contradictions met with it."""
        if len(self.conflicts) > _CONFLICTS_SHOWN:
            more = len(self.conflicts) - _CONFLICTS_SHOWN
            self.observer.note(f"identity: {more} more contradictions")
        if self.conflicts:
            self.options["identity_conflicts"] = self.conflicts[:100]
        self.recorder.finish(self.id, self.options)


@dataclass(frozen=True)
class Summary:
    """The numbers an executive summary shows."""

    devices: int
    video_devices: int
    by_type: dict[str, int]
    by_maker: dict[str, int]
    covered: int
    covered_by_entity: dict[str, int]
    rebranded: list[dict[str, str]] = field(default_factory=list)
    unidentified: int = 0

    def to_json(self) -> dict[str, object]:
        """Plain JSON for reports."""
        return asdict(self)


def summarise(devices: list[DeviceRecord]) -> Summary:
    """Counts over the video devices (cameras, NVRs, DVRs, encoders) and everything else."""
    kb = load_knowledge()
    video = [d for d in devices if d.attribution.device_type in VIDEO_TYPES]
    types = Counter(
        d.attribution.device_type.value if d.attribution.device_type else "unknown" for d in devices
    )
    makers = Counter(d.attribution.maker or "unknown" for d in video)
    covered = [d for d in devices if d.attribution.covered]
    rebranded = [
        {
            "ip": d.ip,
            "brand": d.attribution.brand or "",
            "maker": d.attribution.maker or "",
            "model": d.attribution.model or "",
        }
        for d in devices
        if kb.is_rebrand(d.attribution.maker, d.attribution.brand)
    ]
    return Summary(
        devices=len(devices),
        video_devices=len(video),
        by_type=dict(types.most_common()),
        by_maker=dict(makers.most_common()),
        covered=len(covered),
        covered_by_entity=dict(Counter(d.attribution.covered or "" for d in covered).most_common()),
        rebranded=rebranded,
        unidentified=sum(1 for d in devices if d.attribution.maker is None),
    )


@dataclass(frozen=True)
class AuditOutcome:
    """What one audit found and where it was stored."""

    audit_id: int
    findings: list[Finding]
    devices: int


def with_stored_waivers(policy: Policy, inventory: Inventory) -> Policy:
    """The policy plus the waivers granted in the dashboard, API or CLI (stored in the
    inventory) and not revoked: a revoked waiver no longer applies to any finding."""
    stored = tuple(
        Waiver(w["rule"], w["reason"], w["approver"], w["expires"], (w["device"],), site=w["site"])
        for w in inventory.waivers()
        if w["revoked_at"] is None
    )
    return replace(policy, waivers=policy.waivers + stored) if stored else policy


def run_audit(
    inventory: Inventory,
    policy: Policy,
    site: str | None = None,
    today: date | None = None,
    traffic_dir: str | None = None,
    engine: FlowEngine | None = None,
) -> AuditOutcome:
    """Evaluate ``policy`` over the inventory (one site or all) and store the findings
    (``engine``: where the traffic rules' flows are aggregated, default DuckDB)."""
    policy = with_stored_waivers(policy, inventory)
    devices = inventory.devices(site)
    traffic = traffic_facts(policy, devices, traffic_dir, engine)
    findings = evaluate(policy, devices, today, traffic=traffic)
    audit_id = inventory.record_audit(
        site, policy.name, policy.version, policy.source, [finding_to_json(f) for f in findings]
    )
    return AuditOutcome(audit_id, findings, len(devices))


@dataclass(frozen=True)
class DeviceChange:
    """One device that differs between two scans."""

    ip: str
    site: str
    change: str
    """added, removed or changed."""
    fields: dict[str, tuple[object, object]] = field(default_factory=dict)
    """For changed devices: field -> (before, after)."""


@dataclass(frozen=True)
class ScanDiff:
    """What changed between two scans, devices and findings."""

    before: int
    after: int
    devices: list[DeviceChange]
    new_findings: list[Finding]
    resolved_findings: list[Finding]

    def to_json(self) -> dict[str, object]:
        """The difference as ``diff --json`` and the REST API give it."""
        return {
            "before": self.before,
            "after": self.after,
            "devices": [
                {
                    "ip": c.ip,
                    "site": c.site,
                    "change": c.change,
                    "fields": {k: {"before": v[0], "after": v[1]} for k, v in c.fields.items()},
                }
                for c in self.devices
            ],
            "new_findings": [finding_to_json(f) for f in self.new_findings],
            "resolved_findings": [finding_to_json(f) for f in self.resolved_findings],
        }


_COMPARED = ("maker", "brand", "model", "firmware", "device_type", "covered")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def latest_comparable_runs(
    records: list[ScanRecord], site: str | None = None, kind: str | None = None
) -> tuple[ScanRecord, ScanRecord] | None:
    """The two runs a diff compares by default: the latest run that has an earlier run of the
    same kind and scope (site and targets: they looked for the same devices the same way),
    failing that of the same kind and site; never a discovery against a scan, nor one site
    against another. ``site`` and ``kind`` narrow the choice."""
    chosen = [
        r for r in records if (site is None or r.site == site) and (kind is None or r.kind == kind)
    ]
    return _latest_pair(chosen, lambda r: r.scope) or _latest_pair(
        chosen, lambda r: (r.kind, r.site)
    )


def _latest_pair(
    records: list[ScanRecord], key: Callable[[ScanRecord], object]
) -> tuple[ScanRecord, ScanRecord] | None:
    """The latest run that has an earlier run with the same ``key``, and that earlier run."""
    for index in range(len(records) - 1, 0, -1):
        after = records[index]
        for before in reversed(records[:index]):
            if key(before) == key(after):
                return before, after
    return None


def changed_fields(
    before: dict[str, object], after: dict[str, object]
) -> dict[str, tuple[object, object]]:
    """The fields that really changed between two ``DeviceRecord.to_json`` snapshots: model and
    firmware compared as the maker writes them (``identify.versions``), so spelling, build-date
    and spacing differences, or a source that cannot read them, are not changes."""
    maker = _text(after.get("maker")) or _text(before.get("maker"))
    fields: dict[str, tuple[object, object]] = {}
    for name in ("ip", *_COMPARED, "open_ports"):
        a, b = before.get(name), after.get(name)
        if name == "firmware":
            real = firmware_changed(maker, _text(a), _text(b))
        elif name == "model":
            real = model_changed(_text(a), _text(b))
        else:
            real = a != b
        if real:
            fields[name] = (a, b)
    return fields


def diff_scans(
    inventory: Inventory, before: int, after: int, policy: Policy, today: date | None = None
) -> ScanDiff:
    """Devices added, removed and changed (identity, firmware, ports) from scan ``before`` to
    scan ``after``, and the findings ``policy`` gives that appear or disappear."""
    policy = with_stored_waivers(policy, inventory)
    # A device is the same device whatever its address (``identity``): keyed by its id.
    old = {d.id: d for d in inventory.sightings(before)}
    new = {d.id: d for d in inventory.sightings(after)}
    changes = [DeviceChange(new[k].ip, new[k].site, "added") for k in new.keys() - old.keys()]
    changes += [DeviceChange(old[k].ip, old[k].site, "removed") for k in old.keys() - new.keys()]
    for key in old.keys() & new.keys():
        fields = changed_fields(old[key].to_json(), new[key].to_json())
        if fields:
            changes.append(DeviceChange(new[key].ip, new[key].site, "changed", fields))
    changes.sort(key=lambda c: (c.site, ip_key(c.ip)))
    old_findings = {(*f.key, f.title): f for f in evaluate(policy, old.values(), today)}
    new_findings = {(*f.key, f.title): f for f in evaluate(policy, new.values(), today)}
    return ScanDiff(
        before,
        after,
        changes,
        [f for k, f in new_findings.items() if k not in old_findings],
        [f for k, f in old_findings.items() if k not in new_findings],
    )


def default_traffic_dir(db: str) -> str:
    """Where traffic data lives by default: beside a SQLite inventory (``<db>.traffic``), or in
    the user data folder for a database URL."""
    from pathlib import Path

    from platformdirs import user_data_path

    if "://" in db:
        return str(user_data_path("coverwatch") / "traffic")
    return str(Path(db).expanduser()) + ".traffic"


def holds_flows(traffic_dir: str) -> bool:
    """Whether the flow store at ``traffic_dir`` holds any flow file (without importing the
    traffic engines). A store at a URL (read by Spark) is taken to."""
    from pathlib import Path

    return "://" in traffic_dir or any(Path(traffic_dir, "flows").glob("*.parquet"))


def traffic_facts(
    policy: Policy,
    devices: list[DeviceRecord],
    traffic_dir: str | None,
    engine: FlowEngine | None = None,
) -> TrafficFacts | None:
    """Egress verdicts (aggregated by ``engine``, default DuckDB) and zone links from the
    traffic store, or None when it holds no data (then the traffic rules say nothing: no data
    is not a clean bill). A store at a URL (Spark) is taken to hold data."""
    if not traffic_dir or not holds_flows(traffic_dir):
        return None
    from coverwatch.traffic.egress import egress
    from coverwatch.traffic.linkage import linkage

    results = egress(traffic_dir, devices, [str(n) for n in policy.internal], engine=engine)
    zones = [(z.name, [str(n) for n in z.networks]) for z in policy.zones]
    links = tuple(linkage(traffic_dir, zones)) if zones else ()
    core = frozenset(z.name for z in policy.zones if z.core)
    return TrafficFacts({(e.site, e.ip): e for e in results}, links, core)


def build_report_data(
    inventory: Inventory,
    policy: Policy | None,
    site: str | None,
    title: str,
    unit_cost: float | None = None,
    today: date | None = None,
    traffic_dir: str | None = None,
    engine: FlowEngine | None = None,
) -> ReportData:
    """Everything a report shows: devices, scans, trend, the policy's findings and, when
    traffic was imported, each device's egress verdict and the links between zones."""
    from coverwatch.report.interface import ReportData, ScanPoint

    today = today or date.today()
    devices = inventory.devices(site)
    policy = with_stored_waivers(policy, inventory) if policy else None
    traffic = traffic_facts(policy, devices, traffic_dir, engine) if policy else None
    findings = evaluate(policy, devices, today, traffic=traffic) if policy else []
    history = [
        ScanPoint(**point) for point in inventory.history() if site is None or point["site"] == site
    ]
    scans = [s for s in inventory.scans() if site is None or s.site == site]
    return ReportData(
        datetime.now(UTC),
        title,
        summarise(devices),
        devices,
        scans,
        findings,
        policy,
        history,
        unit_cost,
        sorted(traffic.egress.values(), key=lambda e: e.ip) if traffic else [],
        list(traffic.links) if traffic else [],
        site,
        today,
    )


_NEVER = datetime.min.replace(tzinfo=UTC)


def _seen(device: DeviceRecord) -> datetime:
    return device.last_seen or _NEVER


@dataclass(frozen=True)
class Explanation:
    """Why coverwatch says what it says about one device."""

    device: DeviceRecord
    observations: list[Observation]
    """What the attribution is made from: the latest run of every source kind, then the lasting
    evidence of earlier runs still within the horizon (each with when it was last seen)."""
    attribution: Attribution
    """The attribution those observations give now."""
    unmatched: list[Observation]
    """Observations no knowledge entry used (they moved nothing)."""
    history: int
    """How many observations the inventory keeps for the device, all runs included."""
    carried: list[Observation] = field(default_factory=list)
    """The lasting evidence from earlier runs among ``observations`` (no later run re-asked)."""
    last_confirmed: dict[str, datetime] = field(default_factory=dict)
    """Per evidence signal of the attribution: when any run last observed it."""


def explain(
    inventory: Inventory, ip: str, site: str | None = None, horizon: timedelta = EVIDENCE_HORIZON
) -> Explanation:
    """Every observation of a device and how each moved its attribution."""
    from coverwatch.errors import InputError

    at: dict[str, DeviceRecord] = {}
    for d in inventory.devices(site, ip=ip):  # per site, the device seen at the address last
        if d.site not in at or _seen(d) > _seen(at[d.site]):
            at[d.site] = d
    if not at:
        raise InputError(f"no device {ip} in the inventory" + (f" (site {site})" if site else ""))
    if len(at) > 1:
        sites = ", ".join(sorted(at))
        raise InputError(f"{ip} is in several sites ({sites}): choose one with --site")
    (device,) = at.values()
    assert device.id is not None
    latest = inventory.latest_observations([device.id]).get(device.id, [])
    history = inventory.history_of([device.id]).get(device.id, [])
    carried = carried_evidence(history, latest, datetime.now(UTC) - horizon)
    attribution = identify_host(carried + latest)
    used = {(e.signal, e.value) for e in attribution.evidence}
    for e in attribution.evidence:  # a set of open ports that matched used each of its ports
        if e.signal == "tcp.ports":
            used.update(("tcp.port", port) for port in e.value.split())
    unmatched = [
        o
        for o in carried + latest
        if o.status.value == "ok"
        and (o.signal, o.value[:160]) not in used
        and not any(e.signal == "mac" and e.value.startswith(o.value) for e in attribution.evidence)
    ]
    signals = {e.signal for e in attribution.evidence}
    confirmed: dict[str, datetime] = {}
    for o in history:
        if o.signal in signals and o.status is ObsStatus.OK and o.observed_at is not None:
            confirmed[o.signal] = max(o.observed_at, confirmed.get(o.signal, o.observed_at))
    return Explanation(
        device, latest + carried, attribution, unmatched, len(history), carried, confirmed
    )

"""The pipeline front-ends call: sources -> identify -> store (-> report).

`run_scan` is one active scan of declared targets into an inventory; `summarise` condenses an
inventory for the summary table and the reports.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from coverwatch.identify import identify_host, load_knowledge
from coverwatch.models import VIDEO_TYPES
from coverwatch.observer import NULL_OBSERVER, Observer
from coverwatch.sources.active import ActiveScanSource, ScanOptions
from coverwatch.store import DeviceRecord, HostResult, Inventory
from coverwatch.targets import DEFAULT_MAX_HOSTS, expand_targets


@dataclass(frozen=True)
class ScanOutcome:
    """What one scan did."""

    scan_id: int
    """Its id in the inventory."""
    hosts_scanned: int
    """Addresses in scope."""
    hosts: list[HostResult]
    """Hosts that answered, with their attributions."""


def run_scan(
    targets: list[str],
    options: ScanOptions,
    site: str,
    inventory: Inventory,
    observer: Observer = NULL_OBSERVER,
    max_hosts: int = DEFAULT_MAX_HOSTS,
) -> ScanOutcome:
    """Scan ``targets`` (the declared scope), attribute every host that answered, store it all."""
    hosts = expand_targets(targets, max_hosts)
    started = datetime.now(UTC)
    found = ActiveScanSource(hosts, options).collect(observer)
    observer.stage("identify", len(found))
    results = []
    for ip, observations in found.items():
        results.append(HostResult(ip, tuple(observations), identify_host(observations)))
        observer.advance()
    observer.done()
    recorded_options = {
        "ports": list(options.ports),
        "concurrency": options.concurrency,
        "timeout": options.timeout,
        "rate": options.rate,
        "credentials": options.credentials.default is not None or bool(options.credentials.hosts),
    }
    scan_id = inventory.record_scan(site, targets, recorded_options, started, results)
    return ScanOutcome(scan_id, len(hosts), results)


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

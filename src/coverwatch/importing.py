"""Recording an import (an nmap file, an asset register) into the inventory, streaming.

Rows arrive one at a time and are recorded in batches of ``BATCH`` hosts per site, all in one
transaction: memory does not grow with the file, and the import is kept whole or not at all
(a contradiction found late, such as an address held in two sites, leaves nothing behind).

Each host goes to the site its row names, else the ``--site`` given, else the site already
holding a device at its address, else ``default``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from coverwatch.errors import InputError
from coverwatch.models import Observation, SourceKind
from coverwatch.observer import NULL_OBSERVER, Observer
from coverwatch.pipeline import RunWriter
from coverwatch.store import Inventory
from coverwatch.store.interface import RunRecorder

#: Hosts attributed and written together, per site.
BATCH = 2_000

#: One imported row or host: the site it names (None: none), its address, its observations.
ImportRow = tuple[str | None, str, list[Observation]]


@dataclass
class SiteTally:
    """What an import recorded in one site."""

    run_id: int
    hosts: int = 0
    disagreeing: int = 0
    """Hosts where the import disagrees with other evidence (a conflicting evidence item)."""
    unplaced: int = 0
    """Hosts placed here because no site knew their address."""


@dataclass
class ImportTally:
    """What one import recorded, per site, and the sites that were new."""

    sites: dict[str, SiteTally] = field(default_factory=dict)
    new_sites: set[str] = field(default_factory=set)

    @property
    def hosts(self) -> int:
        """Hosts recorded, all sites together."""
        return sum(t.hosts for t in self.sites.values())


def record_import(
    inventory: Inventory,
    rows: Iterable[ImportRow],
    kind: SourceKind,
    path: str,
    site: str | None,
    options: Callable[[], dict[str, object]],
    observer: Observer = NULL_OBSERVER,
) -> ImportTally:
    """Record ``rows`` as one run per site they land in, in one transaction. ``options`` gives
    the runs' options once every row was read (counts of rows and bad rows)."""
    known = set(inventory.sites())
    observer.stage("import", None)
    with inventory.recording() as recorder:
        batches = _Batches(recorder, kind, path, site, observer)
        for named, ip, observations in rows:
            batches.add(named, ip, observations)
        tally = batches.close(options())
    tally.new_sites = set(tally.sites) - known
    observer.done()
    return tally


class _Batches:
    """Hosts pending per target site (None: to be placed by address), flushed in batches."""

    def __init__(
        self,
        recorder: RunRecorder,
        kind: SourceKind,
        path: str,
        site: str | None,
        observer: Observer,
    ) -> None:
        self.recorder = recorder
        self.kind = kind
        self.path = path
        self.site = site
        self.observer = observer
        self.started = datetime.now(UTC)
        self.pending: dict[str | None, dict[str, list[Observation]]] = {}
        self.runs: dict[str, RunWriter] = {}
        self.tally = ImportTally()

    def add(self, named: str | None, ip: str, observations: list[Observation]) -> None:
        if not observations:
            return
        target = named or self.site
        hosts = self.pending.setdefault(target, {})
        hosts.setdefault(ip, []).extend(observations)
        if len(hosts) >= BATCH:
            self._flush(target)

    def _flush(self, target: str | None) -> None:
        hosts = self.pending.pop(target, {})
        if not hosts:
            return
        if target is not None:
            self._record(target, hosts)
            return
        where = self.recorder.sites_of(list(hosts))
        ambiguous = sorted((ip, sites) for ip, sites in where.items() if len(sites) > 1)
        if ambiguous:
            shown = "; ".join(f"{ip} in {', '.join(sites)}" for ip, sites in ambiguous[:5])
            raise InputError(
                f"{len(ambiguous)} imported address(es) are held in several sites ({shown}"
                f"{' ...' if len(ambiguous) > 5 else ''}): give --site"
            )
        placed: dict[str, dict[str, list[Observation]]] = {}
        for ip, observations in hosts.items():
            known = where.get(ip)
            placed.setdefault(known[0] if known else "default", {})[ip] = observations
            if not known:
                self._tally("default").unplaced += 1
        for name, group in placed.items():
            self._record(name, group)

    def _run(self, target: str) -> RunWriter:
        if target not in self.runs:
            self.runs[target] = RunWriter(
                self.recorder, target, self.kind, [self.path], {}, self.started, self.observer
            )
        return self.runs[target]

    def _tally(self, target: str) -> SiteTally:
        return self.tally.sites.setdefault(target, SiteTally(self._run(target).id))

    def _record(self, target: str, hosts: dict[str, list[Observation]]) -> None:
        results = self._run(target).add(hosts)
        tally = self._tally(target)
        tally.hosts += len(results)
        tally.disagreeing += sum(
            1 for h in results if any(e.conflicts for e in h.attribution.evidence)
        )

    def close(self, options: dict[str, object]) -> ImportTally:
        for target in list(self.pending):
            self._flush(target)
        if not self.runs:  # nothing usable: the run is still recorded, as it always was
            self._tally(self.site or "default")
        for run in self.runs.values():
            run.options.update(options)
            run.finish()
        return self.tally


__all__ = ["BATCH", "ImportRow", "ImportTally", "SiteTally", "record_import"]

"""The monitoring loop: scan, audit, compare with the previous round, alert on changes.

Each round is compared with the previous round as it was stored: its devices and the findings
of its stored audit (traffic verdicts included), so a finding, or an egress destination, that
was already open is never announced again (issue #10 part 4). The first round of a loop compares
with the site's last stored audit, or, with none, with the policy evaluated over the devices
and traffic as they stand before the round. Waivers revoked or expired since the previous
round (the loop's start, for the first) are announced too (issue #14).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

from coverwatch.monitor.events import (
    Event,
    EventKind,
    FindingKey,
    changes,
    open_document_keys,
    open_finding_keys,
    waiver_changes,
)
from coverwatch.monitor.sinks import AlertSink
from coverwatch.observer import NULL_OBSERVER, Observer
from coverwatch.pipeline import run_audit, run_scan, traffic_facts, with_stored_waivers
from coverwatch.policy.engine import evaluate
from coverwatch.policy.interface import TrafficFacts
from coverwatch.policy.model import Policy
from coverwatch.sources.active import ScanOptions
from coverwatch.store import Inventory
from coverwatch.traffic.model import Destination, DeviceEgress
from coverwatch.waivers import WaiverEntry, list_waivers

logger = logging.getLogger(__name__)


@dataclass
class WatchPlan:
    """What to watch, how often, and where alerts go."""

    targets: list[str]
    site: str
    every: float
    policy: Policy
    options: ScanOptions
    sinks: list[AlertSink]
    digest: bool = False
    """Collect events and send one summary per day instead of one alert per round."""
    rounds: int | None = None
    """Stop after this many rounds (None: until interrupted)."""
    traffic_dir: str | None = None
    """Flow store to analyse each round (new egress destinations alert); None: no traffic."""


@dataclass
class RoundResult:
    """One round of the loop."""

    number: int
    scan_id: int
    events: list[Event]
    sent: bool
    errors: list[str] = field(default_factory=list)


def _fold_new_device_findings(events: list[Event]) -> list[Event]:
    """A new device's findings travel inside its own event: one alert per new device."""
    new = {
        (e.site, e.ip): e
        for e in events
        if e.kind in (EventKind.NEW_DEVICE, EventKind.NEW_COVERED_DEVICE)
    }
    kept = []
    for event in events:
        host = new.get((event.site, event.ip))
        if event.kind is EventKind.NEW_FINDING and host is not None:
            found = host.details.setdefault("findings", [])
            if isinstance(found, list):
                found.append(event.summary)
            continue
        kept.append(event)
    return kept


def _deliver(sinks: list[AlertSink], events: list[Event], subject: str) -> list[str]:
    errors = [error for sink in sinks if (error := sink.send(events, subject))]
    for error in errors:
        logger.debug("alert not delivered: %s", error)  # the round's errors are reported
    return errors


def watch(
    inventory: Inventory,
    plan: WatchPlan,
    observer: Observer = NULL_OBSERVER,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[RoundResult]:
    """Run rounds until ``plan.rounds`` are done; yield each round's result.

    The first round on an empty inventory is the baseline: it alerts on nothing. On Ctrl-C a
    pending digest is sent before the interrupt goes on.
    """
    pending: list[Event] = []
    try:
        yield from _rounds(inventory, plan, observer, sleep, pending)
    except KeyboardInterrupt:
        if pending:
            subject = f"coverwatch digest for {plan.site} (interrupted): {len(pending)} changes"
            for error in _deliver(plan.sinks, pending, subject):
                logger.warning("alert not delivered: %s", error)  # no round result to carry it
        raise


#: An egress destination as the loop tracks it: device address, remote address, port.
DestinationKey = tuple[str, str, int]


def _destinations(
    facts: TrafficFacts | None,
) -> dict[DestinationKey, tuple[DeviceEgress, Destination]]:
    """Every (device, remote address, port) the traffic store shows, with its verdict and flow."""
    if facts is None:
        return {}
    return {
        (e.ip, d.remote_ip, d.port): (e, d) for e in facts.egress.values() for d in e.destinations
    }


def _site_waivers(inventory: Inventory, plan: WatchPlan, today: date) -> list[WaiverEntry]:
    """The waivers that can apply at the watched site (its own and those for any site), as
    they stand on ``today``."""
    return [w for w in list_waivers(plan.policy, inventory, today) if w.site in (None, plan.site)]


def _previous_open(inventory: Inventory, site: str, audit_id: int | None) -> set[FindingKey] | None:
    """The open findings of the previous round's stored audit (``audit_id``, else the site's
    last stored audit); None when the site was never audited."""
    if audit_id is None:
        audit_id = next(
            (int(a["id"]) for a in reversed(inventory.audits()) if a["site"] == site), None
        )
    return None if audit_id is None else open_document_keys(inventory.findings(audit_id))


def _rounds(
    inventory: Inventory,
    plan: WatchPlan,
    observer: Observer,
    sleep: Callable[[float], None],
    pending: list[Event],
) -> Iterator[RoundResult]:
    digest_day: date | None = None
    number = 0
    known_destinations: set[DestinationKey] | None = None
    last_audit: int | None = None
    known_waivers = _site_waivers(inventory, plan, date.today())
    while plan.rounds is None or number < plan.rounds:
        number += 1
        started = time.monotonic()
        # NOTE: one reading of the local calendar per round, the one `audit` uses: a waiver
        # holds through its expiry day there, so the round's audit and its waiver events agree.
        today = date.today()
        before = inventory.devices(plan.site)
        policy = with_stored_waivers(plan.policy, inventory)
        old_open = _previous_open(inventory, plan.site, last_audit)
        if old_open is None or known_destinations is None:
            # The loop's first round, with no stored audit or destinations to compare with:
            # the policy and the traffic store as they stand before the round.
            facts = traffic_facts(policy, before, plan.traffic_dir) if before else None
            if old_open is None:
                old_open = open_finding_keys(evaluate(policy, before, today, traffic=facts))
            if known_destinations is None:  # what the traffic store already showed is not new
                known_destinations = set(_destinations(facts))
        outcome = run_scan(plan.targets, plan.options, plan.site, inventory, observer)
        audit = run_audit(inventory, plan.policy, plan.site, today, traffic_dir=plan.traffic_dir)
        last_audit = audit.audit_id
        after = inventory.devices(plan.site)
        events = (
            []
            if not before
            else _fold_new_device_findings(changes(before, after, old_open, audit.findings))
        )
        seen = _destinations(traffic_facts(policy, after, plan.traffic_dir))
        if before:  # the baseline round alerts on nothing
            events += [
                Event(
                    EventKind.NEW_EGRESS_DESTINATION,
                    plan.site,
                    ip,
                    f"{ip} now sends to {d.dns_name or d.remote_ip} ({d.proto}/{port}, "
                    f"{e.verdict.value})",
                    {
                        "remote_ip": d.remote_ip,
                        "dns_name": d.dns_name,
                        "port": port,
                        "country": d.country,
                        "bytes_sent": d.bytes_sent,
                    },
                )
                for (ip, remote, port), (e, d) in sorted(seen.items())
                if (ip, remote, port) not in known_destinations
            ]
        known_destinations = set(seen)
        waivers_now = _site_waivers(inventory, plan, today)
        events += waiver_changes(known_waivers, waivers_now)
        known_waivers = waivers_now
        result = RoundResult(number, outcome.scan_id, events, sent=False)
        if plan.digest:
            pending.extend(events)
            digest_day = digest_day or today
            last = plan.rounds is not None and number >= plan.rounds
            if pending and (today != digest_day or last):
                subject = f"coverwatch daily digest for {plan.site}: {len(pending)} changes"
                result.errors = _deliver(plan.sinks, pending, subject)
                result.sent = True
                pending.clear()
                digest_day = today
        elif events:
            subject = f"coverwatch: {len(events)} change(s) at {plan.site}"
            result.errors = _deliver(plan.sinks, events, subject)
            result.sent = True
        yield result
        if plan.rounds is not None and number >= plan.rounds:
            break
        sleep(max(0.0, plan.every - (time.monotonic() - started)))

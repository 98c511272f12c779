"""SqlRecorder: the SQL inventory inside one write transaction, where runs are recorded.

A run is started, fed its hosts batch by batch and finished; each host is recognised as
``identity`` says (serial and maker, MAC within the site, address within the site) against an
index of the site's devices built once per run and kept up to date as devices are added, so a
200,000-row register costs one read of the site, not one per batch. The observation queries
both the recorder and ``SqlInventory`` read with live here too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from coverwatch.identity import Claim, Identity, IdentityIndex, normal_mac, normal_serial
from coverwatch.models import HostResult, Observation, ObsStatus, SourceKind
from coverwatch.store.interface import RunRecorder, StoreError
from coverwatch.store.schema import addresses, devices, observations, scans, sightings

#: Bounded IN lists, whatever the database.
_CHUNK = 500

#: What identity resolution reads of a device, and what an update keeps of it.
IDENTITY_COLUMNS = (
    devices.c.id,
    devices.c.site,
    devices.c.ip,
    devices.c.mac,
    devices.c.serial,
    devices.c.maker,
    devices.c.last_seen,
    devices.c.sources,
)


def aware(value: datetime | None) -> datetime | None:
    """A time read back from the database, in UTC (SQLite drops the zone; only UTC is stored)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def identity_of(row: Any) -> Identity:
    """An ``Identity`` from a row of ``IDENTITY_COLUMNS``."""
    device_id, site, ip, mac, serial, maker, last_seen, _ = row
    mac = normal_mac(mac) if mac else None  # fast for the stored spelling
    return Identity(int(device_id), site, ip, mac, serial, maker, aware(last_seen))


def identity_rows(conn: Connection, site: str, serials: list[str]) -> dict[int, Any]:
    """The devices a run at ``site`` may be: the site's, and those elsewhere sharing one of
    ``serials`` (reported as contradictions, never merged), as rows of ``IDENTITY_COLUMNS``."""
    query = (
        sa.select(*IDENTITY_COLUMNS)
        .where(devices.c.site == site)
        .order_by(devices.c.last_seen, devices.c.id)  # oldest first, as IdentityIndex takes them
    )
    found = {int(r[0]): r for r in conn.execute(query)}
    found.update(_serial_rows(conn, serials))
    return found


def _serial_rows(conn: Connection, serials: list[str]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for start in range(0, len(serials), _CHUNK):
        query = sa.select(*IDENTITY_COLUMNS).where(
            devices.c.serial.in_(serials[start : start + _CHUNK])
        )
        found.update((int(r[0]), r) for r in conn.execute(query))
    return found


def observation_of(r: Any) -> Observation:
    """An ``Observation`` from an observations row joined with its device's address."""
    return Observation(
        r["ip"] or r["device_ip"],
        r["signal"],
        r["value"],
        r["port"],
        r["protocol"],
        ObsStatus(r["status"]),
        SourceKind(r["source"]),
        aware(r["observed_at"]),
    )


def history_of(
    conn: Connection,
    device_ids: list[int],
    since: datetime | None = None,
    signals: tuple[str, ...] | None = None,
) -> dict[int, list[Observation]]:
    """Per device: its observations oldest first, only those observed at or after ``since``
    and, with ``signals``, whose signal starts with one of them."""
    found: dict[int, list[Observation]] = {}
    for start in range(0, len(device_ids), _CHUNK):
        query = (
            sa.select(observations, devices.c.ip.label("device_ip"))
            .join(devices, devices.c.id == observations.c.device_id)
            .where(observations.c.device_id.in_(device_ids[start : start + _CHUNK]))
            .order_by(observations.c.id)
        )
        if since is not None:
            query = query.where(observations.c.observed_at >= since)
        if signals is not None:
            query = query.where(sa.or_(*(observations.c.signal.startswith(p) for p in signals)))
        for r in conn.execute(query).mappings():
            found.setdefault(int(r["device_id"]), []).append(observation_of(r))
    return found


def latest_observations(
    conn: Connection, device_ids: list[int], exclude: SourceKind | None = None
) -> dict[int, list[Observation]]:
    """Per device: the observations of the latest run of each source kind (optionally leaving
    one kind out), the basis for fusing evidence across sources."""
    found: dict[int, list[Observation]] = {}
    for start in range(0, len(device_ids), _CHUNK):
        chunk = device_ids[start : start + _CHUNK]
        # The newest run per device and source kind first (grouped over the devices' own
        # rows), then its observations: one pass over each device's history.
        newest = (
            sa.select(
                observations.c.device_id,
                observations.c.source,
                sa.func.max(observations.c.scan_id).label("scan_id"),
            )
            .where(observations.c.device_id.in_(chunk))
            .group_by(observations.c.device_id, observations.c.source)
        )
        if exclude is not None:
            newest = newest.where(observations.c.source != exclude.value)
        latest = newest.subquery("latest")
        query = (
            sa.select(observations, devices.c.ip.label("device_ip"))
            .join(
                latest,
                sa.and_(
                    observations.c.device_id == latest.c.device_id,
                    observations.c.source == latest.c.source,
                    observations.c.scan_id == latest.c.scan_id,
                ),
            )
            .join(devices, devices.c.id == observations.c.device_id)
            .where(observations.c.device_id.in_(chunk))
            .order_by(observations.c.id)
        )
        for r in conn.execute(query).mappings():
            found.setdefault(int(r["device_id"]), []).append(observation_of(r))
    return found


def sites_of(conn: Connection, ips: list[str]) -> dict[str, list[str]]:
    """Per address: the sites holding a device at it (sorted); unknown addresses absent."""
    found: dict[str, set[str]] = {}
    for start in range(0, len(ips), _CHUNK):
        query = sa.select(devices.c.ip, devices.c.site).where(
            devices.c.ip.in_(ips[start : start + _CHUNK])
        )
        for ip, site in conn.execute(query):
            found.setdefault(ip, set()).add(site)
    return {ip: sorted(sites) for ip, sites in found.items()}


def bulk_insert(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in the connection's transaction: PostgreSQL by COPY (one stream, not a
    round trip per row), anything else by executemany (SQLite's is one C loop)."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    finally:
        cursor.close()


def insert_row(conn: Connection, statement: sa.Insert) -> int:
    """Run an INSERT and return the new row's integer primary key."""
    key = conn.execute(statement).inserted_primary_key
    if key is None:
        raise StoreError("the database did not return a new row id")
    return int(key[0])


@dataclass
class _Run:
    """One run being recorded."""

    site: str
    source: str
    seen: datetime
    """When its devices count as seen (when recording began)."""
    index: IdentityIndex
    """The devices it may meet; grows with the devices it adds."""
    hosts: int = 0
    finished: bool = False
    conflicts: list[str] = field(default_factory=list)


class SqlRecorder(RunRecorder):
    """Runs recorded on one connection, inside its transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._runs: dict[int, _Run] = {}

    def start(
        self, site: str, targets: list[str], options: dict[str, object], started_at: datetime
    ) -> int:
        now = datetime.now(UTC)
        run_id = insert_row(
            self.conn,
            scans.insert().values(
                started_at=started_at,
                finished_at=now,
                site=site,
                targets=json.dumps(targets),
                options=json.dumps(options, default=str),
                hosts_found=0,
            ),
        )
        rows = identity_rows(self.conn, site, [])
        source = str(options.get("source") or SourceKind.SCAN.value)
        index = IdentityIndex((identity_of(r) for r in rows.values()), oldest_first=True)
        self._runs[run_id] = _Run(site, source, now, index)
        return run_id

    def _with_serials(self, run: _Run, claims: list[Claim]) -> None:
        """Index the devices elsewhere that share a claim's serial (for the contradictions)."""
        serials = sorted({c.serial for c in claims if c.serial})
        for device_id, row in _serial_rows(self.conn, serials).items():
            if device_id not in run.index:
                run.index.add(identity_of(row))

    def match(self, run_id: int, claims: list[Claim]) -> tuple[list[int | None], list[str]]:
        run = self._runs[run_id]
        self._with_serials(run, claims)
        return run.index.match(run.site, claims)

    def latest_observations(
        self, device_ids: list[int], exclude: SourceKind | None = None
    ) -> dict[int, list[Observation]]:
        return latest_observations(self.conn, device_ids, exclude)

    def history_of(
        self,
        device_ids: list[int],
        since: datetime | None = None,
        signals: tuple[str, ...] | None = None,
    ) -> dict[int, list[Observation]]:
        return history_of(self.conn, device_ids, since, signals)

    def sites_of(self, ips: list[str]) -> dict[str, list[str]]:
        return sites_of(self.conn, ips)

    def add(self, run_id: int, hosts: list[HostResult]) -> list[str]:
        run = self._runs[run_id]
        claims = [
            Claim(
                h.ip,
                normal_mac(h.mac) if h.mac else None,
                normal_serial(h.serial) if h.serial else None,
                h.attribution.maker,
            )
            for h in hosts
        ]
        self._with_serials(run, claims)
        matched, conflicts = run.index.match(run.site, claims)
        values = [_sighting_values(h) for h in hosts]
        ids = self._merge_devices(run, run_id, hosts, claims, matched, values)
        rows = [
            _observation_row(o, run_id, device_id)
            for host, device_id in zip(hosts, ids, strict=True)
            for o in host.observations
        ]
        if rows:
            bulk_insert(self.conn, observations, rows)
        seen = [
            {**v, "scan_id": run_id, "device_id": device_id, "ip": host.ip}
            for host, device_id, v in zip(hosts, ids, values, strict=True)
        ]
        if seen:
            bulk_insert(self.conn, sightings, seen)
        run.hosts += len(hosts)
        return conflicts

    def _merge_devices(
        self,
        run: _Run,
        run_id: int,
        hosts: list[HostResult],
        claims: list[Claim],
        matched: list[int | None],
        values: list[dict[str, Any]],
    ) -> list[int]:
        """Update the known devices, insert the new ones, record their addresses; returns
        the device ids, host by host."""
        ids: list[int] = []
        updates: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        stored = self._stored([d for d in matched if d is not None])
        for host, claim, device_id, sighting in zip(hosts, claims, matched, values, strict=True):
            common = {**sighting, "ip": host.ip, "last_seen": run.seen, "last_scan_id": run_id}
            if device_id is not None:
                mac, serial, sources = stored[device_id]
                updates.append(
                    {
                        **common,
                        "b_id": device_id,
                        "mac": host.mac or mac,
                        "serial": claim.serial or serial,
                        "sources": json.dumps(sorted(set(json.loads(sources)) | {run.source})),
                    }
                )
            else:
                inserts.append(
                    {
                        **common,
                        "site": run.site,
                        "mac": host.mac,
                        "serial": claim.serial,
                        "sources": json.dumps([run.source]),
                        "first_seen": run.seen,
                    }
                )
            ids.append(device_id if device_id is not None else -1)
        if updates:
            columns: dict[str, Any] = {
                key: sa.bindparam(key) for key in updates[0] if key != "b_id"
            }
            update_all = devices.update().where(devices.c.id == sa.bindparam("b_id"))
            self.conn.execute(update_all.values(columns), updates)
        if inserts:
            # One multi-row INSERT ... RETURNING (SQLAlchemy "insertmanyvalues"), in order.
            insert = devices.insert().returning(devices.c.id, sort_by_parameter_order=True)
            fresh = iter([int(row.id) for row in self.conn.execute(insert, inserts)])
            ids = [device_id if device_id >= 0 else next(fresh) for device_id in ids]
        for host, claim, device_id in zip(hosts, claims, ids, strict=True):
            # Later batches meet these devices where they are now.
            known = run.index.get(device_id)
            run.index.add(
                Identity(
                    device_id,
                    run.site,
                    host.ip,
                    claim.mac or (known.mac if known else None),
                    claim.serial or (known.serial if known else None),
                    host.attribution.maker or (known.maker if known else None),
                    run.seen,
                )
            )
        self._record_addresses(hosts, ids, run.seen)
        return ids

    def _stored(self, device_ids: list[int]) -> dict[int, tuple[str | None, str | None, str]]:
        """Per known device: its stored MAC, serial and sources (JSON)."""
        found: dict[int, tuple[str | None, str | None, str]] = {}
        for start in range(0, len(device_ids), _CHUNK):
            query = sa.select(devices.c.id, devices.c.mac, devices.c.serial, devices.c.sources)
            query = query.where(devices.c.id.in_(device_ids[start : start + _CHUNK]))
            for device_id, mac, serial, sources in self.conn.execute(query):
                found[int(device_id)] = (mac, serial, sources or "[]")
        return found

    def _record_addresses(self, hosts: list[HostResult], ids: list[int], seen: datetime) -> None:
        """Each device's addresses in this run: new ones added, known ones confirmed."""
        held = {
            (device_id, ip)
            for host, device_id in zip(hosts, ids, strict=True)
            for ip in (host.addresses or (host.ip,))
        }
        known: set[tuple[int, str]] = set()
        wanted = sorted({device_id for device_id, _ in held})
        for start in range(0, len(wanted), _CHUNK):
            query = sa.select(addresses.c.device_id, addresses.c.ip).where(
                addresses.c.device_id.in_(wanted[start : start + _CHUNK])
            )
            known.update((int(r.device_id), r.ip) for r in self.conn.execute(query))
        confirmed = [{"b_id": d, "b_ip": ip, "last_seen": seen} for d, ip in held & known]
        if confirmed:
            self.conn.execute(
                addresses.update()
                .where(
                    addresses.c.device_id == sa.bindparam("b_id"),
                    addresses.c.ip == sa.bindparam("b_ip"),
                )
                .values(last_seen=sa.bindparam("last_seen")),
                confirmed,
            )
        new = [
            {"device_id": d, "ip": ip, "first_seen": seen, "last_seen": seen}
            for d, ip in sorted(held - known)
        ]
        if new:
            bulk_insert(self.conn, addresses, new)

    def finish(self, run_id: int, options: dict[str, object] | None = None) -> None:
        run = self._runs[run_id]
        values: dict[str, Any] = {"hosts_found": run.hosts, "finished_at": datetime.now(UTC)}
        if options is not None:
            values["options"] = json.dumps(options, default=str)
        self.conn.execute(scans.update().where(scans.c.id == run_id).values(**values))
        run.finished = True

    def close(self) -> None:
        """Finish the runs left open (the transaction then commits)."""
        for run_id, run in self._runs.items():
            if not run.finished:
                self.finish(run_id)


def _observation_row(o: Observation, scan_id: int, device_id: int) -> dict[str, Any]:
    return {
        "scan_id": scan_id,
        "device_id": device_id,
        "ip": o.ip,
        "port": o.port,
        "protocol": o.protocol or o.signal.split(".")[0],
        "signal": o.signal,
        "value": o.value,
        "status": o.status.value,
        "source": o.source.value,
        "observed_at": o.observed_at,
    }


def _sighting_values(host: HostResult) -> dict[str, Any]:
    """The attribution columns a device and its sighting share."""
    attribution = host.attribution.to_json()
    ports = sorted(
        host.open_ports
        if host.open_ports is not None
        else {o.port for o in host.observations if o.signal == "tcp.port" and o.port}
    )
    return {
        **attribution,
        "evidence": json.dumps(attribution["evidence"]),
        "open_ports": json.dumps(ports),
    }

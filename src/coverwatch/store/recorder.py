"""SqlRecorder: the SQL inventory inside one write transaction, where runs are recorded.

A run is started, fed its hosts batch by batch and finished; each host is recognised as
``identity`` says (serial and maker, MAC within the site, address within the site) against an
index of the devices its hosts may be: those at their addresses or MACs within the site, or
sharing their serials anywhere, read by those keys as the batches come (never the whole site, so
a scan costs what it finds, not what the inventory holds) and kept up to date as the run moves
and adds devices. The observation queries both the recorder and ``SqlInventory`` read with live
here too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from coverwatch.identity import Claim, Identity, IdentityIndex, normal_mac, normal_serial
from coverwatch.models import HostResult, Observation, ObsStatus, SourceKind
from coverwatch.store.interface import RunRecorder, StoreError
from coverwatch.store.rows import aware
from coverwatch.store.schema import (
    addresses,
    devices,
    ingests,
    observations,
    scans,
    sightings,
)

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


def identity_of(row: Any) -> Identity:
    """An ``Identity`` from a row of ``IDENTITY_COLUMNS``."""
    device_id, site, ip, mac, serial, maker, last_seen, _ = row
    mac = normal_mac(mac) if mac else None  # fast for the stored spelling
    return Identity(int(device_id), site, ip, mac, serial, maker, aware(last_seen))


def within(conn: Connection, column: Any, values: list[Any]) -> Iterator[Any]:
    """Conditions that together select ``column IN values``, each bounded: one array parameter
    on PostgreSQL (no statement with thousands of placeholders to build and parse), lists of
    ``_CHUNK`` elsewhere. Nothing for no values."""
    if not values:
        return
    if conn.dialect.name == "postgresql":
        yield column == sa.any_(sa.bindparam(None, values, type_=sa.ARRAY(column.type)))
        return
    for start in range(0, len(values), _CHUNK):
        yield column.in_(values[start : start + _CHUNK])


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
    for chunk in within(conn, observations.c.device_id, device_ids):
        query = (
            sa.select(observations, devices.c.ip.label("device_ip"))
            .join(devices, devices.c.id == observations.c.device_id)
            .where(chunk)
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
    for chunk in within(conn, observations.c.device_id, device_ids):
        # The newest run per device and source kind first (grouped over the devices' own
        # rows), then its observations: one pass over each device's history.
        newest = (
            sa.select(
                observations.c.device_id,
                observations.c.source,
                sa.func.max(observations.c.scan_id).label("scan_id"),
            )
            .where(chunk)
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
            .where(chunk)
            .order_by(observations.c.id)
        )
        for r in conn.execute(query).mappings():
            found.setdefault(int(r["device_id"]), []).append(observation_of(r))
    return found


def sites_of(conn: Connection, ips: list[str]) -> dict[str, list[str]]:
    """Per address: the sites holding a device at it (sorted); unknown addresses absent."""
    found: dict[str, set[str]] = {}
    for chunk in within(conn, devices.c.ip, ips):
        query = sa.select(devices.c.ip, devices.c.site).where(chunk)
        for ip, site in conn.execute(query):
            found.setdefault(ip, set()).add(site)
    return {ip: sorted(sites) for ip, sites in found.items()}


@contextmanager
def _driver_cursor(conn: Connection, statement: str) -> Iterator[Any]:
    """A cursor of the driver's own on the connection (in its transaction), its errors raised
    as SQLAlchemy raises a driver's errors (what the stores catch)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    except conn.dialect.loaded_dbapi.Error as e:
        raise sa.exc.DBAPIError.instance(statement, None, e, conn.dialect.loaded_dbapi.Error) from e
    finally:
        cursor.close()


def _executemany(
    conn: Connection, table: sa.Table, statement: str, columns: list[str], rows: list[list[Any]]
) -> None:
    """``statement`` (one ``?`` per column) once per row (``rows`` are bound in place), by the
    driver's executemany (SQLite's is one C loop) with each value bound as SQLAlchemy binds it,
    but without SQLAlchemy's per-row parameter handling, which costs more than the writes."""
    binds = [
        (i, bind)
        for i, c in enumerate(columns)
        if (bind := table.c[c].type.bind_processor(conn.dialect)) is not None
    ]
    for row in rows if binds else ():
        for i, bind in binds:
            row[i] = bind(row[i])
    with _driver_cursor(conn, statement) as cursor:
        cursor.executemany(statement, rows)


def bulk_insert(conn: Connection, table: sa.TableClause, rows: list[dict[str, Any]]) -> None:
    """Insert many rows, each with the same columns (every NOT NULL one: no defaults apply),
    in the connection's transaction: PostgreSQL by COPY (one stream, not a round trip per row),
    anything else by the driver's executemany."""
    if not rows:
        return
    columns = list(rows[0])
    if conn.dialect.name != "postgresql":
        assert isinstance(table, sa.Table)
        names = ", ".join(f'"{c}"' for c in columns)
        statement = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(columns))})'
        _executemany(conn, table, statement, columns, [[r[c] for c in columns] for r in rows])
        return
    names = ", ".join(f'"{c}"' for c in columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    with _driver_cursor(conn, statement) as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def bulk_update(
    conn: Connection, table: sa.Table, rows: list[dict[str, Any]], keys: tuple[str, ...]
) -> None:
    """Update many rows, each found by its ``keys`` columns and given its other values (every
    row with the same columns): PostgreSQL by COPY into a scratch table and one UPDATE from it,
    anything else by executemany."""
    if not rows:
        return
    columns = [c for c in rows[0] if c not in keys]
    if conn.dialect.name != "postgresql":
        assignments = ", ".join(f'"{c}" = ?' for c in columns)
        matches = " AND ".join(f'"{k}" = ?' for k in keys)
        statement = f'UPDATE "{table.name}" SET {assignments} WHERE {matches}'
        order = [*columns, *keys]
        _executemany(conn, table, statement, order, [[r[c] for c in order] for r in rows])
        return
    scratch = f"cw_update_{table.name}"
    names = ", ".join(f'"{c}"' for c in (*keys, *columns))
    conn.execute(
        sa.text(
            f"CREATE TEMP TABLE {scratch} ON COMMIT DROP AS "
            f'SELECT {names} FROM "{table.name}" WHERE false'
        )
    )
    bulk_insert(conn, sa.table(scratch, *(sa.column(c) for c in (*keys, *columns))), rows)
    assignments = ", ".join(f'"{c}" = s."{c}"' for c in columns)
    matches = " AND ".join(f't."{k}" = s."{k}"' for k in keys)
    conn.execute(
        sa.text(f'UPDATE "{table.name}" AS t SET {assignments} FROM {scratch} AS s WHERE {matches}')
    )
    conn.execute(sa.text(f"DROP TABLE {scratch}"))


def new_ids(conn: Connection, table: sa.Table, count: int) -> list[int]:
    """``count`` fresh primary keys for rows of ``table`` this transaction is about to insert
    (so that they can go in by ``bulk_insert``: a row-by-row INSERT ... RETURNING costs more
    than the rows). PostgreSQL takes them from the column's sequence; SQLite lets one writer
    at a time, and a transaction recording a run already is that writer (it wrote the run's
    row first), so the keys above the largest stored one stay free until it commits."""
    if conn.dialect.name == "postgresql":
        query = sa.text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
        )
        return [int(r[0]) for r in conn.execute(query, {"table": table.name, "n": count})]
    top = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
    return list(range(top + 1, top + 1 + count))


def insert_row(conn: Connection, statement: sa.Insert) -> int:
    """Run an INSERT and return the new row's integer primary key."""
    key = conn.execute(statement).inserted_primary_key
    if key is None:
        raise StoreError("the database did not return a new row id")
    return int(key[0])


#: What a run keeps of a stored device it meets: its MAC as stored, its serial, its sources.
_Stored = tuple[str | None, str | None, str]


@dataclass
class _Run:
    """One run being recorded."""

    site: str
    source: str
    seen: datetime
    """When its devices count as seen (when recording began)."""
    index: IdentityIndex = field(default_factory=IdentityIndex)
    """The devices it may meet, read as its hosts' keys come; kept as the run leaves them."""
    stored: dict[int, _Stored] = field(default_factory=dict)
    looked: set[tuple[str, str]] = field(default_factory=set)
    """The keys (``ip``, ``mac``, ``serial`` and the value) already read for."""
    hosts: int = 0
    finished: bool = False


class SqlRecorder(RunRecorder):
    """Runs recorded on one connection, inside its transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._runs: dict[int, _Run] = {}

    def start(
        self, site: str, targets: list[str], options: dict[str, object], started_at: datetime
    ) -> int:
        if self.conn.dialect.name == "postgresql":
            # Runs of one site (sensors, serve workers, a CLI import) take turns: two at once
            # would each find a new device absent and record it twice. The lock ends with the
            # transaction. (SQLite lets one writer at a time anyway.)
            key = int.from_bytes(hashlib.sha256(site.encode()).digest()[:8], "big", signed=True)
            self.conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
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
        source = str(options.get("source") or SourceKind.SCAN.value)
        self._runs[run_id] = _Run(site, source, now)
        return run_id

    def _load(self, run: _Run, claims: list[Claim]) -> None:
        """Index the stored devices the claims may be: those at their addresses or MACs within
        the site, and those anywhere sharing their serials (elsewhere: for the contradictions).
        A device the run already holds stays as the run left it."""
        keys = {
            "ip": {c.ip for c in claims},
            "mac": {c.mac for c in claims if c.mac},
            "serial": {c.serial for c in claims if c.serial},
        }
        rows: dict[int, Any] = {}
        for name, values in keys.items():
            wanted = sorted(v for v in values if (name, v) not in run.looked)
            run.looked.update((name, v) for v in wanted)
            for chunk in within(self.conn, devices.c[name], wanted):
                query = sa.select(*IDENTITY_COLUMNS).where(chunk)
                if name != "serial":
                    query = query.where(devices.c.site == run.site)
                rows.update((int(r[0]), r) for r in self.conn.execute(query))
        for device_id, row in rows.items():
            if device_id not in run.index:
                run.index.add(identity_of(row))
                run.stored[device_id] = (row.mac, row.serial, row.sources or "[]")

    def match(self, run_id: int, claims: list[Claim]) -> tuple[list[int | None], list[str]]:
        run = self._runs[run_id]
        self._load(run, claims)
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
        self._load(run, claims)
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
        for host, claim, device_id, sighting in zip(hosts, claims, matched, values, strict=True):
            common = {**sighting, "ip": host.ip, "last_seen": run.seen, "last_scan_id": run_id}
            if device_id is not None:
                mac, serial, sources = run.stored[device_id]
                update = {
                    **common,
                    "id": device_id,
                    "mac": host.mac or mac,
                    "serial": claim.serial or serial,
                    "sources": json.dumps(sorted(set(json.loads(sources)) | {run.source})),
                }
                updates.append(update)
                run.stored[device_id] = (update["mac"], update["serial"], update["sources"])
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
        bulk_update(self.conn, devices, updates, ("id",))
        if inserts:
            fresh = new_ids(self.conn, devices, len(inserts))
            for row, device_id in zip(inserts, fresh, strict=True):
                row["id"] = device_id
                run.stored[device_id] = (row["mac"], row["serial"], row["sources"])
            bulk_insert(self.conn, devices, inserts)
            made = iter(fresh)
            ids = [device_id if device_id >= 0 else next(made) for device_id in ids]
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

    def _record_addresses(self, hosts: list[HostResult], ids: list[int], seen: datetime) -> None:
        """Each device's addresses in this run: new ones added, known ones confirmed."""
        held = {
            (device_id, ip)
            for host, device_id in zip(hosts, ids, strict=True)
            for ip in (host.addresses or (host.ip,))
        }
        known: set[tuple[int, str]] = set()
        wanted = sorted({device_id for device_id, _ in held})
        for chunk in within(self.conn, addresses.c.device_id, wanted):
            query = sa.select(addresses.c.device_id, addresses.c.ip).where(chunk)
            known.update((int(r.device_id), r.ip) for r in self.conn.execute(query))
        confirmed = [{"device_id": d, "ip": ip, "last_seen": seen} for d, ip in held & known]
        bulk_update(self.conn, addresses, confirmed, ("device_id", "ip"))
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

    def keep_batch_key(self, key: str, run_id: int, site: str, sensor: str) -> None:
        self.conn.execute(
            ingests.insert().values(
                batch_key=key,
                run_id=run_id,
                site=site,
                sensor=sensor,
                received_at=datetime.now(UTC),
            )
        )

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

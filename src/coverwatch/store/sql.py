"""SqlInventory: the inventory in SQLite (default) or PostgreSQL, through SQLAlchemy Core.

Schema: see schema.py. Every scan is written in one transaction, so a failed or interrupted write
leaves the inventory as it was. Foreign databases are refused, never modified.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from coverwatch.identity import Claim, Identity, IdentityIndex, normal_mac, normal_serial
from coverwatch.models import (
    Address,
    Attribution,
    DeviceRecord,
    DeviceType,
    Evidence,
    HostResult,
    Observation,
    ObsStatus,
    ScanRecord,
    SourceKind,
)
from coverwatch.store.interface import Inventory, StoreError
from coverwatch.store.schema import (
    SCHEMA_VERSION,
    addresses,
    audits,
    devices,
    findings,
    meta,
    metadata,
    migrate,
    observations,
    scans,
    sightings,
    tokens,
    waivers,
)
from coverwatch.targets import ip_key


def database_url(db: str) -> str:
    """A SQLAlchemy URL from ``--db``: a URL is kept, anything else is a SQLite file path."""
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser()}"


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # SQLite drops the zone; we only ever store UTC
    return value


def _evidence_from_json(text: str) -> tuple[Evidence, ...]:
    items = json.loads(text or "[]")
    return tuple(
        Evidence(
            i["signal"],
            i["value"],
            i["matched"],
            i["source"],
            i.get("maker"),
            i.get("brand"),
            float(i.get("weight", 0)),
            bool(i.get("conflicts", False)),
            i.get("component"),
        )
        for i in items
    )


_IDENTITY = (
    devices.c.id,
    devices.c.site,
    devices.c.ip,
    devices.c.mac,
    devices.c.serial,
    devices.c.maker,
    devices.c.last_seen,
    devices.c.sources,
)


def _identity(row: Any) -> Identity:
    """An ``Identity`` from a row of ``_IDENTITY`` columns."""
    device_id, site, ip, mac, serial, maker, last_seen, _ = row
    return Identity(
        int(device_id),
        site,
        ip,
        normal_mac(mac) if mac else None,
        serial,
        maker,
        _aware(last_seen),
    )


class SqlInventory(Inventory):
    """The inventory behind a SQLAlchemy engine."""

    def __init__(self, db: str) -> None:
        self.label = db
        url = database_url(db)
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if path.is_dir():
                raise StoreError(f"{db}: is a directory, not a database file")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"{db}: cannot create folder {path.parent}: {e.strerror}") from e
        try:
            self.engine: Engine = sa.create_engine(url)
        except (ArgumentError, SQLAlchemyError, ImportError) as e:
            raise StoreError(f"{db}: cannot open database: {e.__class__.__name__}") from e
        self._prepare()

    def _fail(self, action: str, e: Exception) -> StoreError:
        detail = getattr(e, "orig", None) or e
        text = str(detail).splitlines()[0] if str(detail) else e.__class__.__name__
        return StoreError(f"{self.label}: cannot {action}: {text}")

    def _prepare(self) -> None:
        """Create the schema in an empty database; refuse foreign or newer ones."""
        try:
            with self.engine.begin() as conn:
                existing = set(sa.inspect(conn).get_table_names())
                if not existing:
                    metadata.create_all(conn)
                    conn.execute(
                        meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION))
                    )
                    return
                if meta.name not in existing:
                    raise StoreError(f"{self.label}: is a database but not a coverwatch inventory")
                version = conn.execute(
                    sa.select(meta.c.value).where(meta.c.key == "schema_version")
                ).scalar_one_or_none()
                if version is None or not version.isdigit() or int(version) > SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.label}: inventory schema {version} is newer than this coverwatch "
                        f"understands ({SCHEMA_VERSION}); upgrade coverwatch"
                    )
                if int(version) < SCHEMA_VERSION:
                    migrate(conn, int(version))
        except (DBAPIError, SQLAlchemyError) as e:
            raise self._fail("open it as a database", e) from e

    def record_scan(
        self,
        site: str,
        targets: list[str],
        options: dict[str, object],
        started_at: datetime,
        hosts: list[HostResult],
    ) -> int:
        finished = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                scan_id = _insert(
                    conn,
                    scans.insert().values(
                        started_at=started_at,
                        finished_at=finished,
                        site=site,
                        targets=json.dumps(targets),
                        options=json.dumps(options, default=str),
                        hosts_found=len(hosts),
                    ),
                )
                source = str(options.get("source") or SourceKind.SCAN.value)
                ids = self._merge_devices(conn, site, hosts, scan_id, finished, source)
                rows = [
                    self._observation_row(o, scan_id, device_id)
                    for host, device_id in zip(hosts, ids, strict=True)
                    for o in host.observations
                ]
                if rows:
                    conn.execute(observations.insert(), rows)
                seen = [
                    {
                        **self._sighting_values(host),
                        "scan_id": scan_id,
                        "device_id": device_id,
                        "ip": host.ip,
                    }
                    for host, device_id in zip(hosts, ids, strict=True)
                ]
                if seen:
                    conn.execute(sightings.insert(), seen)
        except (DBAPIError, SQLAlchemyError) as e:
            raise self._fail("record the scan (nothing was written)", e) from e
        return scan_id

    @staticmethod
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

    @staticmethod
    def _sighting_values(host: HostResult) -> dict[str, Any]:
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

    def _merge_devices(
        self,
        conn: Connection,
        site: str,
        hosts: list[HostResult],
        scan_id: int,
        seen: datetime,
        source: str,
    ) -> list[int]:
        """Recognise each host as a known device (``identity``: serial, MAC, then address) or
        insert it; update devices and their address history. Returns the ids, host by host."""
        claims = [
            Claim(
                h.ip,
                normal_mac(h.mac) if h.mac else None,
                normal_serial(h.serial) if h.serial else None,
                h.attribution.maker,
            )
            for h in hosts
        ]
        rows = self._identity_rows(conn, site, [c.serial for c in claims if c.serial])
        matched, _ = IdentityIndex(_identity(r) for r in rows.values()).match(site, claims)
        ids: list[int] = []
        updates: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        for host, claim, device_id in zip(hosts, claims, matched, strict=True):
            values = {
                **self._sighting_values(host),
                "ip": host.ip,
                "last_seen": seen,
                "last_scan_id": scan_id,
            }
            if device_id is not None:
                _, _, _, mac, serial, _, _, sources = rows[device_id]
                known = set(json.loads(sources or "[]"))
                updates.append(
                    {
                        **values,
                        "b_id": device_id,
                        "mac": host.mac or mac,
                        "serial": claim.serial or serial,
                        "sources": json.dumps(sorted(known | {source})),
                    }
                )
            else:
                inserts.append(
                    {
                        **values,
                        "site": site,
                        "mac": host.mac,
                        "serial": claim.serial,
                        "sources": json.dumps([source]),
                        "first_seen": seen,
                    }
                )
            ids.append(device_id if device_id is not None else -1)
        if updates:
            columns: dict[str, Any] = {
                key: sa.bindparam(key) for key in updates[0] if key != "b_id"
            }
            update = devices.update().where(devices.c.id == sa.bindparam("b_id"))
            conn.execute(update.values(columns), updates)
        if inserts:
            # One multi-row INSERT ... RETURNING (SQLAlchemy "insertmanyvalues"), in order.
            insert = devices.insert().returning(devices.c.id, sort_by_parameter_order=True)
            new = iter([int(row.id) for row in conn.execute(insert, inserts)])
            ids = [device_id if device_id >= 0 else next(new) for device_id in ids]
        self._record_addresses(conn, hosts, ids, seen)
        return ids

    @staticmethod
    def _identity_rows(conn: Connection, site: str, serials: list[str]) -> dict[int, Any]:
        """The devices a run at ``site`` may be: the site's, and those elsewhere sharing one of
        ``serials`` (reported as contradictions, never merged), as rows of ``_IDENTITY``."""
        found = {
            int(r[0]): r for r in conn.execute(sa.select(*_IDENTITY).where(devices.c.site == site))
        }
        for start in range(0, len(serials), 500):  # bounded IN lists, whatever the database
            query = sa.select(*_IDENTITY).where(devices.c.serial.in_(serials[start : start + 500]))
            found.update((int(r[0]), r) for r in conn.execute(query))
        return found

    @staticmethod
    def _record_addresses(
        conn: Connection, hosts: list[HostResult], ids: list[int], seen: datetime
    ) -> None:
        """Each device's addresses in this run: new ones added, known ones confirmed."""
        held = {
            (device_id, ip)
            for host, device_id in zip(hosts, ids, strict=True)
            for ip in (host.addresses or (host.ip,))
        }
        known: set[tuple[int, str]] = set()
        wanted = sorted({device_id for device_id, _ in held})
        for start in range(0, len(wanted), 500):
            query = sa.select(addresses.c.device_id, addresses.c.ip).where(
                addresses.c.device_id.in_(wanted[start : start + 500])
            )
            known.update((int(r.device_id), r.ip) for r in conn.execute(query))
        confirmed = [{"b_id": d, "b_ip": ip, "last_seen": seen} for d, ip in held & known]
        if confirmed:
            conn.execute(
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
            conn.execute(addresses.insert(), new)

    def _read(
        self, query: sa.Select[Any] | sa.CompoundSelect[Any], action: str
    ) -> Sequence[sa.RowMapping]:
        try:
            with self.engine.connect() as conn:
                return conn.execute(query).mappings().all()
        except (DBAPIError, SQLAlchemyError) as e:
            raise self._fail(action, e) from e

    def devices(self, site: str | None = None) -> list[DeviceRecord]:
        query = sa.select(devices)
        held = sa.select(addresses).join(devices, devices.c.id == addresses.c.device_id)
        if site is not None:
            query = query.where(devices.c.site == site)
            held = held.where(devices.c.site == site)
        history: dict[int, list[Address]] = {}
        for r in self._read(held.order_by(addresses.c.first_seen, addresses.c.id), "read devices"):
            history.setdefault(int(r["device_id"]), []).append(
                Address(r["ip"], _aware(r["first_seen"]), _aware(r["last_seen"]))
            )
        records = [
            self._device(r, tuple(history.get(int(r["id"]), ())))
            for r in self._read(query, "read devices")
        ]
        return sorted(records, key=lambda d: (d.site, ip_key(d.ip), d.id or 0))

    @staticmethod
    def _attribution(row: Any) -> Attribution:
        return Attribution(
            row["maker"],
            row["brand"],
            row["model"],
            row["firmware"],
            DeviceType(row["device_type"]) if row["device_type"] else None,
            row["covered"],
            float(row["confidence"]),
            _evidence_from_json(row["evidence"]),
            row.get("covered_component"),
        )

    def _device(self, row: Any, held: tuple[Address, ...] = ()) -> DeviceRecord:
        return DeviceRecord(
            row["ip"],
            row["mac"],
            row["site"],
            self._attribution(row),
            json.loads(row["open_ports"]),
            _aware(row["first_seen"]),
            _aware(row["last_seen"]),
            row["serial"],
            held,
            tuple(json.loads(row["sources"] or "[]")),
            int(row["id"]),
        )

    def scans(self) -> list[ScanRecord]:
        rows = self._read(sa.select(scans).order_by(scans.c.id), "read scans")
        return [
            ScanRecord(
                r["id"],
                _aware(r["started_at"]) or datetime.now(UTC),
                _aware(r["finished_at"]),
                r["site"],
                json.loads(r["targets"]),
                json.loads(r["options"]),
                r["hosts_found"],
            )
            for r in rows
        ]

    def sites(self) -> list[str]:
        query = sa.union(sa.select(devices.c.site), sa.select(scans.c.site))
        return sorted(str(r["site"]) for r in self._read(query, "read the sites"))

    def sites_of(self, ips: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for start in range(0, len(ips), 500):  # bounded IN lists, whatever the database
            query = sa.select(devices.c.ip, devices.c.site).where(
                devices.c.ip.in_(ips[start : start + 500])
            )
            for r in self._read(query, "read the devices' sites"):
                found.setdefault(r["ip"], []).append(r["site"])
        return {ip: sorted(sites) for ip, sites in found.items()}

    def identities(self, site: str, serials: list[str]) -> list[Identity]:
        try:
            with self.engine.connect() as conn:
                rows = self._identity_rows(conn, site, serials)
        except (DBAPIError, SQLAlchemyError) as e:
            raise self._fail("read the devices' identities", e) from e
        return [_identity(r) for r in rows.values()]

    def observations(self, ip: str, site: str | None = None) -> list[Observation]:
        query = sa.select(devices.c.id, devices.c.site, devices.c.last_seen).where(
            devices.c.ip == ip
        )
        if site is not None:
            query = query.where(devices.c.site == site)
        latest: dict[str, tuple[datetime, int]] = {}
        for r in self._read(query, "read observations"):
            at = (_aware(r["last_seen"]) or datetime.min.replace(tzinfo=UTC), int(r["id"]))
            latest[r["site"]] = max(at, latest.get(r["site"], at))
        ids = sorted(device_id for _, device_id in latest.values())
        return [o for _, o in self._observation_rows(ids)]

    def history_of(
        self,
        device_ids: list[int],
        since: datetime | None = None,
        signals: tuple[str, ...] | None = None,
    ) -> dict[int, list[Observation]]:
        found: dict[int, list[Observation]] = {}
        for start in range(0, len(device_ids), 500):  # bounded IN lists, whatever the database
            chunk = device_ids[start : start + 500]
            for device_id, o in self._observation_rows(chunk, since, signals):
                found.setdefault(device_id, []).append(o)
        return found

    def _observation_rows(
        self,
        device_ids: list[int],
        since: datetime | None = None,
        signals: tuple[str, ...] | None = None,
    ) -> list[tuple[int, Observation]]:
        query = (
            sa.select(observations, devices.c.ip.label("device_ip"))
            .join(devices, devices.c.id == observations.c.device_id)
            .where(observations.c.device_id.in_(device_ids))
            .order_by(observations.c.id)
        )
        if since is not None:
            query = query.where(observations.c.observed_at >= since)
        if signals is not None:
            query = query.where(sa.or_(*(observations.c.signal.startswith(p) for p in signals)))
        rows = self._read(query, "read observations")
        return [(int(r["device_id"]), self._observation(r)) for r in rows]

    def latest_observations(
        self, device_ids: list[int], exclude: SourceKind | None = None
    ) -> dict[int, list[Observation]]:
        """Per device: the observations of the latest run of each source kind (optionally
        leaving one kind out), the basis for fusing evidence across sources."""
        o = observations.alias("o")
        inner = observations.alias("inner")
        newest = (
            sa.select(sa.func.max(inner.c.scan_id))
            .where(inner.c.device_id == o.c.device_id, inner.c.source == o.c.source)
            .scalar_subquery()
        )
        found: dict[int, list[Observation]] = {}
        for start in range(0, len(device_ids), 500):  # bounded IN lists, whatever the database
            query = (
                sa.select(o, devices.c.ip.label("device_ip"))
                .join(devices, devices.c.id == o.c.device_id)
                .where(o.c.device_id.in_(device_ids[start : start + 500]))
                .where(o.c.scan_id == newest)
                .order_by(o.c.id)
            )
            if exclude is not None:
                query = query.where(o.c.source != exclude.value)
            for r in self._read(query, "read observations"):
                found.setdefault(int(r["device_id"]), []).append(self._observation(r))
        return found

    @staticmethod
    def _observation(r: Any) -> Observation:
        return Observation(
            r["ip"] or r["device_ip"],
            r["signal"],
            r["value"],
            r["port"],
            r["protocol"],
            ObsStatus(r["status"]),
            SourceKind(r["source"]),
            _aware(r["observed_at"]),
        )

    def sightings(self, scan_id: int) -> list[DeviceRecord]:
        query = (
            sa.select(
                sightings,
                devices.c.ip.label("device_ip"),
                devices.c.mac,
                devices.c.site,
                devices.c.serial,
                scans.c.started_at,
            )
            .join(devices, devices.c.id == sightings.c.device_id)
            .join(scans, scans.c.id == sightings.c.scan_id)
            .where(sightings.c.scan_id == scan_id)
        )
        rows = self._read(query, "read the scan's devices")
        records = [
            DeviceRecord(
                r["ip"] or r["device_ip"],
                r["mac"],
                r["site"],
                self._attribution(r),
                json.loads(r["open_ports"]),
                _aware(r["started_at"]),
                _aware(r["started_at"]),
                serial=r["serial"],
                id=int(r["device_id"]),
            )
            for r in rows
        ]
        return sorted(records, key=lambda d: (d.site, ip_key(d.ip)))

    def history(self) -> list[dict[str, Any]]:
        video = sa.func.sum(
            sa.case((sightings.c.device_type.in_(["camera", "nvr", "dvr", "encoder"]), 1), else_=0)
        )
        covered = sa.func.sum(sa.case((sightings.c.covered.is_not(None), 1), else_=0))
        query = (
            sa.select(
                scans.c.id,
                scans.c.started_at,
                scans.c.site,
                sa.func.count(sightings.c.id).label("devices"),
                video.label("video_devices"),
                covered.label("covered"),
            )
            .join(sightings, sightings.c.scan_id == scans.c.id, isouter=True)
            .group_by(scans.c.id, scans.c.started_at, scans.c.site)
            .order_by(scans.c.id)
        )
        return [
            {
                "scan_id": r["id"],
                "started_at": _aware(r["started_at"]),
                "site": r["site"],
                "devices": int(r["devices"] or 0),
                "video_devices": int(r["video_devices"] or 0),
                "covered": int(r["covered"] or 0),
            }
            for r in self._read(query, "read the scan history")
        ]

    def record_audit(
        self,
        site: str | None,
        policy_name: str,
        policy_version: str,
        policy_source: str,
        documents: list[dict[str, Any]],
    ) -> int:
        try:
            with self.engine.begin() as conn:
                latest = conn.execute(sa.select(sa.func.max(scans.c.id))).scalar()
                audit_id = _insert(
                    conn,
                    audits.insert().values(
                        at=datetime.now(UTC),
                        site=site,
                        policy_name=policy_name,
                        policy_version=policy_version,
                        policy_source=policy_source,
                        scan_id=latest,
                    ),
                )
                rows = [
                    {
                        "audit_id": audit_id,
                        "site": d["site"],
                        "ip": d["ip"],
                        "rule": d["rule"],
                        "severity": d["severity"],
                        "status": d["status"],
                        "document": json.dumps(d, default=str),
                    }
                    for d in documents
                ]
                if rows:
                    conn.execute(findings.insert(), rows)
        except (DBAPIError, SQLAlchemyError) as e:
            raise self._fail("record the audit (nothing was written)", e) from e
        return audit_id

    def audits(self) -> list[dict[str, Any]]:
        rows = self._read(sa.select(audits).order_by(audits.c.id), "read audits")
        return [{**dict(r), "at": _aware(r["at"])} for r in rows]

    def findings(self, audit_id: int) -> list[dict[str, Any]]:
        query = sa.select(findings.c.document).where(findings.c.audit_id == audit_id)
        return [json.loads(r["document"]) for r in self._read(query, "read findings")]

    def create_token(self, name: str, role: str) -> str:
        token = "cw_" + secrets.token_urlsafe(32)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    tokens.insert().values(
                        name=name,
                        role=role,
                        token_hash=_token_hash(token),
                        created_at=datetime.now(UTC),
                        revoked=False,
                    )
                )
        except (DBAPIError, SQLAlchemyError) as e:
            raise self._fail("store the token", e) from e
        return token

    def token_role(self, token: str) -> str | None:
        query = sa.select(tokens.c.role).where(
            tokens.c.token_hash == _token_hash(token), tokens.c.revoked.is_(False)
        )
        rows = self._read(query, "check the token")
        return str(rows[0]["role"]) if rows else None

    def tokens(self) -> list[dict[str, Any]]:
        query = sa.select(
            tokens.c.id, tokens.c.name, tokens.c.role, tokens.c.created_at, tokens.c.revoked
        ).order_by(tokens.c.id)
        return [dict(r) for r in self._read(query, "read tokens")]

    def revoke_token(self, token_id: int) -> bool:
        try:
            with self.engine.begin() as conn:
                done = conn.execute(
                    tokens.update().where(tokens.c.id == token_id).values(revoked=True)
                )
        except (DBAPIError, SQLAlchemyError) as e:
            raise self._fail("revoke the token", e) from e
        return bool(done.rowcount)

    def add_waiver(
        self, rule: str, device: str, site: str | None, reason: str, approver: str, expires: date
    ) -> int:
        try:
            with self.engine.begin() as conn:
                return _insert(
                    conn,
                    waivers.insert().values(
                        rule=rule,
                        device=device,
                        site=site,
                        reason=reason,
                        approver=approver,
                        expires=expires,
                        created_at=datetime.now(UTC),
                    ),
                )
        except (DBAPIError, SQLAlchemyError) as e:
            raise self._fail("store the waiver", e) from e

    def waivers(self) -> list[dict[str, Any]]:
        rows = self._read(sa.select(waivers).order_by(waivers.c.id), "read waivers")
        return [dict(r) for r in rows]

    def close(self) -> None:
        self.engine.dispose()


def _token_hash(token: str) -> str:
    # NOTE: tokens are 256-bit random strings, so one SHA-256 is enough (no salt or KDF is
    # needed for high-entropy secrets); the clear token is shown once and never stored.
    return hashlib.sha256(token.encode()).hexdigest()


def _insert(conn: Connection, statement: sa.Insert) -> int:
    """Run an INSERT and return the new row's integer primary key."""
    key = conn.execute(statement).inserted_primary_key
    if key is None:
        raise StoreError("the database did not return a new row id")
    return int(key[0])

"""SqlInventory: the inventory in SQLite (default) or PostgreSQL, through SQLAlchemy Core.

Schema: see schema.py. Every scan is written in one transaction, so a failed or interrupted write
leaves the inventory as it was. Foreign databases are refused, never modified.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from coverwatch.models import (
    DeviceRecord,
    Observation,
    ScanRecord,
    SourceKind,
)
from coverwatch.store.interface import (
    PART_DAYS,
    AuditRow,
    IngestRow,
    Inventory,
    RunRecorder,
    ScanPointRow,
    SensorRow,
    StoreError,
    TokenRow,
    WaiverRow,
)
from coverwatch.store.recorder import (
    SqlRecorder,
    history_of,
    insert_row,
    latest_observations,
    sites_of,
)
from coverwatch.store.rows import attribution_of, aware, devices_of
from coverwatch.store.schema import (
    addresses,
    audits,
    devices,
    findings,
    ingest_parts,
    ingests,
    scans,
    sightings,
    tokens,
    waivers,
)
from coverwatch.store.versioning import Stored, prepare
from coverwatch.targets import ip_key


def database_url(db: str) -> str:
    """A SQLAlchemy URL from ``--db``: a URL is kept, anything else is a SQLite file path."""
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser()}"


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
        self.upgraded_from: Stored | None = None
        """The schema the inventory was at when opened (None: created by this opening)."""
        self._prepare()

    def _fail(self, action: str, e: Exception) -> StoreError:
        detail = getattr(e, "orig", None) or e
        text = str(detail).splitlines()[0] if str(detail) else e.__class__.__name__
        return StoreError(f"{self.label}: cannot {action}: {text}")

    def _prepare(self) -> None:
        """Create the schema in an empty database, upgrade an older one (``versioning``);
        refuse foreign or newer ones."""
        try:
            self.upgraded_from = prepare(self.engine, self.label)
        except (DBAPIError, SQLAlchemyError) as e:
            raise self._fail("open it as a database", e) from e

    @contextmanager
    def _writing(self, action: str) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises; a
        database error is a one-line StoreError saying what could not be done."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except (DBAPIError, SQLAlchemyError) as e:
            raise self._fail(action, e) from e

    @contextmanager
    def recording(self) -> Iterator[RunRecorder]:
        with self._writing("record the run (nothing was written)") as conn:
            recorder = SqlRecorder(conn)
            yield recorder
            recorder.close()

    def _read(
        self, query: sa.Select[Any] | sa.CompoundSelect[Any], action: str
    ) -> Sequence[sa.RowMapping]:
        try:
            with self.engine.connect() as conn:
                return conn.execute(query).mappings().all()
        except (DBAPIError, SQLAlchemyError) as e:
            raise self._fail(action, e) from e

    def devices(
        self, site: str | None = None, *, ip: str | None = None, run: int | None = None
    ) -> list[DeviceRecord]:
        query = sa.select(devices)
        held = sa.select(addresses).join(devices, devices.c.id == addresses.c.device_id)
        where = []
        if site is not None:
            where.append(devices.c.site == site)
        if ip is not None:
            where.append(devices.c.ip == ip)
        if run is not None:  # through the run's sightings (indexed by run), not every device
            ran = sa.select(sightings.c.device_id).where(sightings.c.scan_id == run)
            where.append(devices.c.id.in_(ran.scalar_subquery()))
        if where:
            query = query.where(*where)
            held = held.where(*where)
        history = self._read(held.order_by(addresses.c.first_seen, addresses.c.id), "read devices")
        return devices_of(self._read(query, "read devices"), history)

    def scans(self) -> list[ScanRecord]:
        rows = self._read(sa.select(scans).order_by(scans.c.id), "read scans")
        return [
            ScanRecord(
                r["id"],
                aware(r["started_at"]) or datetime.now(UTC),
                aware(r["finished_at"]),
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
        try:
            with self.engine.connect() as conn:
                return sites_of(conn, ips)
        except (DBAPIError, SQLAlchemyError) as e:
            raise self._fail("read the devices' sites", e) from e

    def observations(self, ip: str, site: str | None = None) -> list[Observation]:
        query = sa.select(devices.c.id, devices.c.site, devices.c.last_seen).where(
            devices.c.ip == ip
        )
        if site is not None:
            query = query.where(devices.c.site == site)
        latest: dict[str, tuple[datetime, int]] = {}
        for r in self._read(query, "read observations"):
            at = (aware(r["last_seen"]) or datetime.min.replace(tzinfo=UTC), int(r["id"]))
            latest[r["site"]] = max(at, latest.get(r["site"], at))
        ids = sorted(device_id for _, device_id in latest.values())
        found = self.history_of(ids)
        return [o for device_id in ids for o in found.get(device_id, [])]

    def history_of(
        self,
        device_ids: list[int],
        since: datetime | None = None,
        signals: tuple[str, ...] | None = None,
    ) -> dict[int, list[Observation]]:
        try:
            with self.engine.connect() as conn:
                return history_of(conn, device_ids, since, signals)
        except (DBAPIError, SQLAlchemyError) as e:
            raise self._fail("read observations", e) from e

    def latest_observations(
        self, device_ids: list[int], exclude: SourceKind | None = None
    ) -> dict[int, list[Observation]]:
        try:
            with self.engine.connect() as conn:
                return latest_observations(conn, device_ids, exclude)
        except (DBAPIError, SQLAlchemyError) as e:
            raise self._fail("read observations", e) from e

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
                attribution_of(r),
                json.loads(r["open_ports"]),
                aware(r["started_at"]),
                aware(r["started_at"]),
                serial=r["serial"],
                id=int(r["device_id"]),
            )
            for r in rows
        ]
        return sorted(records, key=lambda d: (d.site, ip_key(d.ip)))

    def history(self) -> list[ScanPointRow]:
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
            ScanPointRow(
                scan_id=int(r["id"]),
                started_at=aware(r["started_at"]) or datetime.now(UTC),
                site=r["site"],
                devices=int(r["devices"] or 0),
                video_devices=int(r["video_devices"] or 0),
                covered=int(r["covered"] or 0),
            )
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
        with self._writing("record the audit (nothing was written)") as conn:
            latest = conn.execute(sa.select(sa.func.max(scans.c.id))).scalar()
            audit_id = insert_row(
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
        return audit_id

    def audits(self) -> list[AuditRow]:
        rows = self._read(sa.select(audits).order_by(audits.c.id), "read audits")
        return [
            AuditRow(
                id=int(r["id"]),
                at=aware(r["at"]) or datetime.now(UTC),
                site=r["site"],
                policy_name=r["policy_name"],
                policy_version=r["policy_version"],
                policy_source=r["policy_source"],
                scan_id=r["scan_id"],
            )
            for r in rows
        ]

    def findings(self, audit_id: int) -> list[dict[str, Any]]:
        query = sa.select(findings.c.document).where(findings.c.audit_id == audit_id)
        return [json.loads(r["document"]) for r in self._read(query, "read findings")]

    def create_token(self, name: str, role: str, sites: tuple[str, ...] = ()) -> str:
        token = "cw_" + secrets.token_urlsafe(32)
        with self._writing("store the token") as conn:
            conn.execute(
                tokens.insert().values(
                    name=name,
                    role=role,
                    token_hash=_token_hash(token),
                    created_at=datetime.now(UTC),
                    revoked=False,
                    sites=json.dumps(sorted(set(sites))) if sites else None,
                )
            )
        return token

    def _valid_token(self, token: str, column: sa.Column[Any]) -> Any:
        """One column of a valid, unrevoked token's row; None when there is no such token."""
        query = sa.select(column).where(
            tokens.c.token_hash == _token_hash(token), tokens.c.revoked.is_(False)
        )
        rows = self._read(query, "check the token")
        return rows[0][column.name] if rows else None

    def token_role(self, token: str) -> str | None:
        role = self._valid_token(token, tokens.c.role)
        return None if role is None else str(role)

    def token_name(self, token: str) -> str | None:
        name = self._valid_token(token, tokens.c.name)
        return None if name is None else str(name)

    def token_sites(self, token: str) -> list[str]:
        return list(json.loads(self._valid_token(token, tokens.c.sites) or "[]"))

    def ingested(self, key: str) -> IngestRow | None:
        query = sa.select(ingests).where(ingests.c.batch_key == key)
        rows = self._read(query, "read the sensor batches")
        return _ingest_row(rows[0]) if rows else None

    def stage_part(self, run_key: str, part: int, parts: int, site: str, body: str) -> list[str]:
        now = datetime.now(UTC)
        kept = sa.select(ingest_parts.c.part, ingest_parts.c.body).where(
            ingest_parts.c.run_key == run_key, ingest_parts.c.site == site
        )
        with self._writing("keep the part of the sensor run") as conn:
            conn.execute(
                ingest_parts.delete().where(
                    ingest_parts.c.received_at < now - timedelta(days=PART_DAYS)
                )
            )
            row = dict(run_key=run_key, part=part, parts=parts, site=site, body=body)
            conn.execute(_insert_new(conn, ingest_parts).values(**row, received_at=now))
            rows = conn.execute(kept.order_by(ingest_parts.c.part)).all()
        have = {int(r.part) for r in rows}
        return [str(r.body) for r in rows] if have == set(range(1, parts + 1)) else []

    def drop_parts(self, run_key: str) -> None:
        with self._writing("forget the parts of a recorded sensor run") as conn:
            conn.execute(ingest_parts.delete().where(ingest_parts.c.run_key == run_key))

    def ingests(self) -> list[IngestRow]:
        query = sa.select(ingests).order_by(ingests.c.received_at, ingests.c.run_id)
        return [_ingest_row(r) for r in self._read(query, "read the sensor batches")]

    def sensors(self) -> list[SensorRow]:
        latest = (
            sa.select(
                ingests.c.sensor,
                ingests.c.site,
                sa.func.count().label("batches"),
                sa.func.max(ingests.c.received_at).label("last_contact"),
            )
            .group_by(ingests.c.sensor, ingests.c.site)
            .subquery()
        )
        query = (
            sa.select(latest, sa.func.max(scans.c.started_at).label("started_at"))
            .join(
                ingests,
                sa.and_(
                    ingests.c.sensor == latest.c.sensor,
                    ingests.c.site == latest.c.site,
                    ingests.c.received_at == latest.c.last_contact,
                ),
            )
            .join(scans, scans.c.id == ingests.c.run_id)
            .group_by(latest.c.sensor, latest.c.site, latest.c.batches, latest.c.last_contact)
            .order_by(latest.c.sensor, latest.c.site)
        )
        rows = []
        for r in self._read(query, "read the sensors"):
            contact = aware(r["last_contact"]) or datetime.now(UTC)
            started = aware(r["started_at"]) or contact
            rows.append(
                SensorRow(
                    sensor=r["sensor"],
                    site=r["site"],
                    batches=int(r["batches"]),
                    last_contact=contact,
                    lag_seconds=max(0.0, (contact - started).total_seconds()),
                )
            )
        return rows

    def tokens(self) -> list[TokenRow]:
        query = sa.select(
            tokens.c.id,
            tokens.c.name,
            tokens.c.role,
            tokens.c.created_at,
            tokens.c.revoked,
            tokens.c.sites,
        ).order_by(tokens.c.id)
        return [
            TokenRow(
                id=int(r["id"]),
                name=r["name"],
                role=r["role"],
                created_at=aware(r["created_at"]) or datetime.now(UTC),
                revoked=bool(r["revoked"]),
                sites=list(json.loads(r["sites"] or "[]")),
            )
            for r in self._read(query, "read tokens")
        ]

    def revoke_token(self, token_id: int) -> bool:
        with self._writing("revoke the token") as conn:
            done = conn.execute(tokens.update().where(tokens.c.id == token_id).values(revoked=True))
        return bool(done.rowcount)

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
        with self._writing("store the waiver") as conn:
            return insert_row(
                conn,
                waivers.insert().values(
                    rule=rule,
                    device=device,
                    site=site,
                    reason=reason,
                    approver=approver,
                    expires=expires,
                    created_at=datetime.now(UTC),
                    author=author,
                ),
            )

    def waivers(self) -> list[WaiverRow]:
        rows = self._read(sa.select(waivers).order_by(waivers.c.id), "read waivers")
        return [
            WaiverRow(
                id=int(r["id"]),
                rule=r["rule"],
                device=r["device"],
                site=r["site"],
                reason=r["reason"],
                approver=r["approver"],
                expires=r["expires"],
                created_at=aware(r["created_at"]) or datetime.now(UTC),
                author=r["author"],
                revoked_at=aware(r["revoked_at"]),
                revoked_by=r["revoked_by"],
            )
            for r in rows
        ]

    def revoke_waiver(self, waiver_id: int, by: str) -> bool:
        with self._writing("revoke the waiver") as conn:
            done = conn.execute(
                waivers.update()
                .where(waivers.c.id == waiver_id, waivers.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC), revoked_by=by)
            )
        return bool(done.rowcount)

    def changes(self) -> tuple[int, ...]:
        # NOTE: counts as well as the highest id: on PostgreSQL runs commit out of id order
        query = sa.select(
            sa.select(sa.func.count()).select_from(scans).scalar_subquery(),
            sa.select(sa.func.coalesce(sa.func.max(scans.c.id), 0)).scalar_subquery(),
            sa.select(sa.func.count()).select_from(waivers).scalar_subquery(),
            sa.select(sa.func.count(waivers.c.revoked_at)).scalar_subquery(),
        )
        row = self._read(query, "read the inventory's counts")[0]
        return tuple(int(v) for v in row.values())

    def close(self) -> None:
        self.engine.dispose()


def _insert_new(conn: sa.Connection, table: sa.Table) -> Any:
    """An INSERT that leaves a row already there (same primary key) as it is, even when two
    transactions insert it at once."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


def _ingest_row(r: Any) -> IngestRow:
    return IngestRow(
        batch_key=r["batch_key"],
        run_id=int(r["run_id"]),
        site=r["site"],
        sensor=r["sensor"],
        received_at=aware(r["received_at"]) or datetime.now(UTC),
    )


def _token_hash(token: str) -> str:
    # NOTE: tokens are 256-bit random strings, so one SHA-256 is enough (no salt or KDF is
    # needed for high-entropy secrets); the clear token is shown once and never stored.
    return hashlib.sha256(token.encode()).hexdigest()

"""``traffic.ingest``: captures and flow logs into a store's columnar flow table.

The format of each file is recognised from its content (capture magic, ``#separator`` for Zeek
TSV, ``{`` for Zeek JSON, an ``ts,te,`` header for nfdump CSV, the nfdump file magic for nfcapd
files, which are read through ``nfdump``: ``netflow.nfdump_csv``). A file that is none of these,
or cannot be opened, raises InputError naming it; damage inside a file is counted per reason.
Zeek DNS logs are read before the other files of the same call, so their names label the flows.

One call is one all-or-nothing import (issue #11): every file is read into staged tables, and
only when all of them were read are they committed together (``table.Staging``). A file that
turns out not to be readable, or a crash, leaves the store exactly as it was before the call.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import asdict
from typing import BinaryIO

from coverwatch.errors import InputError
from coverwatch.traffic.flows import CaptureIngest, FrameHook, NameMap
from coverwatch.traffic.logs import LogIngest
from coverwatch.traffic.model import FileReport, IngestReport, RecordSource
from coverwatch.traffic.netflow import is_nfcapd, nfdump_csv
from coverwatch.traffic.pcap import sniff
from coverwatch.traffic.table import RowWriter, Staging, connect, file_id, record_ingest

logger = logging.getLogger(__name__)


def _format(path: str) -> str:
    """``pcap``, ``zeek-tsv``, ``zeek-json``, ``zeek-dns-*``, ``nfdump-csv`` or ``nfcapd``."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from e
    if sniff(head) is not None:
        return "pcap"
    text = head.lstrip()
    if text.startswith(b"#separator"):
        is_dns = b"#path\tdns" in head or b"\tquery\t" in head
        return "zeek-dns-tsv" if is_dns else "zeek-tsv"
    if text.startswith(b"{"):
        return "zeek-dns-json" if b'"query"' in head.split(b"\n", 1)[0] else "zeek-json"
    if text.startswith(b"ts,te,"):
        return "nfdump-csv"
    if is_nfcapd(head):
        return "nfcapd"
    raise InputError(
        f"{path}: not a pcap/pcapng capture, Zeek log, nfcapd file or nfdump CSV "
        f"(starts {head[:8]!r})"
    )


def ingest(
    paths: list[str],
    store_dir: str,
    idle_timeout: float = 300.0,
    max_flows: int = 200_000,
    on_frame: FrameHook | None = None,
) -> IngestReport:
    """Read every file into the flow store at ``store_dir``; one ``FileReport`` per file.

    ``idle_timeout`` (capture seconds) and ``max_flows`` bound the live flow state of a capture.
    ``on_frame`` is also given every frame of every capture, in the same pass (passive
    discovery: ``passive.PassiveCollector.frame``).
    """
    formats = {path: _format(path) for path in paths}
    order = sorted(paths, key=lambda p: not formats[p].startswith("zeek-dns"))
    names = NameMap()
    reports: dict[str, FileReport] = {}
    con = connect(store_dir)
    try:
        staging = Staging(store_dir)
        try:
            for path in order:
                reports[path] = _ingest_one(
                    path, formats[path], staging, names, idle_timeout, max_flows, on_frame
                )
            staging.commit()
        except BaseException:
            staging.abort()
            raise
        for path in order:
            report = reports[path]
            record_ingest(con, file_id(path), path, {**asdict(report), "kind": report.kind.value})
            logger.info("ingested %s: %d flows, warnings %s", path, report.flows, report.warnings)
    finally:
        con.close()
    connect(store_dir).close()  # refresh the views over the new files
    return IngestReport(store_dir, tuple(reports[p] for p in paths))


def _ingest_one(
    path: str,
    fmt: str,
    staging: Staging,
    names: NameMap,
    idle_timeout: float,
    max_flows: int,
    on_frame: FrameHook | None,
) -> FileReport:
    fid = file_id(path)
    writers = {t: staging.writer(t, fid) for t in ("flows", "dns", "portmaps")}
    source: AbstractContextManager[BinaryIO] = (
        nfdump_csv(path) if fmt == "nfcapd" else open(path, "rb")  # noqa: SIM115
    )
    try:
        with source as handle:
            report = _read(path, fmt, handle, writers, names, idle_timeout, max_flows, on_frame)
        for writer in writers.values():
            writer.close()
    except OSError as e:
        raise InputError(f"{path}: read failed: {e.strerror or e}") from e
    return report


def _read(
    path: str,
    fmt: str,
    handle: BinaryIO,
    writers: dict[str, RowWriter],
    names: NameMap,
    idle_timeout: float,
    max_flows: int,
    on_frame: FrameHook | None = None,
) -> FileReport:
    if fmt == "pcap":
        capture = CaptureIngest(
            path, writers["flows"], writers["dns"], writers["portmaps"], idle_timeout, max_flows
        )
        capture.names = names
        capture.on_frame = on_frame
        capture.run(handle)
        return FileReport(
            path,
            capture.kind,
            packets=capture.packets,
            flows=writers["flows"].rows,
            dns_answers=writers["dns"].rows,
            port_mappings=writers["portmaps"].rows,
            warnings=dict(capture.warnings),
        )
    log = LogIngest(path, writers["flows"], writers["dns"], names)
    try:
        if fmt in ("nfdump-csv", "nfcapd"):
            log.nfdump_csv(handle)
        elif fmt.endswith("json"):
            log.zeek_json(handle)
        else:
            log.zeek_tsv(handle)
    except ValueError as e:
        raise InputError(f"{path}: {e}") from e
    return FileReport(
        path,
        RecordSource.NETFLOW if fmt in ("nfdump-csv", "nfcapd") else RecordSource.ZEEK,
        packets=log.records,
        flows=writers["flows"].rows,
        dns_answers=writers["dns"].rows,
        warnings=dict(log.warnings),
    )

"""NetFlow records to bidirectional flow rows, and nfcapd files read through ``nfdump``.

NetFlow v5/v9 and IPFIX records are unidirectional: a device's request (device:50123 ->
cloud:443) and the reply (cloud:443 -> device:50123) are two records. Stored as they come, the
reply reads as a flow the cloud opened towards the device's ephemeral port. ``FlowPairer``
joins each record with its reverse (the same 5-tuple with both ends swapped, spans overlapping
within ``PAIR_SLACK`` seconds) into one row: the requester as source, bytes and packets each
way on their own side. A record left without its other half is oriented by its ports: one
from a service port to an ephemeral port (``is_reply``) is the answer of a connection the other
end opened, and is stored with that end as the source. Records that already carry both
directions (``obyt``/``opkt``, bidirectional IPFIX or NSEL) are only oriented.

Memory is bounded: a record waits for its other half only until the input's clock (the start
of the records read, which ``nfdump -O tstart`` sorts) has passed its end by ``PAIR_SLACK``,
and at most ``MAX_PENDING`` records wait at once (the oldest leaves first, unpaired). Input not
sorted by start time pairs as far as its order allows.

nfcapd files (``nfcapd``/``nfpcapd`` output) are recognised by their header: a 16-bit magic
0xA50C in the writer's byte order, then the 16-bit layout version (1 for nfdump 1.5/1.6, 2 for
1.7). NOTE: layout from nfdump's own file-format notes, ``bin/nffileV2.h`` ("The magic 16bit
integer at the beginning of each file must read 0xA50C ... LAYOUT_VERSION_2") and ``nffile.h``
(``FILE_MAGIC 0xA50C``, ``LAYOUT_VERSION_1``) in https://github.com/phaag/nfdump. They are read
by running Debian's ``nfdump -r FILE -o csv -N -O tstart`` with ``TZ=UTC``, its output streamed
into the CSV reader; ``nfdump`` reports damage on stderr (and often still exits 0), so any
stderr output makes the file unreadable.
"""

from __future__ import annotations

import heapq
import os
import shutil
import struct
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, cast

from coverwatch.errors import InputError

#: Seconds by which the spans of a request and its reply may miss each other and still pair.
#: Exporters cut both directions of a connection at the same active/inactive timeouts, so
#: their spans overlap; the slack absorbs clock rounding (nfdump prints whole seconds) and a
#: reply that starts one round trip after its request ends.
PAIR_SLACK = 60.0
#: Records that may wait for their other half at once.
MAX_PENDING = 100_000
#: Ports below this are the IANA system ("well-known") ports, RFC 6335 section 6.
WELL_KNOWN = 1024
#: Lowest port of the ephemeral ranges operating systems pick source ports from: Linux
#: ``ip_local_port_range`` defaults to 32768-60999; IANA's dynamic range (RFC 6335 section 6,
#: used by Windows and BSD) is 49152-65535.
EPHEMERAL = 32768
#: Longest run of ``nfdump`` over one file (seconds) before it is stopped.
NFDUMP_TIMEOUT = 3600.0
#: Bytes of ``nfdump`` stderr kept for the error message.
_STDERR_LIMIT = 4096

Key = tuple[str, str, int, str, int]
"""(proto, src, src_port, dst, dst_port) of one record."""


@dataclass(frozen=True)
class Record:
    """One checked NetFlow record, in the direction it was exported."""

    first: float
    """First packet (UTC epoch seconds)."""
    last: float
    """Last packet."""
    proto: str
    """tcp, udp, icmp, ..."""
    src: str
    """Source address (canonical text)."""
    src_port: int
    """Source port (0 for protocols without ports)."""
    dst: str
    """Destination address."""
    dst_port: int
    """Destination port (the ICMP type for ICMP)."""
    bytes: int
    """IP bytes from source to destination."""
    packets: int
    """Packets from source to destination."""
    bytes_back: int = 0
    """Bytes of the reverse direction: a reply paired in, or ``obyt`` of a record that
    carries both directions."""
    packets_back: int = 0
    """Packets of the reverse direction."""

    @property
    def key(self) -> Key:
        """Its 5-tuple."""
        return (self.proto, self.src, self.src_port, self.dst, self.dst_port)

    def flipped(self) -> Record:
        """The same traffic seen from the other end."""
        return Record(
            self.first,
            self.last,
            self.proto,
            self.dst,
            self.dst_port,
            self.src,
            self.src_port,
            self.bytes_back,
            self.packets_back,
            self.bytes,
            self.packets,
        )


def is_reply(src_port: int, dst_port: int) -> bool:
    """Whether a record runs from a service port to an ephemeral one (the answer of a
    connection the destination opened): a well-known source port to a port above the
    well-known range, or a source port below the ephemeral ranges to one inside them. Two
    ephemeral ports (peer-to-peer) say nothing; the exported direction stands."""
    return (src_port < WELL_KNOWN <= dst_port) or (src_port < EPHEMERAL <= dst_port)


def _overlap(a: Record, b: Record) -> bool:
    return a.first <= b.last + PAIR_SLACK and b.first <= a.last + PAIR_SLACK


class FlowPairer:
    """Joins unidirectional records into bidirectional flows; ``emit`` gets each result."""

    def __init__(self, emit: Callable[[Record], None], max_pending: int = MAX_PENDING) -> None:
        self.emit = emit
        self.max_pending = max_pending
        self.pending: dict[Key, tuple[int, Record]] = {}
        self.expiry: list[tuple[float, int, Key]] = []
        self.seq = 0
        self.paired = 0

    def add(self, record: Record) -> None:
        """Take one record (rows come out through ``emit`` as they are decided)."""
        self._expire(record.first)
        if record.bytes_back or record.packets_back:
            self._single(record)
            return
        src, sp, dst, dp = record.src, record.src_port, record.dst, record.dst_port
        reverse = (record.proto, dst, dp, src, sp)
        waiting = self.pending.pop(reverse, None)
        if waiting is not None:
            other = waiting[1]
            if _overlap(other, record):
                self._pair(other, record)
                return
            self._single(other)
        same = self.pending.pop(record.key, None)
        if same is not None:  # the next slice of one direction: the earlier one waited in vain
            self._single(same[1])
        if len(self.pending) >= self.max_pending:
            self._evict_oldest()
        self.seq += 1
        self.pending[record.key] = (self.seq, record)
        heapq.heappush(self.expiry, (record.last + PAIR_SLACK, self.seq, record.key))
        if len(self.expiry) > 2 * self.max_pending + 1024:
            # entries of records that left by pairing stay until they expire: drop them, so
            # the heap, like ``pending``, stays bounded however fast records arrive
            self.expiry = [(r.last + PAIR_SLACK, n, k) for k, (n, r) in self.pending.items()]
            heapq.heapify(self.expiry)

    def finish(self) -> None:
        """Emit every record still waiting, in arrival order."""
        for _, record in sorted(self.pending.values(), key=lambda item: item[0]):
            self._single(record)
        self.pending.clear()
        self.expiry.clear()

    def _pair(self, earlier: Record, later: Record) -> None:
        # the request is the earlier record, unless its ports say it is the answer
        request, reply = (
            (later, earlier) if is_reply(earlier.src_port, earlier.dst_port) else (earlier, later)
        )
        self.paired += 1
        self.emit(
            Record(
                min(request.first, reply.first),
                max(request.last, reply.last),
                request.proto,
                request.src,
                request.src_port,
                request.dst,
                request.dst_port,
                request.bytes,
                request.packets,
                reply.bytes,
                reply.packets,
            )
        )

    def _single(self, record: Record) -> None:
        self.emit(record.flipped() if is_reply(record.src_port, record.dst_port) else record)

    def _expire(self, now: float) -> None:
        while self.expiry and self.expiry[0][0] < now:
            _, seq, key = heapq.heappop(self.expiry)
            waiting = self.pending.get(key)
            if waiting is not None and waiting[0] == seq:
                del self.pending[key]
                self._single(waiting[1])

    def _evict_oldest(self) -> None:
        key = next(iter(self.pending))  # dicts keep insertion order: the longest waiting
        self._single(self.pending.pop(key)[1])


def is_nfcapd(head: bytes) -> bool:
    """Whether a file starts with an nfdump file header (magic 0xA50C, layout 1 or 2, in
    either byte order)."""
    if len(head) < 4:
        return False
    return any(
        struct.unpack(order, head[:4]) in ((0xA50C, 1), (0xA50C, 2)) for order in ("<HH", ">HH")
    )


@contextmanager
def nfdump_csv(path: str, timeout: float = NFDUMP_TIMEOUT) -> Iterator[BinaryIO]:
    """``nfdump``'s CSV export of the nfcapd file ``path``, streamed; InputError (naming the
    file) when nfdump is missing, fails, times out or reports damage on stderr."""
    binary = shutil.which("nfdump")
    if binary is None:
        raise InputError(f"{path}: reading nfcapd files needs nfdump (apt install nfdump)")
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(
                [binary, "-r", path, "-o", "csv", "-N", "-O", "tstart"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
                env={**os.environ, "TZ": "UTC", "LC_ALL": "C"},
            )
        except OSError as e:
            raise InputError(f"{path}: cannot run nfdump: {e.strerror or e}") from e
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            yield cast(BinaryIO, process.stdout)
            if process.stdout is not None:
                process.stdout.read()  # drain (the reader stops at the summary)
            code = process.wait()
        finally:
            timer.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        errors.seek(0)
        said = errors.read(_STDERR_LIMIT).decode("utf-8", "replace").strip()
    if code < 0 and not said:
        raise InputError(f"{path}: nfdump stopped after {timeout:.0f} s")
    if code != 0 or said:
        first = said.splitlines()[0] if said else f"exit status {code}"
        raise InputError(f"{path}: nfdump cannot read it: {first[:200]}")

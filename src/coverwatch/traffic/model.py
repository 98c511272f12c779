"""The typed results of traffic analysis: ingest reports, per-device egress, zone links.

All are frozen dataclasses; vocabularies are ``str`` Enums (see STYLE.md "Models").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

#: Earliest record time accepted from a capture or log: 1990-01-01T00:00:00Z. Nothing that
#: captured IP traffic in a form coverwatch reads is older; earlier values are clocks that were
#: never set or damaged fields (issue #11: poisoned data must never reach the store).
MIN_RECORD_TIME = 631_152_000.0
#: How far past the importing machine's clock a record may lie: one day of clock skew between
#: a sensor and the importer. Later values are damaged or forged.
MAX_FUTURE_SECONDS = 86_400.0
#: Largest byte or packet count of one flow record: 2**48 (256 TiB). Real counters stay far
#: below; the bound keeps sums over many rows inside a 64-bit integer.
MAX_COUNT = 1 << 48
#: Longest flow a log may claim (366 days); a longer or negative duration is damage.
MAX_DURATION = 366 * 86_400.0


def time_ok(ts: float, latest: float) -> bool:
    """Whether ``ts`` (UTC epoch seconds) is finite and within [``MIN_RECORD_TIME``, ``latest``].

    ``latest`` is the import's clock plus ``MAX_FUTURE_SECONDS``, computed once per file.
    """
    return math.isfinite(ts) and MIN_RECORD_TIME <= ts <= latest


class RecordSource(str, Enum):
    """Where a flow row came from."""

    PCAP = "pcap"
    PCAPNG = "pcapng"
    ZEEK = "zeek"
    NETFLOW = "netflow"
    SENSOR = "sensor"
    """Flow aggregates a site sensor sent (``traffic.aggregate``); the row's ``file`` names
    its site (``sensor_file``), and only that site's devices are matched with them."""


def sensor_file(site: str) -> str:
    """The ``file`` value of the flow rows a sensor sent for ``site``."""
    return f"{SENSOR_FILE_PREFIX}{site}"


#: What the ``file`` of every row a sensor sent begins with (no input file's name does).
SENSOR_FILE_PREFIX = "sensor://"


class IngestWarning(str, Enum):
    """Why a packet, line or record was skipped or cut short (counted, never fatal)."""

    TRUNCATED_FILE = "truncated_file"
    """The file ended inside a record header or body (a capture cut off mid-write)."""
    BAD_RECORD_LENGTH = "bad_record_length"
    """A record claimed a length beyond the snap length or the sanity bound."""
    UNSUPPORTED_LINKTYPE = "unsupported_linktype"
    """A link layer other than Ethernet, raw IP, Linux cooked capture or loopback."""
    MALFORMED_PACKET = "malformed_packet"
    """Headers that do not parse (short IP header, bad version, bad header length)."""
    IP_FRAGMENT = "ip_fragment"
    """A non-first IP fragment: counted towards its flow's bytes, no ports (RFC 791)."""
    NON_IP = "non_ip"
    """A frame carrying neither IPv4 nor IPv6 (ARP, LLDP, ...)."""
    BAD_BLOCK = "bad_block"
    """A pcapng block with an impossible length or an unknown interface."""
    MALFORMED_LINE = "malformed_line"
    """A Zeek or NetFlow CSV line that does not match its header."""
    STATE_EVICTION = "state_eviction"
    """A live flow exported early because the flow table reached its bound."""
    DNS_UNPARSED = "dns_unparsed"
    """A DNS answer that did not parse (the flow is kept, without a name)."""
    BAD_TIMESTAMP = "bad_timestamp"
    """A time that is not finite, before 1990 (``MIN_RECORD_TIME``) or more than a day after
    the import (``MAX_FUTURE_SECONDS``), or a capture interface with an unusable timestamp
    resolution: the frame or record is not stored."""
    IMPOSSIBLE_VALUE = "impossible_value"
    """A count, duration or port that cannot be: negative, not finite, beyond ``MAX_COUNT`` or
    ``MAX_DURATION``, a port outside 0-65535, or a flow that ends before it starts."""
    BAD_ADDRESS = "bad_address"
    """A flow or DNS record whose address field is not an IPv4 or IPv6 address."""


@dataclass(frozen=True)
class FileReport:
    """What ingest made of one input file."""

    path: str
    """The file as given."""
    kind: RecordSource
    """The format recognised from its content."""
    packets: int = 0
    """Packets (captures) or lines/records (logs) read."""
    flows: int = 0
    """Flow rows written to the table."""
    dns_answers: int = 0
    """Address/name pairs learned from DNS answers."""
    port_mappings: int = 0
    """UPnP port-mapping requests seen (captures only)."""
    warnings: dict[str, int] = field(default_factory=dict)
    """Count of skipped or cut-short items by ``IngestWarning`` value."""


@dataclass(frozen=True)
class IngestReport:
    """The result of one ``traffic.ingest`` call: one report per input file."""

    store_dir: str
    """The flow store written to."""
    files: tuple[FileReport, ...]
    """Per file, in the order given."""

    @property
    def flows(self) -> int:
        """Flow rows written, all files together."""
        return sum(f.flows for f in self.files)

    @property
    def warnings(self) -> dict[str, int]:
        """Warning counts by reason, all files together."""
        total: dict[str, int] = {}
        for report in self.files:
            for reason, count in report.warnings.items():
                total[reason] = total.get(reason, 0) + count
        return total


class EgressVerdict(str, Enum):
    """What the traffic says about one device's contact with the outside world."""

    NO_TRAFFIC = "no traffic observed"
    """Not enough evidence: the data holds no flow of this device at all in the window."""
    NO_EGRESS = "no egress observed"
    """The device's traffic was seen (see coverage) and none of it left the internal ranges."""
    VENDOR_CLOUD = "vendor cloud"
    """Every outside destination is a known cloud, P2P or update endpoint of its own maker."""
    THIRD_PARTY = "third party"
    """A known endpoint run by someone other than the device's maker (NTP pool, other cloud)."""
    UNKNOWN_DESTINATION = "unknown destination"
    """At least one outside destination matches no known endpoint."""


class EndpointCategory(str, Enum):
    """Kinds of known endpoint in ``knowledge/endpoints.yaml``."""

    VENDOR_CLOUD = "vendor_cloud"
    P2P_RELAY = "p2p_relay"
    DDNS = "ddns"
    UPDATE = "update"
    NTP = "ntp"
    DNS = "dns"
    NETWORK = "network"
    """The operator's own network as a whole (matched by AS number, ``networks.yaml``): none of
    its named services, but its infrastructure, so its own devices' traffic stays its own."""


class MatchKind(str, Enum):
    """How a destination was tied to a known endpoint."""

    DNS_NAME = "dns_name"
    """A DNS answer in the same data resolved the endpoint's name to this address."""
    ADDRESS = "address"
    """The address lies in a range the endpoint entry lists."""
    PORT = "port"
    """Only the port matches the endpoint's known service port (weak)."""
    ASN = "asn"
    """No DNS name or listed range, but the address lies in a prefix of an autonomous system
    the entry's operator runs (``knowledge/networks.yaml``): the fallback for flows without DNS
    (NetFlow, hard-coded addresses). Weaker than a name or a range, but it names the operator."""


@dataclass(frozen=True)
class EndpointMatch:
    """A known endpoint a destination matched."""

    id: str
    """Entry id in endpoints.yaml."""
    category: EndpointCategory
    """Vendor cloud, P2P relay, NTP, ..."""
    operator: str
    """Who runs it (a maker name for vendor endpoints)."""
    match: MatchKind
    """How it matched."""
    source: str
    """Public source of the entry."""


@dataclass(frozen=True)
class Destination:
    """Traffic between one device and one outside address/port/protocol."""

    remote_ip: str
    """The outside address."""
    port: int
    """The service (responder) port: the remote's when the device initiated, else the device's."""
    proto: str
    """tcp, udp, icmp or the IP protocol number."""
    dns_name: str | None
    """The name that resolved to the address, when a DNS answer was seen."""
    country: str | None
    """ISO 3166 country of the address from the offline registry data, None when unknown."""
    endpoint: EndpointMatch | None
    """The known endpoint it matched, None for an unknown destination. A match by port alone
    is shown but does not make the destination known for the verdict."""
    bytes_sent: int
    """IP bytes from the device to the address."""
    bytes_received: int
    """IP bytes from the address to the device."""
    flows: int
    """Flow rows."""
    first_seen: datetime
    """First packet (UTC)."""
    last_seen: datetime
    """Last packet (UTC)."""
    initiated_by_device: bool
    """True when the device opened the flows (outbound); False for inbound from outside."""


@dataclass(frozen=True)
class LargeUpload:
    """Sustained outbound volume from a device to one outside destination."""

    remote_ip: str
    """The destination address."""
    dns_name: str | None
    """Its name, when known."""
    bytes_sent: int
    """IP bytes sent over the span."""
    seconds: float
    """Span from first to last packet."""
    mbit_per_s: float
    """Average rate over the span."""


@dataclass(frozen=True)
class PortMapping:
    """A UPnP request by a device to open a port on a router (IGD), seen in a capture."""

    device_ip: str
    """Who asked."""
    router_ip: str
    """Whom it asked."""
    kind: str
    """``soap-add-port-mapping`` or ``ssdp-igd-search``."""
    at: datetime
    """When (UTC)."""
    external_port: int | None = None
    """NewExternalPort requested."""
    internal_port: int | None = None
    """NewInternalPort requested."""
    protocol: str | None = None
    """NewProtocol (TCP/UDP)."""


@dataclass(frozen=True)
class DeviceEgress:
    """The measured answer to "does this device send data outside?"."""

    ip: str
    """The device's address."""
    verdict: EgressVerdict
    """See ``EgressVerdict``."""
    window: tuple[datetime, datetime] | None
    """The window the statement covers: the requested one, or the span of all data."""
    coverage_hours: float
    """Hours within the window in which traffic of this device was seen (merged flow spans)."""
    flows_seen: int
    """Flow rows of this device in the window, internal ones included."""
    destinations: tuple[Destination, ...] = ()
    """Every outside destination, most bytes sent first."""
    large_uploads: tuple[LargeUpload, ...] = ()
    """Sustained uploads above the thresholds."""
    port_mappings: tuple[PortMapping, ...] = ()
    """UPnP port-mapping requests the device sent."""
    mac: str | None = None
    """The device's MAC address from the inventory."""
    maker: str | None = None
    """The device's attributed maker (decides vendor cloud versus third party)."""
    site: str | None = None
    """The device's site: with its address, which device this is (sites reuse addresses)."""


@dataclass(frozen=True)
class ZoneLink:
    """Observed traffic from one zone to another."""

    src_zone: str
    """Zone of the initiating address."""
    dst_zone: str
    """Zone of the answering address."""
    first_seen: datetime
    """First packet (UTC)."""
    last_seen: datetime
    """Last packet (UTC)."""
    ports: tuple[str, ...]
    """Destination services seen, as ``proto/port``, most bytes first (at most 20)."""
    bytes_forward: int
    """IP bytes from the initiating side."""
    bytes_reverse: int
    """IP bytes back."""
    flows: int
    """Flow rows."""
    pairs: tuple[tuple[str, str], ...] = ()
    """(source, destination) address pairs, most bytes first (at most 20)."""


#: Endpoint kinds that are a maker's own service (cloud, P2P relay, DDNS, firmware updates).
OWN_SERVICE_KINDS = frozenset(
    {
        EndpointCategory.VENDOR_CLOUD,
        EndpointCategory.P2P_RELAY,
        EndpointCategory.DDNS,
        EndpointCategory.UPDATE,
    }
)


def beyond_maker(destination: Destination, maker: str | None) -> bool:
    """Whether a destination takes a device's data beyond its own maker: no known endpoint (or
    a match by port alone), or a known endpoint that is not the maker's own service. One
    such destination makes the verdict third party or unknown."""
    match = destination.endpoint
    if match is None or match.match is MatchKind.PORT:
        return True
    if match.category is EndpointCategory.NETWORK:
        # a whole network (matched by AS number) is the device's own only when the device is
        # known to be the operator's: for a device of unknown make it is someone else's
        return maker is None or match.operator.casefold() != maker.casefold()
    own = maker is None or match.operator.casefold() == maker.casefold()
    return match.category not in OWN_SERVICE_KINDS or not own

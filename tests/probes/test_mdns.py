"""mDNS browse query and response parser, including hostile datagrams."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from coverwatch.probes import mdns
from coverwatch.probes.mdns import MalformedMdns


def _response() -> bytes:
    query = dns.message.make_query("_axis-video._tcp.local.", dns.rdatatype.PTR)
    response = dns.message.make_response(query)
    instance = "AXIS\\ M1065-L\\ -\\ ACCC8E9145C1._axis-video._tcp.local."
    response.answer.append(
        dns.rrset.from_text("_axis-video._tcp.local.", 120, "IN", "PTR", instance)
    )
    response.additional.append(
        dns.rrset.from_text(instance, 120, "IN", "TXT", '"macaddress=ACCC8E9145C1"')
    )
    response.additional.append(
        dns.rrset.from_text(instance, 120, "IN", "SRV", "0 0 80 axis-accc8e9145c1.local.")
    )
    return response.to_wire()


def test_query_asks_each_service_type() -> None:
    query = dns.message.from_wire(mdns.build_query())
    asked = {q.name.to_text() for q in query.question}
    assert asked == set(mdns.SERVICE_TYPES)
    assert all(q.rdtype == dns.rdatatype.PTR for q in query.question)


def test_response_signals() -> None:
    signals = mdns.parse_response(_response())
    assert signals["mdns.name"] == ["AXIS M1065-L - ACCC8E9145C1"]
    assert signals["mdns.txt"] == ["macaddress=ACCC8E9145C1"]
    assert signals["mac"] == ["ACCC8E9145C1"]
    assert signals["mdns.service"] == ["_axis-video._tcp.local."]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x00\x84\x00\x00\x01",  # truncated header
        mdns.build_query(),  # a query, not a response
        dns.message.make_response(dns.message.make_query("x.local.", "A")).to_wire(),  # empty
        b"\x00\x00\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00" + b"\xc0\x0c" * 10,  # pointer loop
    ],
)
def test_hostile_datagrams(data: bytes) -> None:
    with pytest.raises(MalformedMdns):
        mdns.parse_response(data)

"""mDNS browse query and response parser, including hostile datagrams."""

from __future__ import annotations

from datetime import UTC, datetime

import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset
import pytest

from coverwatch.identity import normal_mac, serial_of
from coverwatch.models import Observation, ObsStatus, SourceKind
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
    # one datagram well inside the 512 bytes every resolver accepts (RFC 6762 17)
    assert len(mdns.build_query()) <= 512


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


def _txt_reply(service: str, instance: str, *strings: bytes) -> bytes:
    query = dns.message.make_query(service, dns.rdatatype.PTR)
    response = dns.message.make_response(query)
    name = dns.name.Name((instance.encode(), *dns.name.from_text(service).labels))
    response.answer.append(dns.rrset.from_text(service, 120, "IN", "PTR", name.to_text()))
    txt = dns.rrset.RRset(name, dns.rdataclass.IN, dns.rdatatype.TXT)
    txt.add(dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, strings))
    response.additional.append(txt)
    return response.to_wire()


@pytest.mark.parametrize(
    ("service", "strings", "expected", "absent"),
    [
        # HomeKit: md= is the model, ci= the accessory category; id= is a pairing identifier,
        # not the MAC (HAP-NodeJS src/lib/Advertiser.ts)
        (
            "_hap._tcp.local.",
            (b"md=Welcome", b"ci=17", b"id=67:C5:2B:9E:59:47"),
            {"mdns.model": ["Welcome"], "mdns.hap_category": ["17"]},
            {"mac"},
        ),
        # a ci= outside _hap is not a HomeKit category
        (
            "_http._tcp.local.",
            (b"ci=17", b"model=X1"),
            {"mdns.model": ["X1"]},
            {"mdns.hap_category"},
        ),
        # Apple's _device-info model= is the icon a Mac shows, not the device's model
        ("_device-info._tcp.local.", (b"model=Xserve",), {}, {"mdns.model"}),
        # identity keys of any case; a MAC only when it is one
        (
            "_axis-video._tcp.local.",
            (b"MacAddress=ACCC8E9145C1", b"SN=AB12345678", b"fw=10.12.114"),
            {
                "mac": ["ACCC8E9145C1"],
                "mdns.serial": ["AB12345678"],
                "mdns.firmware": ["10.12.114"],
            },
            set(),
        ),
        ("_http._tcp.local.", (b"mac=not-a-mac", b"mac=ff:ff:ff:ff:ff:ff"), {}, {"mac"}),
        ("_hap._tcp.local.", (b"ci=camera", b"md="), {}, {"mdns.hap_category", "mdns.model"}),
    ],
)
def test_txt_identity_keys(
    service: str, strings: tuple[bytes, ...], expected: dict[str, list[str]], absent: set[str]
) -> None:
    signals = mdns.parse_response(_txt_reply(service, "dev", *strings))
    for key, values in expected.items():
        assert signals[key] == values
    assert not absent & set(signals)


def test_hostile_txt_stays_bounded() -> None:
    # one TXT record of 5,000 strings: the reply parses and at most 32 strings are read
    signals = mdns.parse_response(
        _txt_reply("_hap._tcp.local.", "dev", *(b"k%d=v" % n for n in range(5000)))
    )
    assert len(signals["mdns.txt"]) == 32
    # 200 instances, each naming a model and serial: at most 64 values per signal
    many = dns.message.make_response(dns.message.make_query("_hap._tcp.local.", "PTR"))
    for n in range(200):
        name = f"d{n}._hap._tcp.local."
        many.answer.append(dns.rrset.from_text("_hap._tcp.local.", 120, "IN", "PTR", name))
        txt = f'"md=M{n}" "sn=S{n:06d}"'
        many.additional.append(dns.rrset.from_text(name, 120, "IN", "TXT", txt))
    signals = mdns.parse_response(many.to_wire())
    assert signals["mdns.serial"][:2] == ["S000000", "S000001"]
    assert max(len(values) for values in signals.values()) <= 64
    # binary and terminal-control bytes never reach a signal; oversized values are cut
    signals = mdns.parse_response(
        _txt_reply("_hap._tcp.local.", "dev", b"md=" + b"A" * 250, b"sn=AB\x00\xff\x1b[31m12")
    )
    assert signals["mdns.model"] == ["A" * 250]
    assert all(ch.isprintable() for ch in signals["mdns.serial"][0])


def test_txt_serial_and_mac_identify_the_device() -> None:
    # what a TXT record states becomes the device's identity, as other protocols' serials do
    signals = mdns.parse_response(
        _txt_reply(
            "_http._tcp.local.", "cam", b"serialnumber=ab 1234 5678", b"mac=AC-CC-8E-01-02-03"
        )
    )
    at = datetime(2026, 1, 5, tzinfo=UTC)
    observations = [
        Observation("192.0.2.7", key, value, 5353, "mdns", ObsStatus.OK, SourceKind.DISCOVERY, at)
        for key, values in signals.items()
        for value in values
    ]
    assert serial_of(observations) == "AB12345678"
    assert normal_mac(signals["mac"][0]) == "ac:cc:8e:01:02:03"

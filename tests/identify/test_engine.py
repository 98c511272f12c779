"""Attribution from hand-written observations: one signal type at a time, then combinations.

Values are what real devices publicly answer (see the knowledge base's sources); none is taken
from the lab profiles' per-host output.
"""

from __future__ import annotations

import pytest

from coverwatch.identify import attribute, contradicts, load_knowledge
from coverwatch.identify.engine import MIN_MAKER_SCORE, oui_organisation
from coverwatch.identify.knowledge import Knowledge, OemBrand
from coverwatch.identity import normalise_mac
from coverwatch.models import DeviceType

HIK = "Hangzhou Hikvision Digital Technology Company"
DAHUA = "Dahua Technology Company"


@pytest.mark.parametrize(
    ("signals", "maker", "brand", "device_type", "covered"),
    [
        # HTTP server strings and realms
        ({"http.server": "App-webs/"}, "Hikvision", None, DeviceType.CAMERA, HIK),
        ({"http.server": "DNVRS-Webs"}, "Hikvision", None, DeviceType.NVR, HIK),
        ({"http.server": "DVRDVS-Webs"}, "Hikvision", None, DeviceType.DVR, HIK),
        (
            {"http.www_authenticate": 'Digest realm="Login to 4L0ABCDEF1234567"'},
            "Dahua",
            None,
            DeviceType.CAMERA,
            DAHUA,
        ),
        (
            {"http.body": '<a href="/doc/page/login.asp?_1690000000">'},
            "Hikvision",
            None,
            DeviceType.CAMERA,
            HIK,
        ),
        (
            {"rtsp.www_authenticate": 'Digest realm="iPOLiS", nonce="abc"'},
            "Hanwha Vision",
            None,
            DeviceType.CAMERA,
            None,
        ),
        ({"rtsp.server": "Dahua Rtsp Server"}, "Dahua", None, DeviceType.CAMERA, DAHUA),
        (
            {"http.www_authenticate": 'Digest realm="HuaweiHomeGateway", nonce="abc"'},
            "Huawei",
            None,
            DeviceType.ROUTER,
            "Huawei Technologies Company",
        ),
        # Devices naming themselves (ONVIF, SADP, DHIP)
        (
            {"onvif.manufacturer": "HIKVISION", "onvif.model": "DS-2CD2043G0-I"},
            "Hikvision",
            "Hikvision",
            DeviceType.CAMERA,
            HIK,
        ),
        (
            {"onvif.manufacturer": "Dahua", "onvif.model": "DH-NVR4108HS-4KS2"},
            "Dahua",
            "Dahua",
            DeviceType.NVR,
            DAHUA,
        ),
        (
            {"onvif.manufacturer": "AXIS", "onvif.model": "M3106-L Mk II"},
            "Axis",
            None,
            DeviceType.CAMERA,
            None,
        ),
        ({"sadp.device_description": "DS-7608NI-K2"}, "Hikvision", None, DeviceType.NVR, HIK),
        # White labels keep their brand and resolve to the real maker
        (
            {"onvif.manufacturer": "Amcrest", "onvif.model": "IP8M-2496EB"},
            "Dahua",
            "Amcrest",
            DeviceType.CAMERA,
            DAHUA,
        ),
        (
            {"onvif.manufacturer": "LTS", "http.server": "App-webs/"},
            "Hikvision",
            "LTS",
            DeviceType.CAMERA,
            HIK,
        ),
        ({"onvif.manufacturer": "EZVIZ"}, "Hikvision", "EZVIZ", DeviceType.CAMERA, HIK),
        # The IEEE registry (via netaddr): maker OUIs and a white label's own OUI; a maker
        # whose networked products are all cameras and recorders lends its usual type
        ({"mac": "44:19:b6:12:34:56"}, "Hikvision", None, DeviceType.CAMERA, HIK),
        ({"mac": "14:2f:fd:12:34:56"}, "Hikvision", "LTS", DeviceType.CAMERA, HIK),
        ({"mac": "ac:cc:8e:01:02:03"}, "Axis", None, DeviceType.CAMERA, None),
        # Other management and discovery signals
        (
            {"snmp.sysdescr": "AXIS M3106-L Mk II Network Camera"},
            "Axis",
            None,
            DeviceType.CAMERA,
            None,
        ),
        (
            {"upnp.manufacturer": "Bosch", "upnp.model_name": "FLEXIDOME IP 4000i"},
            "Bosch",
            "Bosch",
            DeviceType.CAMERA,
            None,
        ),
        (
            {"tls.issuer": "CN=Dahua Device NVR CA,O=Zhejiang Dahua Technology Co.\\, Ltd."},
            "Dahua",
            None,
            DeviceType.NVR,
            DAHUA,
        ),
        ({"dhcp.hostname": "IPC-HDW2431T-AS-S2"}, "Dahua", None, DeviceType.CAMERA, DAHUA),
        (
            {"dhip.deviceType": "IPC-HFW2431S-S-S2", "dhip.version": "2.800.0000000.16.R"},
            "Dahua",
            None,
            DeviceType.CAMERA,
            DAHUA,
        ),
        (
            {"mdns.name": "HIKVISION DS-2CD2143G2-I - E12345678"},
            "Hikvision",
            None,
            DeviceType.CAMERA,
            HIK,
        ),
        ({"telnet.banner": "(none) login:"}, None, None, None, None),
        ({"ftp.banner": "220 (vsFTPd 3.0.3)"}, None, None, None, None),
        ({"sip.user_agent": "Linphone/5.0"}, None, None, None, None),
        # Non-video hosts: typed, never covered
        (
            {"ssh.banner": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"},
            None,
            None,
            DeviceType.SERVER,
            None,
        ),
        ({"http.server": "Microsoft-IIS/10.0"}, None, None, DeviceType.SERVER, None),
        (
            {"http.server": "HP HTTP Server; HP Officejet 6500 E710n-z - CN557A; Serial Number: x"},
            "HP",
            None,
            DeviceType.PRINTER,
            None,
        ),
        # Generic software says nothing about the maker
        ({"http.server": "nginx/1.22.1"}, None, None, None, None),
        ({"http.server": "lighttpd/1.4.59", "http.title": "Login"}, None, None, None, None),
    ],
)
def test_attribution_by_signal(
    signals: dict[str, str],
    maker: str | None,
    brand: str | None,
    device_type: DeviceType | None,
    covered: str | None,
) -> None:
    result = attribute(signals.items())
    assert (result.maker, result.device_type, result.covered) == (maker, device_type, covered)
    if brand is not None:
        assert result.brand == brand
    assert (result.confidence > 0) == (maker is not None)
    if maker:
        assert any(e.maker == maker for e in result.evidence), "a claim must cite its evidence"


def test_no_signals_is_an_honest_unknown() -> None:
    result = attribute([])
    assert result.maker is None and result.brand is None and result.model is None
    assert result.confidence == 0 and result.evidence == ()


def test_empty_values_are_ignored() -> None:
    assert attribute([("http.server", ""), ("onvif.manufacturer", "")]).evidence == ()


def test_model_and_firmware_come_from_the_device() -> None:
    result = attribute(
        [
            ("onvif.manufacturer", "HIKVISION"),
            ("onvif.model", "DS-2CD2143G2-I"),
            ("onvif.firmware", "V5.7.3 build 220112"),
        ]
    )
    assert result.model == "DS-2CD2143G2-I"
    assert result.firmware == "V5.7.3 build 220112"


def test_conflicting_evidence_lowers_confidence_and_is_shown() -> None:
    alone = attribute([("http.server", "App-webs/"), ("onvif.manufacturer", "HIKVISION")])
    mixed = attribute(
        [
            ("http.server", "App-webs/"),
            ("onvif.manufacturer", "HIKVISION"),
            ("rtsp.server", "Dahua Rtsp Server"),
        ]
    )
    assert mixed.maker == "Hikvision"
    assert mixed.confidence < alone.confidence
    conflicting = [e for e in mixed.evidence if e.conflicts]
    assert [e.maker for e in conflicting] == ["Dahua"]
    assert conflicting[0].signal == "rtsp.server"


def test_a_brand_the_maker_does_not_make_is_not_claimed() -> None:
    # An Axis firmware does not become an "Amcrest" because a title says so; it is a conflict.
    result = attribute(
        [
            ("onvif.manufacturer", "AXIS"),
            ("onvif.model", "P3228-LVE"),
            ("http.www_authenticate", 'Digest realm="AXIS_ACCC8E000001"'),
            ("upnp.manufacturer", "Amcrest"),
        ]
    )
    assert result.maker == "Axis"
    assert result.brand != "Amcrest"
    assert any(e.conflicts for e in result.evidence)


def test_multi_maker_white_label_is_decided_by_firmware() -> None:
    # A brand sold on two makers' firmware (here a made-up "Roadrunner", named by an asset
    # register, on Dahua and Hikvision lines): the device's own firmware says which it is.
    kb = load_knowledge()
    two_makers = OemBrand(
        "Roadrunner", (), ("Dahua", "Hikvision"), 0.8, "https://example.org/oem", True
    )
    kb = Knowledge.build(
        kb.fingerprints, kb.oui, (*kb.oem, two_makers), kb.covered, kb.cves, (), kb.makers
    )
    dahua_made = attribute(
        [
            ("register.brand", "Roadrunner"),
            ("http.www_authenticate", 'Digest realm="Login to ND0123456789"'),
        ],
        kb,
    )
    hik_made = attribute([("register.brand", "Roadrunner"), ("http.server", "App-webs/")], kb)
    assert (dahua_made.maker, dahua_made.brand) == ("Dahua", "Roadrunner")
    assert (hik_made.maker, hik_made.brand) == ("Hikvision", "Roadrunner")


HIKVISION_ANSWERS = [("isapi.model", "DS-2CD2143G2-I"), ("onvif.manufacturer", "HIKVISION")]


@pytest.mark.parametrize(
    ("other", "doubt"),
    [
        ([("http.www_authenticate", 'Digest realm="AXIS_ACCC8E012345"')], True),  # Axis, 0.8
        ([("http.server", "Axis")], False),  # one word: 0.45
        ([("tcp.port", p) for p in ("554", "8899", "9530", "34567")], False),  # ports only: 0.61
        ([("onvif.manufacturer", "LTS")], False),  # Hikvision's label: the same maker
        ([("onvif.manufacturer", "Swann")], True),  # Swann's OEM is Reolink, not Hikvision
        ([("onvif.manufacturer", "Honeywell"), ("isapi.model", "DS-2CD2143G2-I")], False),
    ],
)
def test_two_answers_contradict_only_when_each_is_sure_of_another_maker(
    other: list[tuple[str, str]], doubt: bool
) -> None:
    hikvision = attribute(HIKVISION_ANSWERS)
    assert contradicts(hikvision, attribute(other)) is doubt
    assert contradicts(attribute(other), hikvision) is doubt


def test_a_weak_signal_alone_claims_no_maker() -> None:
    result = attribute([("tcp.port", "37777")])
    assert result.maker is None
    assert all(e.weight < MIN_MAKER_SCORE for e in result.evidence)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("44:19:B6:00:00:01", "44:19:b6:00:00:01"),
        ("4419.b600.0001", "44:19:b6:00:00:01"),
        ("44-19-b6-00-00-01", "44:19:b6:00:00:01"),
        ("not a mac", None),
        ("", None),
    ],
)
def test_normalise_mac(text: str, expected: str | None) -> None:
    assert normalise_mac(text) == expected


def test_oui_registry_comes_from_netaddr() -> None:
    assert oui_organisation("44:19:b6:00:00:01") == "Hangzhou Hikvision Digital Technology Co.,Ltd."
    assert oui_organisation("02:00:00:00:00:01") is None  # locally administered


@pytest.mark.parametrize(
    ("signals", "maker"),
    [
        # a maker named as a whole word in the device's own description
        ({"http.www_authenticate": 'Basic realm="TP-LINK Wireless N Router WR841N"'}, "TP-Link"),
        ({"snmp.sysdescr": "Linux, Cisco Systems, Inc WAP561, Version 1.2.1.6"}, "Cisco"),
        ({"upnp.manufacturer": "VIVOTEK INC."}, "Vivotek"),
        # part of a longer word, an ordinary word, an operating system: not evidence
        ({"http.title": "Active Directory Accounting"}, None),  # "acti" inside "Active"
        ({"http.title": "Ring the bell"}, None),
        ({"http.server": "Microsoft-HTTPAPI/2.0"}, None),
        # a name only in a page body (anyone's page may mention a maker): not read
        ({"http.body": "Compatible with Hikvision and Dahua recorders"}, None),
    ],
)
def test_a_maker_named_in_the_devices_own_words(signals: dict[str, str], maker: str | None) -> None:
    assert attribute(signals.items()).maker == maker


def test_a_name_a_specific_entry_already_read_is_not_counted_twice() -> None:
    result = attribute([("http.server", "Hikvision-Webs")])
    assert [e.matched for e in result.evidence if e.maker == "Hikvision"] == [
        "fp:hikvision-http-server-hikvision-webs"
    ]


@pytest.mark.parametrize(
    ("signals", "device_type"),
    [
        ({"rtsp.public": "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"}, DeviceType.CAMERA),
        ({"onvif.manufacturer": "Some OEM"}, DeviceType.CAMERA),
        ({"onvif.model": "C6F0SgZ3N0P1L0", "onvif.firmware": "2.4.1"}, DeviceType.CAMERA),
        ({"onvif.scopes": "onvif://www.onvif.org/Profile/Streaming"}, DeviceType.CAMERA),
        ({"onvif.scope.name": "IPCAM"}, DeviceType.CAMERA),
        ({"onvif.xaddrs": "http://192.0.2.1:8899/onvif/device_service"}, DeviceType.CAMERA),
        ({"onvif.scope.hardware": "IPC-model"}, DeviceType.CAMERA),
        # a Windows computer's WS-Discovery service address is not an ONVIF device's
        ({"onvif.xaddrs": "http://192.0.2.20:5357/6b3c2a10-1234-4f5e-9a7b-001122334455/"}, None),
        ({"onvif.scope.name": "Network Video Recorder"}, DeviceType.NVR),
        ({"rtsp.server": "AirTunes/377.40.00"}, None),  # an AirPlay receiver, not a camera
        ({"snmp.sysdescr": "AXIS 1234 Network Document Server"}, DeviceType.SERVER),
    ],
)
def test_protocols_and_words_move_the_type(
    signals: dict[str, str], device_type: DeviceType | None
) -> None:
    assert attribute(signals.items()).device_type == device_type


@pytest.mark.parametrize(
    ("realm", "maker", "brand"),
    [
        ("4419b6000001", "Hikvision", None),  # a Hikvision registry block
        ("64f2fb000001", "Hikvision", "EZVIZ"),  # Hikvision's EZVIZ block
        ("6CF17E000001", "Uniview", None),
        ("020000000001", None, None),  # locally administered: in no registry
        ("4419b6000001ab", None, None),  # 14 digits: not an address
    ],
)
def test_a_realm_that_is_the_devices_own_mac_names_its_maker(
    realm: str, maker: str | None, brand: str | None
) -> None:
    challenge = f'Digest realm="{realm}", nonce="f37a39304b09e7fd81c5f2bdf593897c", stale="FALSE"'
    for signal in ("rtsp.www_authenticate", "http.www_authenticate"):
        result = attribute([(signal, challenge)])
        assert (result.maker, result.brand) == (maker, brand)


def test_a_realm_mac_and_an_observed_mac_of_one_block_are_one_piece_of_evidence() -> None:
    realm = ("rtsp.www_authenticate", 'Digest realm="4419b6000001", stale="FALSE"')
    mac = ("mac", "44:19:b6:00:00:01")
    both, alone = attribute([realm, mac]), attribute([mac])
    assert both.maker == alone.maker == "Hikvision"
    assert both.confidence == alone.confidence
    assert [e.matched for e in both.evidence if e.maker == "Hikvision"] == [
        "oui:^Hangzhou Hikvision Digital Technology"
    ]


HIK_SCOPES = (
    "onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/Profile/Streaming "
    "onvif://www.onvif.org/hardware/DS-2CD2385G1-I "
    "onvif://www.onvif.org/name/HIKVISION%20DS-2CD2385G1-I "
    "onvif://www.onvif.org/location/city/hangzhou"
)


def test_a_scope_list_as_one_string_says_what_its_parts_say() -> None:
    parts = [
        ("onvif.scope.hardware", "DS-2CD2385G1-I"),
        ("onvif.scope.name", "HIKVISION DS-2CD2385G1-I"),
        ("onvif.scope.location", "city/hangzhou"),
    ]
    whole, split = attribute([("onvif.scopes", HIK_SCOPES)]), attribute(parts)
    assert whole.maker == "Hikvision" and whole.model == "DS-2CD2385G1-I"
    assert (whole.maker, whole.model, whole.device_type, whole.confidence) == (
        split.maker,
        split.model,
        split.device_type,
        split.confidence,
    )
    # discovery emits the list and its parts together: each piece of evidence still counts once
    assert attribute([("onvif.scopes", HIK_SCOPES), *parts]).confidence == split.confidence


def test_a_mac_scope_in_a_scope_list_is_read_as_the_devices_mac() -> None:
    result = attribute([("onvif.scopes", "onvif://www.onvif.org/MAC/44:19:b6:00:00:01")])
    assert result.maker == "Hikvision"


@pytest.mark.parametrize(
    ("signal", "value", "maker"),
    [
        # a time-based (version 1) UUID: its node field is the device's MAC (RFC 4122 4.1.6)
        ("onvif.endpoint", "urn:uuid:aa85c000-6324-11b3-819e-4419b6000001", "Hikvision"),
        ("upnp.usn", "uuid:0e823c87-0f10-11b3-8133-4419b6000001::upnp:rootdevice", "Hikvision"),
        # a random (version 4) UUID ending in the same digits says nothing
        ("onvif.endpoint", "urn:uuid:6b8f7c2e-3a1d-4e5f-9a7b-4419b6000001", None),
        # a version 1 UUID with a random node (multicast bit set): in no registry
        ("onvif.endpoint", "urn:uuid:aa85c000-6324-11b3-819e-4519b6000001", None),
    ],
)
def test_a_version_1_uuid_names_the_maker_of_its_node_address(
    signal: str, value: str, maker: str | None
) -> None:
    assert attribute([(signal, value)]).maker == maker


@pytest.mark.parametrize(
    "wire_mac",
    [
        "50:c7:bf:00:00:01",  # a TP-Link router forwarding port 554 to a camera behind it
        "00:00:00:00:00:01",  # a registered organisation no oui.yaml entry maps
    ],
)
def test_a_stated_mac_the_wire_contradicts_says_nothing(wire_mac: str) -> None:
    realm = ("rtsp.www_authenticate", 'Digest realm="4419b6000001", stale="FALSE"')
    result = attribute([("mac", wire_mac), realm])
    assert result.maker != "Hikvision" and result.covered is None
    assert not [e for e in result.evidence if e.signal == "rtsp.www_authenticate" and e.maker]
    # a randomised (locally administered) MAC on the wire contradicts nothing
    assert attribute([("mac", "02:11:22:33:44:55"), realm]).maker == "Hikvision"


@pytest.mark.parametrize(
    "scopes",
    [
        "onvif://www.onvif.org/MAC/4419B6-not-a-mac",
        "onvif://www.onvif.org/MAC/%34%34%31%39%62%36zz",
        "onvif://www.onvif.org/MAC/45:19:b6:00:00:01",  # multicast: in no registry block
    ],
)
def test_a_malformed_stated_mac_names_nobody(scopes: str) -> None:
    assert attribute([("onvif.scopes", scopes)]).maker is None


def test_a_model_an_entry_reads_twice_counts_once() -> None:
    # discovery emits the scope list and its parts; the hardware scope must not outvote the
    # device's own ONVIF model by being read twice
    own = [("onvif.model", "DH-IPC-HFW1230S"), ("onvif.scope.hardware", "HW1")]
    scopes = ("onvif.scopes", "onvif://www.onvif.org/hardware/HW1")
    assert attribute(own).model == attribute([*own, scopes]).model == "IPC-HFW1230S"


def _ports(*ports: str) -> list[tuple[str, str]]:
    return [("tcp.port", p) for p in ports]


@pytest.mark.parametrize(
    ("ports", "maker", "covered"),
    [
        # Dahua's SDK port on a host that streams RTSP (CVE-2013-6117 advisory: 37777)
        (("80", "443", "554", "37777"), "Dahua", DAHUA),
        # XM's DVR-IP port beside its ONVIF port 8899
        (("8899", "34567"), "Xiongmai", None),
    ],
)
def test_a_vendors_default_set_of_ports_names_it(
    ports: tuple[str, ...], maker: str, covered: str | None
) -> None:
    result = attribute(_ports(*ports))
    assert (result.maker, result.covered) == (maker, covered)
    assert ("tcp.ports", " ".join(ports)) in [(e.signal, e.value) for e in result.evidence]


@pytest.mark.parametrize(
    "ports",
    [
        ("37777",),
        ("34567",),
        ("22", "80", "37777"),  # a Linux box: 37777 is just a port in the ephemeral range
        ("80", "443", "34567"),
        ("0554", "37777"),  # no port number as a scanner writes one
        ("554", "37777", *map(str, range(1000, 1030))),  # a server with thirty services
        ("9530", "34567", *map(str, range(1000, 1030))),
        ("37215",),  # Huawei home gateways' TR-064 port, alone
        ("22", "53", "80", "37215"),  # and on a Linux box serving DNS
    ],
)
def test_a_private_port_off_a_streaming_device_names_nobody(ports: tuple[str, ...]) -> None:
    result = attribute(_ports(*ports))
    assert (result.maker, result.covered) == (None, None)
    assert result.device_type is None


def test_a_host_that_accepts_every_connection_is_attributed_nothing() -> None:
    # a tarpit, or a firewall answering for the addresses behind it: every port "open"
    result = attribute(_ports(*map(str, range(1, 65536))))
    assert (result.maker, result.device_type, result.covered) == (None, None, None)
    assert result.evidence == ()
    # the same with only a camera port list swept: two vendors' private ports
    assert attribute(_ports("80", "554", "8000", "8899", "34567", "37777")).evidence == ()


def test_ports_give_way_to_what_the_host_itself_says() -> None:
    dahua_ports = _ports("80", "554", "37777")
    # a Hikvision web server answering on a host with Dahua's ports
    result = attribute([*dahua_ports, ("http.server", "App-webs/")])
    assert (result.maker, result.covered) == ("Hikvision", HIK)
    assert not [e for e in result.evidence if e.maker == "Dahua"]
    # a TP-Link router forwarding 554 and 37777 to a recorder behind it: its own MAC
    router = attribute([*dahua_ports, ("mac", "50:c7:bf:00:00:01")])
    assert router.maker == "TP-Link" and router.covered is None


def test_a_weak_port_of_another_maker_does_not_silence_a_private_one() -> None:
    # 2020 is Tapo's ONVIF port but also anyone's; it must not veto Dahua's 37777
    assert attribute(_ports("80", "554", "2020", "37777")).maker == "Dahua"


def test_a_port_set_is_identifys_own_to_derive() -> None:
    # an import cannot state a set of ports the host was not seen with
    assert attribute([("tcp.ports", "554 37777"), ("tcp.port", "37777")]).maker is None
    assert attribute(_ports("554", "37777")).maker == "Dahua"


@pytest.mark.parametrize(
    ("signal", "text"),
    [
        # a company's legal form is nobody's name (an alias list once split "TVT CO., LTD")
        ("upnp.manufacturer", "Shenzhen Bilian Electronic Co., Ltd."),
        ("tls.issuer", "CN=BBL CA,O=BBL Technologies Co.\\, Ltd,C=CN"),  # a 3D printer
        # acronyms count only as written: Dutch "een" is not Eagle Eye Networks (EEN)
        ("http.title", "Welkom bij een nieuwe router"),
        ("http.title", "Nice to meet you"),  # not NICE Systems
        ("snmp.sysdescr", "Snort IDS sensor appliance"),  # not IDS Imaging
        ("telnet.banner", "Ubuntu 22.04.3 LTS\nsrv login:"),  # not LTS, a Hikvision OEM
        ("snmp.sysdescr", "Linux lucid 2.6.32-21-generic (Ubuntu 10.04 LTS)"),  # not LUCID
        ("upnp.model_description", "Day/Night ICR"),  # an IR-cut filter, not IC Realtime
        ("sip.user_agent", "hyt-softphone 1.0"),  # Hytera writes HYT
        # a certificate's issuer is its authority, not the device
        ("tls.issuer", "CN=WR2,O=Google Trust Services,C=US"),
    ],
)
def test_ordinary_words_name_no_maker(signal: str, text: str) -> None:
    result = attribute([(signal, text)])
    assert (result.maker, result.brand, result.covered) == (None, None, None)
    assert result.device_type is not DeviceType.CAMERA


@pytest.mark.parametrize(
    ("signal", "text", "maker"),
    [
        ("http.title", "ZTE router", "ZTE"),
        ("http.title", "zte router", "ZTE"),  # a name that is no word counts in any case
        ("mdns.name", "qnap-nas._http._tcp.local.", "QNAP"),
        ("http.title", "NICE Vision", "NICE Systems"),  # an acronym-word, as written
        ("upnp.manufacturer", "AXIS", "Axis"),
        ("http.title", "\u0130stanbul NICE Vision", "NICE Systems"),  # "İ" lowers to 2 chars
    ],
)
def test_a_device_naming_its_maker_names_it(signal: str, text: str, maker: str) -> None:
    assert attribute([(signal, text)]).maker == maker


def test_a_self_signed_certificates_issuer_is_the_devices_own_words() -> None:
    issuer = ("tls.issuer", "CN=QNAP NAS,OU=QTS,O=QNAP Systems\\, Inc.,C=TW")
    assert attribute([issuer, ("tls.self_signed", "true")]).maker == "QNAP"
    assert attribute([issuer, ("tls.self_signed", "false")]).maker is None  # its authority's

"""nmap XML import: the real nmap against the session lab, a LAN-scan sample, hostile XML."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coverwatch.errors import InputError
from coverwatch.identify import identify_host
from coverwatch.lab.runner import LabProcess
from coverwatch.models import Observation, SourceKind
from coverwatch.observer import NULL_OBSERVER
from coverwatch.sources import SOURCES, SourceName
from coverwatch.sources.nmap import NmapSource, read_nmap

ASSETS = Path(__file__).parent.parent / "assets" / "nmap"
_PROFILES = {"hikvision-ipc", "hikvision-nvr", "lts-ipc", "dahua-ipc", "amcrest-ipc", "lorex-nvr"}


def _values(observations: list[Observation]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for o in observations:
        found.setdefault(o.signal, []).append(o.value)
    return found


@pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")
def test_real_nmap_scan_of_the_lab_imports_and_attributes(lab: LabProcess, tmp_path: Path) -> None:
    chosen: dict[str, str] = {}
    for ip, truth in lab.truth.items():
        profile = str(truth["profile"])
        if profile in _PROFILES and profile not in chosen.values():
            chosen[ip] = profile
    assert set(chosen.values()) == _PROFILES
    assert all(ip.startswith("127.") for ip in chosen)  # loopback only: the lab, nothing else
    out = tmp_path / "lab.xml"
    command = ["nmap", "-sT", "-Pn", "-n", "-p", "80,8000,37777", "-sV", "--version-light"]
    command += ["-T4", "--script", "http-server-header,http-title", "-oX", str(out), *chosen]
    subprocess.run(command, check=True, capture_output=True, timeout=180)

    result = read_nmap(out)
    assert result.bad_rows == () and result.notes == ()
    assert set(result.observations) == set(chosen)
    for ip, profile in chosen.items():
        observations = result.observations[ip]
        assert {o.source for o in observations} == {SourceKind.IMPORT}
        values = _values(observations)
        assert "80" in values["tcp.port"]
        attribution = identify_host(observations)
        assert attribution.maker == lab.truth[ip]["maker"], f"{ip} ({profile})"
        assert attribution.maker in ("Hikvision", "Dahua")


def test_lan_scan_sample_with_macs_vendors_services_and_scripts() -> None:
    result = read_nmap(ASSETS / "lan_scan.xml")
    assert result.read == 6
    assert [str(b) for b in result.bad_rows] == [
        f"{ASSETS / 'lan_scan.xml'}: host 4: no IPv4 or IPv6 address",
        f"{ASSETS / 'lan_scan.xml'}: host 5: MAC 'not-a-mac' is not valid",
    ]
    assert list(result.observations) == ["192.0.2.10", "192.0.2.11", "192.0.2.14"]  # .12 down

    hik = result.observations["192.0.2.10"]
    values = _values(hik)
    assert values["mac"] == ["44:19:b6:12:34:56"]
    assert values["nmap.mac_vendor"] == ["Hangzhou Hikvision Digital Technology"]
    assert values["nmap.hostname"] == ["cam-lobby.example.org"]
    assert values["tcp.port"] == ["80", "554", "8000"]
    assert values["nmap.product"] == [
        "Hikvision IPCam control panel",
        "Hikvision 7513 POE IP camera rtspd",
    ]
    assert values["http.server"] == ["App-webs/"]
    assert "http.title" not in values  # nmap's "Site doesn't have a title" is not a title
    assert hik[0].observed_at == datetime.fromtimestamp(1700000010, UTC)
    assert {o.port for o in hik if o.signal == "nmap.service"} == {80, 554, 8000}
    assert identify_host(hik).maker == "Hikvision"

    amcrest = _values(result.observations["192.0.2.11"])
    assert amcrest["tcp.port"] == ["80", "37777"]  # filtered 443 is not open
    assert amcrest["http.title"] == ["WEB"] and amcrest["nmap.extrainfo"] == ["IP camera"]
    attribution = identify_host(result.observations["192.0.2.11"])
    assert (attribution.maker, attribution.brand) == ("Dahua", "Amcrest")

    ssh = _values(result.observations["192.0.2.14"])
    assert ssh["nmap.version"] == ["8.9p1 Ubuntu 3ubuntu0.4"]
    assert ssh["nmap.extrainfo"] == ["Ubuntu Linux; protocol 2.0"]


def test_source_registry_and_collect() -> None:
    assert SOURCES[SourceName.NMAP] is NmapSource
    source = NmapSource(ASSETS / "lan_scan.xml")
    found = source.collect(NULL_OBSERVER)
    assert set(found) == {"192.0.2.10", "192.0.2.11", "192.0.2.14"}
    assert len(source.result.bad_rows) == 2


_HOSTILE = {
    "billion-laughs": '<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY a "aaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><nmaprun><host><address addr="&b;" '
    'addrtype="ipv4"/></host></nmaprun>',
    "xxe": '<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<nmaprun><host><hostnames><hostname name="&x;"/></hostnames></host></nmaprun>',
}


@pytest.mark.parametrize("name", sorted(_HOSTILE))
def test_hostile_xml_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "hostile.xml"
    path.write_text(_HOSTILE[name])
    with pytest.raises(InputError, match="refused unsafe XML"):
        read_nmap(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"ip,mac\n10.0.0.1,aa:bb:cc:dd:ee:ff\n", "not nmap XML output"),
        (b"\x00\x01\x02binary", "not nmap XML output"),
        (b"PK\x03\x04zip", "not nmap XML output"),
        (b"<html><body/></html>", "root is not <nmaprun>"),
        (b"<nmaprun", "not well-formed XML"),
    ],
)
def test_not_nmap_xml_is_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "input.xml"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        read_nmap(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_nmap(tmp_path / "absent.xml")


def test_truncated_scan_keeps_the_hosts_before_the_break(tmp_path: Path) -> None:
    text = (ASSETS / "lan_scan.xml").read_text()
    path = tmp_path / "cut.xml"
    path.write_text(text[: text.index('<address addr="192.0.2.11"')])
    result = read_nmap(path)
    assert list(result.observations) == ["192.0.2.10"]
    assert result.notes and "ends early" in result.notes[0]


# --- everything nmap collected (issue #9 part 3) ---------------------------------------------

ESTATE = ASSETS / "camera_estate.xml"
Hosts = dict[str, list[Observation]]


@pytest.fixture(scope="module")
def estate() -> Hosts:
    result = read_nmap(ESTATE)
    assert result.bad_rows == () and result.notes == ()
    assert result.read == 7  # broadcast-named hosts were not scanned: they are not counted
    return result.observations


@pytest.mark.parametrize(
    ("ip", "maker", "device_type", "covered"),
    [
        # nmap named the service (extra info + devicetype webcam + CPE)
        ("192.0.2.30", "D-Link", "camera", None),
        ("192.0.2.31", "Hikvision", "camera", "Hangzhou Hikvision Digital Technology Company"),
        # nmap could not name it: the Server header inside its servicefp still tells
        ("192.0.2.32", "Hikvision", "camera", "Hangzhou Hikvision Digital Technology Company"),
        # snmp-sysdescr on 161/udp: a printer, not a camera
        ("192.0.2.34", "HP", "printer", None),
        # OS detection: the best match (not the first listed) decides
        ("192.0.2.35", "Huawei", "router", "Huawei Technologies Company"),
        # smb-os-discovery host script and a Windows service
        ("192.0.2.38", "Microsoft", "server", None),
        # broadcast-upnp-info named this host; nmap never scanned it
        ("192.0.2.40", "Hikvision", "camera", "Hangzhou Hikvision Digital Technology Company"),
    ],
)
def test_estate_hosts_are_attributed(
    estate: Hosts, ip: str, maker: str, device_type: str, covered: str | None
) -> None:
    attribution = identify_host(estate[ip])
    assert attribution.maker == maker
    assert attribution.device_type is not None and attribution.device_type.value == device_type
    assert attribution.covered == covered


def test_service_attributes_and_every_cpe_are_imported(estate: Hosts) -> None:
    values = _values(estate["192.0.2.30"])
    assert values["nmap.extrainfo"] == ["D-Link DCS-932L IP-Cam camera"]
    assert values["nmap.devicetype"] == ["webcam"]
    assert values["nmap.cpe"] == ["cpe:/a:busybox:busybox", "cpe:/h:dlink:dcs-932l"]
    windows = _values(estate["192.0.2.38"])
    assert windows["nmap.ostype"] == ["Windows"]
    assert windows["nmap.os"] == ["Windows Server 2012 R2 Standard 9600"]


def test_servicefp_replies_become_http_and_rtsp_signals(estate: Hosts) -> None:
    values = _values(estate["192.0.2.32"])
    assert values["http.server"] == ["App-webs/"]
    assert values["http.title"] == ["Index"]
    assert values["http.body"] == ["<html><head><title>Index</title></head><body></body></html>"]
    assert values["rtsp.www_authenticate"] == ['Basic realm="Lobby"']
    assert {o.port for o in estate["192.0.2.32"] if o.signal.startswith("http.")} == {8080}


def test_ssl_cert_subject_is_the_tls_probes_rfc4514_text(estate: Hosts) -> None:
    from cryptography.x509 import Name, NameAttribute
    from cryptography.x509.oid import NameOID

    # Oracle from outside this module: the text the active scan's TLS probe would produce for
    # the same certificate (cryptography's Name.rfc4514_string, RDNs in certificate order).
    name = Name(
        [
            NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            NameAttribute(NameOID.ORGANIZATION_NAME, "Example Camera Co, Ltd"),
            NameAttribute(NameOID.COMMON_NAME, "192.0.2.32"),
        ]
    )
    values = _values(estate["192.0.2.32"])
    assert values["tls.subject"] == [name.rfc4514_string()]
    assert values["tls.issuer"] == [name.rfc4514_string()]
    assert values["tls.self_signed"] == ["true"]


def test_os_detection_keeps_the_best_guesses_only(estate: Hosts) -> None:
    values = _values(estate["192.0.2.35"])
    assert values["nmap.os"] == ["Huawei VRP router"]  # Linux at 85% is 10 points behind
    assert values["nmap.os_class"] == ["Huawei VRP router"]
    assert values["nmap.cpe"] == ["cpe:/o:huawei:vrp"]


def test_broadcast_scripts_create_hosts_for_the_addresses_they_name(
    estate: Hosts,
) -> None:
    upnp = _values(estate["192.0.2.40"])
    assert upnp["upnp.manufacturer"] == ["Hikvision"]  # "Nobody" sits under a non-address line
    assert upnp["upnp.model_name"] == ["DS-2CD2142FWD-I"]
    assert {o.port for o in estate["192.0.2.40"]} == {1900}
    onvif = _values(estate["192.0.2.41"])
    assert onvif["onvif.xaddrs"] == ["http://192.0.2.41/onvif/device_service"]
    assert identify_host(estate["192.0.2.41"]).device_type is not None
    assert _values(estate["192.0.2.1"]) == {"udp.port": ["67"]}  # the DHCP server


def test_udp_snmp_and_banner_scripts(estate: Hosts) -> None:
    printer = _values(estate["192.0.2.34"])
    assert printer["snmp.sysdescr"][0].startswith("HP ETHERNET MULTI-ENVIRONMENT,")
    assert "udp.port" in printer and printer["udp.port"] == ["161"]  # 1900 open|filtered: no
    camera = _values(estate["192.0.2.36"])
    assert camera["telnet.banner"] == ["IP CAMERA login:"]  # telnet negotiation stripped
    assert "tcp.banner" not in camera  # the binary reply of port 37 is no greeting


@pytest.mark.parametrize(
    "fingerprint",
    [
        "",
        "SF-Port80-TCP:V=7.93%r(GetRequest,",
        'SF-Port80-TCP:V=7.93%r(GetRequest,10,"HTTP/1\\.1\\x20200',  # unterminated
        'r(NULL,4,"\\x\\x\\xZZ\\")',
        'r(GetRequest,5,"HTTP/")r(GetRequest,5,"HTTP/1.1 999 \\xff\\r\\n\\r\\n")',
        'r(RTSPRequest,5,"RTSP/garbage")',
        'r(NULL,2,"\\' + "\udcff" + '")',
        'r(A,1,"' * 20000,  # many unterminated heads: must stay linear
        "\x00" * 70000,
    ],
)
def test_malformed_servicefp_never_crashes(fingerprint: str) -> None:
    import time

    from coverwatch.sources.nmap import PortInfo, servicefp_facts

    began = time.monotonic()
    facts = servicefp_facts(fingerprint, PortInfo(80, "http"))
    assert time.monotonic() - began < 1.0
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in facts)


def test_servicefp_escapes_decode_like_nmap_writes_them() -> None:
    from coverwatch.sources.nmap import servicefp_responses

    # nmap 4.x wraps fingerprints in "SF:" lines; letters and digits stay, punctuation is
    # backslashed, other bytes are \xHH (https://nmap.org/book/vscan-community.html)
    fingerprint = (
        'SF-Port22-TCP:V=4.76%r(NULL,\nSF:27,"SSH-2\\.0-OpenSSH_5\\.1p1'
        '\\x20Debian-5ubuntu1\\r\\n");'
    )
    assert servicefp_responses(fingerprint) == [
        ("NULL", b"SSH-2.0-OpenSSH_5.1p1 Debian-5ubuntu1\r\n")
    ]


def _script_host(scripts: str, port: str = "80", service: str = "http") -> str:
    return (
        '<?xml version="1.0"?><nmaprun start="1700000000"><host><status state="up"/>'
        '<address addr="192.0.2.50" addrtype="ipv4"/><ports><port protocol="tcp" '
        f'portid="{port}"><state state="open"/><service name="{service}"/>{scripts}'
        "</port></ports></host></nmaprun>"
    )


@pytest.mark.parametrize(
    ("scripts", "expected"),
    [
        (
            '<script id="http-headers" output="&#xa;  Server: Hikvision-Webs&#xa;  '
            "WWW-Authenticate: Digest realm=&quot;DS-2CD2142FWD-I&quot;&#xa;  &#xa;  "
            '(Request type: HEAD)&#xa;"/>',
            {
                "http.server": ["Hikvision-Webs"],
                "http.www_authenticate": ['Digest realm="DS-2CD2142FWD-I"'],
            },
        ),
        (
            # the shape nmap 7.93 writes (checked against its own -oX output)
            '<script id="http-auth" output="&#xa;HTTP/1.1 401 Unauthorized&#xa;  Digest '
            'realm=IP Camera(C1234) nonce=abc"><table><elem key="scheme">Digest</elem>'
            '<table key="params"><elem key="realm">IP Camera(C1234)</elem><elem key="nonce">'
            "abc</elem></table></table></script>",
            {"http.www_authenticate": ['Digest realm="IP Camera(C1234)"']},
        ),
        (
            '<script id="http-auth" output="&#xa;HTTP/1.1 401 Unauthorized&#xa;  Basic '
            'realm=WebAdmin"/>',
            {"http.www_authenticate": ['Basic realm="WebAdmin"']},
        ),
        (
            '<script id="rtsp-methods" output="OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY"/>',
            {"rtsp.public": ["OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY"]},
        ),
        (
            '<script id="fingerprint-strings" output="..."><elem key="GetRequest, HTTPOptions">'
            "&#xa;    HTTP/1.1 401 Unauthorized&#xa;    Server: Zqx-webs/2.1&#xa;    "
            "&lt;html&gt;&lt;title&gt;Zqx Login&lt;/title&gt;</elem></script>",
            {"http.server": ["Zqx-webs/2.1"], "http.title": ["Zqx Login"]},
        ),
        (
            '<script id="http-favicon" '
            'output="Unknown favicon MD5: 89ADA2D1C7CF6D4B8C3E6AAFBF0D1C7E"/>',
            {"http.favicon_md5": ["89ada2d1c7cf6d4b8c3e6aafbf0d1c7e"]},
        ),
        (
            '<script id="upnp-info" output="&#xa;192.0.2.50&#xa;    Server: Linux/2.6 UPnP/1.0'
            " Example/1.0&#xa;    Location: http://192.0.2.50:49152/d.xml&#xa;      Manufacturer:"
            ' ZTE Corporation&#xa;      Model Name: ZXHN F660"/>',
            {
                "upnp.server": ["Linux/2.6 UPnP/1.0 Example/1.0"],
                "upnp.location": ["http://192.0.2.50:49152/d.xml"],
                "upnp.manufacturer": ["ZTE Corporation"],
                "upnp.model_name": ["ZXHN F660"],
            },
        ),
        (
            # the older shape in upnp-info's own documentation: the SERVER line has no key
            '<script id="upnp-info" output=" System/1.0 UPnP/1.0 IGD/1.0&#xa;'
            ' Location: http://192.0.2.50:80/UPnP/IGD.xml"/>',
            {
                "upnp.server": ["System/1.0 UPnP/1.0 IGD/1.0"],
                "upnp.location": ["http://192.0.2.50:80/UPnP/IGD.xml"],
            },
        ),
        ('<script id="http-title" output="Site doesn&apos;t have a title (text/html)."/>', {}),
        ('<script id="unknown-script" output="Server: App-webs/"/>', {}),
    ],
    ids=[
        "http-headers",
        "http-auth-table",
        "http-auth-text",
        "rtsp-methods",
        "fingerprint-strings",
        "http-favicon",
        "upnp-info",
        "upnp-info-bare-server",
        "no-title",
        "unknown-script",
    ],
)
def test_port_scripts(tmp_path: Path, scripts: str, expected: dict[str, list[str]]) -> None:
    path = tmp_path / "scan.xml"
    path.write_text(_script_host(scripts))
    values = _values(read_nmap(path).observations["192.0.2.50"])
    found = {k: v for k, v in values.items() if k not in ("tcp.port", "nmap.service")}
    assert found == expected


def test_greeting_keys_follow_the_service_nmap_named(tmp_path: Path) -> None:
    path = tmp_path / "scan.xml"
    path.write_text(
        _script_host('<script id="banner" output="220 Example FTP ready"/>', "2121", "ftp")
    )
    assert _values(read_nmap(path).observations["192.0.2.50"])["ftp.banner"] == [
        "220 Example FTP ready"
    ]


@pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")
def test_real_nmap_servicefp_and_ssl_cert_of_loopback_services(tmp_path: Path) -> None:
    """nmap's own -oX of services it cannot name, served on 127.0.0.1 by this test."""
    import socket
    import ssl
    import threading
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from tests.conftest import free_port

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Zqx Vision, Ltd"),
            x509.NameAttribute(NameOID.COMMON_NAME, "zqx-ipc"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    reply = (
        b"HTTP/1.1 401 Unauthorized\r\nServer: Zqx-webs/2.1\r\n"
        b'WWW-Authenticate: Digest realm="ZqxCam", nonce="abc"\r\n'
        b"Content-Type: text/html\r\nContent-Length: 42\r\n\r\n"
        b"<html><title>Zqx Login</title>hi</html>\r\n"
    )
    stop = threading.Event()

    def answer(conn: socket.socket, tls: bool) -> None:
        try:
            conn.settimeout(5)
            if tls:
                conn = context.wrap_socket(conn, server_side=True)
            if conn.recv(4096):
                conn.sendall(reply)
        except OSError:
            pass
        finally:
            conn.close()

    def serve(listener: socket.socket, tls: bool) -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=answer, args=(conn, tls), daemon=True).start()

    ports = [free_port(), free_port()]
    listeners = []
    for port, tls in zip(ports, (False, True), strict=True):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))  # loopback only
        listener.listen(16)
        listeners.append(listener)
        threading.Thread(target=serve, args=(listener, tls), daemon=True).start()
    out = tmp_path / "scan.xml"
    try:
        command = ["nmap", "-sT", "-Pn", "-n", "-sV", "-p", ",".join(map(str, ports))]
        command += ["--script", "ssl-cert", "-oX", str(out), "127.0.0.1"]
        subprocess.run(command, check=True, capture_output=True, timeout=240)
    finally:
        stop.set()
        for listener in listeners:
            listener.close()
    result = read_nmap(out)
    assert result.bad_rows == () and result.notes == ()
    observations = result.observations["127.0.0.1"]
    values = _values(observations)
    assert "Zqx-webs/2.1" in values["http.server"]
    assert 'Digest realm="ZqxCam", nonce="abc"' in values["http.www_authenticate"]
    assert values["tls.subject"] == [name.rfc4514_string()]
    http_ports = {o.port for o in observations if o.signal == "http.server"}
    assert ports[0] in http_ports


def test_memory_stays_flat_on_a_big_scan(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "big.xml"
    filler = "x" * 10_000  # per host: 40 MB in all if the parsed tree were kept
    with path.open("w") as out:
        out.write('<?xml version="1.0"?><nmaprun start="1700000000">')
        for i in range(4000):
            out.write(
                f'<host><status state="up"/><address addr="10.0.{i // 250}.{i % 250}" '
                'addrtype="ipv4"/><ports><port protocol="tcp" portid="80"><state state="open"/>'
                f'<script id="not-imported" output="{filler}"/></port></ports></host>'
            )
        out.write("</nmaprun>")
    tracemalloc.start()
    try:
        result = read_nmap(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.read == 4000 and len(result.observations) == 4000
    assert peak < 12 * 2**20


# --- fingerprints/nmap.yaml: what nmap says -> maker, type, covered ----------------------------


@pytest.mark.parametrize(
    ("signals", "maker", "device_type", "covered"),
    [
        ({"nmap.devicetype": "webcam", "nmap.product": "GoAhead WebServer"}, None, "camera", None),
        ({"nmap.product": "Hikvision IP camera httpd"}, "Hikvision", "camera", "Hangzhou"),
        ({"nmap.product": "Dahua DVR http config"}, "Dahua", "dvr", "Dahua"),
        ({"nmap.cpe": "cpe:/h:dahua:dh-ipc-hdw1200s"}, "Dahua", "camera", "Dahua"),
        ({"nmap.extrainfo": "Hikvision DS-7608NI-K2"}, "Hikvision", "nvr", "Hangzhou"),
        (
            {"nmap.product": "HuaweiHomeGateway", "nmap.devicetype": "broadband router"},
            "Huawei",
            "router",
            "Huawei",
        ),
        ({"nmap.product": "ZXHN H108N http config"}, "ZTE", None, "ZTE"),
        ({"nmap.cpe": "cpe:/o:zte:zxv10"}, "ZTE", None, "ZTE"),
        ({"nmap.mac_vendor": "Hytera Communications"}, "Hytera", "radio", "Hytera"),
        ({"nmap.product": "AXIS 2100 Network Camera http config"}, "Axis", "camera", None),
        ({"nmap.product": "HP LaserJet printer http config"}, "HP", "printer", None),
        ({"nmap.devicetype": "printer"}, None, "printer", None),
        ({"nmap.os_class": "Cisco IOS switch"}, None, "switch", None),
        # generic servers and weak guesses name no maker
        ({"nmap.product": "Apache Axis2"}, None, None, None),
        ({"nmap.product": "Boa HTTPd"}, None, None, None),
        ({"nmap.os": "Huawei VRP 5.x"}, None, None, None),  # an OS guess alone
    ],
)
def test_nmap_identifications_map_to_makers_and_types(
    signals: dict[str, str], maker: str | None, device_type: str | None, covered: str | None
) -> None:
    from coverwatch.identify import attribute

    attribution = attribute(signals.items())
    assert attribution.maker == maker
    assert (attribution.device_type.value if attribution.device_type else None) == device_type
    if covered is None:
        assert attribution.covered is None
    else:
        assert attribution.covered is not None and attribution.covered.startswith(covered)

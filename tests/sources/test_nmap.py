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
from coverwatch.models import SourceKind
from coverwatch.observer import NULL_OBSERVER
from coverwatch.sources import SOURCES, SourceName
from coverwatch.sources.nmap import NmapSource, read_nmap

ASSETS = Path(__file__).parent.parent / "assets" / "nmap"
_PROFILES = {"hikvision-ipc", "hikvision-nvr", "lts-ipc", "dahua-ipc", "amcrest-ipc", "lorex-nvr"}


def _values(observations: list) -> dict[str, list[str]]:
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

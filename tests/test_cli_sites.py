"""Sites are explicit (issue #10 part 2): imports land in the device's site, a register's site
column is honoured, a site nobody knows is an error for every read and report, and every report
states in its header which sites it covers."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from coverwatch.lab.runner import LabProcess
from coverwatch.targets import DEFAULT_PORTS
from tests.conftest import Cli

ASSETS = Path(__file__).parent / "assets" / "nmap"
#: An address no lab host has (TEST-NET-1): an nmap import may hold hosts nobody scanned.
STRANGER = "192.0.2.77"


_SERVICES = {80: "http", 443: "https", 554: "rtsp", 8000: "http-alt", 22: "ssh", 23: "telnet"}


def _host(ip: str, ports: list[int]) -> str:
    """One ``<host>`` as ``nmap -sT -Pn -n -oX`` writes it (service names from nmap's port
    table, as without -sV; the shape of the files in tests/assets/nmap)."""
    rows = "".join(
        f'<port protocol="tcp" portid="{p}"><state state="open" reason="syn-ack" '
        f'reason_ttl="0"/><service name="{_SERVICES.get(p, "unknown")}" method="table" '
        'conf="3"/></port>'
        for p in ports
    )
    return (
        f'<host><status state="up" reason="user-set" reason_ttl="0"/>'
        f'<address addr="{ip}" addrtype="ipv4"/><hostnames/><ports>{rows}</ports></host>\n'
    )


def _nmap_xml(hosts: dict[str, list[int]], path: Path) -> Path:
    """An nmap XML file of these hosts and open ports."""
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n'
        '<nmaprun scanner="nmap" args="nmap -sT -Pn -n -oX" start="1700000000" '
        'version="7.94" xmloutputversion="1.05">\n'
        + "".join(_host(ip, ports) for ip, ports in hosts.items())
        + "</nmaprun>\n"
    )
    return path


def _real_nmap(hosts: list[str], path: Path) -> Path:
    """Run the real nmap (a connect scan of the lab on loopback) into ``path``."""
    ports = ",".join(map(str, DEFAULT_PORTS))
    subprocess.run(
        ["nmap", "-sT", "-Pn", "-n", "-p", ports, "-oX", str(path), *hosts],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return path


@pytest.mark.parametrize(
    "tool",
    [
        "recorded",
        pytest.param(
            "nmap",
            marks=pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap not installed"),
        ),
    ],
)
def test_scan_with_site_then_import_without_site_is_one_row_per_device(
    cli: Cli, lab: LabProcess, tmp_path: Path, tool: str
) -> None:
    hosts = list(lab.truth)[:6]
    scanned = cli("scan", *hosts, "--site", "hq")
    assert scanned.returncode == 0, scanned.stderr
    # NOTE: a host whose maker the (credential-less) scan named; which hosts those are depends
    # on the lab's seeded mix (a Huawei camera names its maker only to authenticated ONVIF).
    listed = cli.json("devices", "--json")
    assert isinstance(listed, list)
    named = [d["ip"] for d in listed if d["maker"]]
    assert named, "the scan named no maker among the first lab hosts"
    if tool == "nmap":
        xml = _real_nmap(hosts, tmp_path / "lan.xml")
        # nmap also saw a host nobody scanned (it cannot reach a test address: added here).
        xml.write_text(xml.read_text().replace("</nmaprun>", _host(STRANGER, [80]) + "</nmaprun>"))
    else:
        open_ports = {ip: sorted(set(lab.truth[ip]["ports"]) & set(DEFAULT_PORTS)) for ip in hosts}
        xml = _nmap_xml({**open_ports, STRANGER: [80]}, tmp_path / "lan.xml")

    imported = cli("import", "nmap", str(xml))
    assert imported.returncode == 0, imported.stderr

    devices = cli.json("devices", "--json")
    assert isinstance(devices, list)
    rows = Counter(d["ip"] for d in devices)
    assert rows == Counter([*hosts, STRANGER])  # one row per device: nothing recorded twice
    sites = {d["ip"]: d["site"] for d in devices}
    assert {sites[ip] for ip in hosts} == {"hq"} and sites[STRANGER] == "default"
    # The brand-new default site is named, with what went there and how to choose instead.
    assert "1 host(s) known in no site were recorded in new site 'default'" in imported.stderr
    assert "give --site" in imported.stderr
    # The import's evidence joined the scanned device instead of starting another one.
    shown = json.loads(cli("show", named[0], "--json").stdout)
    assert {"scan", "import"} <= {o["source"] for o in shown["observations"]}
    assert shown["attribution"]["maker"] == lab.truth[named[0]]["maker"]
    # The report counts each device once: 7 hosts, not 13.
    report = tmp_path / "report.md"
    assert cli("report", "--format", "md", "--out", str(report)).returncode == 0
    assert "- **7** hosts found" in report.read_text()


def _register(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text("IP,Make,Location\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    return path


REGISTER_MAP = "ip=IP,brand=Make,site=Location"


def _sites(cli: Cli) -> list[tuple[str, str]]:
    devices = cli.json("devices", "--json")
    assert isinstance(devices, list)
    return sorted((d["site"], d["ip"]) for d in devices)


def test_register_site_column_is_honoured(cli: Cli, tmp_path: Path) -> None:
    register = _register(
        tmp_path / "assets.csv",
        [
            ("10.0.0.5", "Hikvision", "depot"),
            ("10.0.0.5", "Axis", "hq"),  # the same address at another site: another device
            ("10.0.0.6", "Axis", "hq"),
            ("10.0.0.7", "Bosch", ""),  # no site in the register
        ],
    )
    first = cli("import", "csv", str(register), "--map", REGISTER_MAP, "--site", "north")
    assert first.returncode == 0, first.stderr
    assert "4 hosts recorded (new site depot: 1; new site hq: 2; new site north: 1)" in (
        first.stderr
    )
    assert _sites(cli) == [
        ("depot", "10.0.0.5"),
        ("hq", "10.0.0.5"),
        ("hq", "10.0.0.6"),
        ("north", "10.0.0.7"),
    ]
    listed = cli.json("devices", "--json")
    assert isinstance(listed, list)
    by_site = {(d["site"], d["ip"]): d for d in listed}
    assert by_site[("depot", "10.0.0.5")]["brand"] == "Hikvision"
    assert by_site[("hq", "10.0.0.5")]["brand"] == "Axis"
    # Imported again without --site: the site-less row finds its device in north; no duplicate.
    again = cli("import", "csv", str(register), "--map", REGISTER_MAP)
    assert again.returncode == 0, again.stderr
    assert "known in no site" not in again.stderr and "new site" not in again.stderr
    assert len(_sites(cli)) == 4


def test_an_address_held_in_several_sites_needs_site(cli: Cli, tmp_path: Path) -> None:
    register = _register(
        tmp_path / "assets.csv", [("10.0.0.5", "Hikvision", "depot"), ("10.0.0.5", "Axis", "hq")]
    )
    assert cli("import", "csv", str(register), "--map", REGISTER_MAP).returncode == 0
    runs = cli.json("runs", "--json")
    ambiguous = _register(
        tmp_path / "more.csv", [("10.0.0.5", "Dahua", ""), ("10.0.0.8", "Axis", "")]
    )
    refused = cli("import", "csv", str(ambiguous), "--map", REGISTER_MAP)
    assert refused.returncode == 2
    assert "10.0.0.5 in depot, hq" in refused.stderr and "give --site" in refused.stderr
    assert cli.json("runs", "--json") == runs  # nothing written
    chosen = cli("import", "csv", str(ambiguous), "--map", REGISTER_MAP, "--site", "hq")
    assert chosen.returncode == 0, chosen.stderr
    assert _sites(cli) == [("depot", "10.0.0.5"), ("hq", "10.0.0.5"), ("hq", "10.0.0.8")]


@pytest.fixture
def two_sites(cli: Cli, tmp_path: Path) -> Cli:
    """An inventory of two sites from recorded nmap files (no lab needed)."""
    for name, site in (("lan_scan.xml", "hq"), ("camera_estate.xml", "depot")):
        result = cli("import", "nmap", str(ASSETS / name), "--site", site)
        assert result.returncode == 0, result.stderr
    return cli


@pytest.mark.parametrize(
    "command",
    [
        ("devices", "--site", "nosuch"),
        ("devices", "--json", "--site", "nosuch"),
        ("show", "192.0.2.10", "--site", "nosuch"),
        ("audit", "--site", "nosuch", "--fail-on", "low"),
        ("report", "--site", "nosuch", "--format", "md", "--out", "OUT"),
        ("report", "--site", "nosuch", "--format", "json", "--out", "OUT"),
        ("diff", "--site", "nosuch"),
        ("runs", "--site", "nosuch"),
    ],
)
def test_unknown_site_is_an_error_naming_the_known_sites(
    two_sites: Cli, tmp_path: Path, command: tuple[str, ...]
) -> None:
    out = tmp_path / "report.out"
    result = two_sites(*(str(out) if part == "OUT" else part for part in command))
    assert result.returncode == 2, result.stdout + result.stderr
    error = result.stderr.strip().splitlines()
    assert len(error) == 1
    assert "no site 'nosuch'" in error[0] and "known sites: 'depot', 'hq'" in error[0]
    assert result.stdout == "" and not out.exists()


def test_unknown_site_in_an_empty_inventory_says_so(cli: Cli) -> None:
    result = cli("devices", "--site", "hq")
    assert result.returncode == 2 and "known sites: none yet" in result.stderr


def _schema() -> dict[str, object]:
    text = (resources.files("coverwatch.report") / "report.schema.json").read_text("utf-8")
    schema: dict[str, object] = json.loads(text)
    return schema


@pytest.mark.parametrize("site", ["hq", None])
def test_every_report_states_its_site_filter(
    two_sites: Cli, tmp_path: Path, site: str | None
) -> None:
    scope = ["--site", site] if site else []
    paths = {}
    for fmt in ("md", "html", "json", "csv"):
        paths[fmt] = tmp_path / f"report.{fmt}"
        result = two_sites("report", "--format", fmt, "--out", str(paths[fmt]), *scope)
        assert result.returncode == 0, result.stderr
    stated = f"site {site}" if site else "all sites"
    md_byline = paths["md"].read_text().splitlines()[2]
    assert md_byline.startswith("_Generated") and f"for {stated}" in md_byline
    html = paths["html"].read_text()
    header = html[html.index('<header class="top">') : html.index("</header>")]
    assert f"covers {stated}" in header
    document = json.loads(paths["json"].read_text())
    jsonschema.validate(document, _schema())
    assert document["filters"] == {"site": site}
    assert {d["site"] for d in document["devices"]} == ({site} if site else {"hq", "depot"})
    # CSV has no header beyond its column row; each finding row names its site instead.
    rows = paths["csv"].read_text().splitlines()
    assert rows[0].startswith("site,ip,rule")
    assert all(r.split(",")[0] == site for r in rows[1:]) if site else len(rows) > 1

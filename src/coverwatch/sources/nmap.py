"""nmap XML import (``nmap -oX``): open ports, service versions, MAC addresses, host names.

Reads the XML nmap writes with ``-oX`` (format: the nmap DTD, https://nmap.org/book/nmap-dtd.html,
and "Output Formats: XML" https://nmap.org/book/output-formats-xml-output.html), with or without
``-sV``. Per host: ``tcp.port`` for every open TCP port; ``nmap.service``, ``nmap.product``,
``nmap.version``, ``nmap.extrainfo`` from ``<service>``; ``mac`` (normalised) and
``nmap.mac_vendor`` from a LAN scan's ``<address addrtype="mac" vendor=...>``; ``nmap.hostname``;
and the ``http-server-header`` / ``http-title`` script output as ``http.server`` /
``http.title``. Parsed streaming with defusedxml: nmap's own ``<!DOCTYPE nmaprun>`` is
accepted, entity declarations and external references are refused.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from coverwatch.errors import InputError
from coverwatch.identify.engine import normalise_mac
from coverwatch.models import Observation, ObsStatus, SourceKind
from coverwatch.observer import Observer
from coverwatch.probes.http import clean_text
from coverwatch.sources.imports import BadRow, ImportResult, file_head, skip, sniff
from coverwatch.sources.interface import Source

logger = logging.getLogger(__name__)

_MAX_VALUE = 256
#: ``<service>`` attribute -> signal key.
SERVICE_SIGNALS = {
    "name": "nmap.service",
    "product": "nmap.product",
    "version": "nmap.version",
    "extrainfo": "nmap.extrainfo",
}
#: NSE script id -> the signal key the active scan uses for the same fact.
SCRIPT_SIGNALS = {"http-server-header": "http.server", "http-title": "http.title"}
# NOTE: http-title says this when a page has no <title>; it is not the device's title.
_NO_TITLE = ("Site doesn't have a title", "Did not follow redirect")


def _when(element: Element, fallback: datetime | None) -> datetime | None:
    raw = element.get("starttime") or element.get("start")
    try:
        return datetime.fromtimestamp(int(raw), UTC) if raw else fallback
    except (ValueError, OverflowError, OSError):
        return fallback


def _script(script: Element) -> str | None:
    key = SCRIPT_SIGNALS.get(script.get("id", ""))
    if key is None:
        return None
    output = script.get("output", "")
    if key == "http.title":
        titled = next((e.text for e in script.iter("elem") if e.get("key") == "title"), None)
        if titled:
            output = titled
        elif output.startswith(_NO_TITLE):
            return None
    return clean_text(output, _MAX_VALUE) or None


def _port_signals(port: Element) -> dict[str, str]:
    state = port.find("state")
    if port.get("protocol") != "tcp" or state is None or state.get("state") != "open":
        return {}
    facts = {"tcp.port": str(int(port.get("portid", "")))}
    service = port.find("service")
    if service is not None:
        for attribute, key in SERVICE_SIGNALS.items():
            value = clean_text(service.get(attribute, ""), _MAX_VALUE)
            if value:
                facts[key] = value
    for script in port.iter("script"):
        output = _script(script)
        if output:
            facts[SCRIPT_SIGNALS[script.get("id", "")]] = output
    return facts


def host_observations(host: Element, started: datetime | None) -> tuple[str, list[Observation]]:
    """The address and observations of one ``<host>``; ValueError says what is unusable."""
    status = host.find("status")
    if status is not None and status.get("state") not in (None, "up"):
        return "", []
    ip = next(
        (a.get("addr", "") for a in host.iter("address") if a.get("addrtype") in ("ipv4", "ipv6")),
        "",
    )
    if not ip:
        raise ValueError("no IPv4 or IPv6 address")
    at = _when(host, started)

    def obs(signal: str, value: str, port: int | None = None) -> Observation:
        return Observation(ip, signal, value, port, "nmap", ObsStatus.OK, SourceKind.IMPORT, at)

    found: list[Observation] = []
    for address in host.iter("address"):
        if address.get("addrtype") == "mac":
            mac = normalise_mac(address.get("addr", ""))
            if mac is None:
                raise ValueError(f"MAC {clean_text(address.get('addr', ''), 40)!r} is not valid")
            found.append(obs("mac", mac))
            vendor = clean_text(address.get("vendor", ""), _MAX_VALUE)
            if vendor:
                found.append(obs("nmap.mac_vendor", vendor))
    for name in host.iter("hostname"):
        value = clean_text(name.get("name", ""), _MAX_VALUE)
        if value:
            found.append(obs("nmap.hostname", value))
    for port in host.iter("port"):
        try:
            facts = _port_signals(port)
        except ValueError as e:
            raise ValueError(
                f"port {clean_text(port.get('portid', ''), 12)!r} is not a number"
            ) from e
        number = int(facts["tcp.port"]) if facts else None
        found += [obs(key, value, number) for key, value in facts.items()]
    return ip, found


def read_nmap(path: str | Path) -> ImportResult:
    """Observations per host from an nmap ``-oX`` file; bad hosts are skipped and listed.

    Raises InputError when the file is not nmap XML (or refuses safe parsing at the start).
    A file cut short (nmap interrupted) keeps the hosts read before the break, with a note.
    """
    label = str(path)
    kind = sniff(file_head(path))
    if kind != "xml":
        raise InputError(f"{label}: not nmap XML output (expected a file written by nmap -oX)")
    hosts: dict[str, list[Observation]] = {}
    bad: list[BadRow] = []
    notes: list[str] = []
    count = 0
    started: datetime | None = None
    root_seen = False
    try:
        events = SafeET.iterparse(
            str(path), events=("start", "end"), forbid_dtd=False, forbid_entities=True
        )
        for event, element in events:
            if not root_seen:
                if element.tag != "nmaprun":
                    raise InputError(f"{label}: not nmap XML output (root is not <nmaprun>)")
                root_seen = True
                started = _when(element, None)
                continue
            if event != "end" or element.tag != "host":
                continue
            count += 1
            try:
                ip, observations = host_observations(element, started)
            except ValueError as e:
                skip(bad, BadRow(label, count, str(e), "host"))
            else:
                if ip:
                    hosts.setdefault(ip, []).extend(observations)
            element.clear()  # keep memory flat on a big scan
    except DefusedXmlException as e:
        raise InputError(f"{label}: refused unsafe XML ({e.__class__.__name__})") from e
    except ParseError as e:
        if not root_seen:
            raise InputError(f"{label}: not well-formed XML ({e})") from e
        notes.append(f"{label}: XML ends early or is malformed ({e}); kept {len(hosts)} host(s)")
        logger.warning("%s", notes[-1])
    except OSError as e:
        raise InputError(f"cannot read {label}: {e.strerror or e}") from e
    return ImportResult(hosts, tuple(bad), count, tuple(notes))


class NmapSource(Source):
    """An nmap ``-oX`` file as a source; ``result`` keeps the bad hosts and notes after collect."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self.result = ImportResult({})

    def collect(self, observer: Observer) -> dict[str, list[Observation]]:
        """Read the file; hosts that were down or had no open port and no MAC are left out."""
        observer.stage("import", 1)
        self.result = read_nmap(self.path)
        observer.advance()
        observer.done()
        return {ip: obs for ip, obs in self.result.observations.items() if obs}

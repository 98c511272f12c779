"""Alert formats: RFC 5424 syslog lines (plain, CEF or JSON payload) and webhook body shapes.

Pure functions from events to bytes; the sinks (``sinks.py``) move the bytes. Every shape is
built from the one event document (``Event.to_json``, ``event.schema.json``).

- Syslog: RFC 5424 (https://www.rfc-editor.org/rfc/rfc5424) ``<PRI>1 TIMESTAMP HOSTNAME
  APP-NAME PROCID MSGID [origin ...] MSG``; MSGID is the event kind, the structured data is the
  registered ``origin`` SD-ID (section 7.2), MSG is sent as MSG-ANY without a BOM.
- CEF: "Micro Focus Security ArcSight Common Event Format, Implementation Standard" (version
  25): ``CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|Extension``; ``\\`` and ``|``
  are escaped in the header, ``\\``, ``=`` and line breaks in extension values; extension keys
  from the standard's dictionary (``rt``, ``src``, ``dst``, ``dpt``, ``dhost``, ``msg``,
  ``cat``, ``externalId``, ``csN``/``csNLabel``).
- Splunk HTTP Event Collector: several ``{"time", "host", "source", "sourcetype", "event"}``
  objects in one body ("Format events for HTTP Event Collector", docs.splunk.com); the token
  goes in an ``Authorization: Splunk <token>`` header, given with ``--webhook-header``.
- Slack incoming webhooks: ``{"text": ...}`` with ``&``, ``<``, ``>`` escaped as Slack asks
  ("Formatting text for app surfaces", api.slack.com), so no device string can mention
  ``<!channel>`` or forge a link.
- Microsoft Teams (Workflows "post to a channel when a webhook request is received"): a
  ``message`` with one Adaptive Card attachment (learn.microsoft.com, "Create incoming
  webhooks with Workflows for Microsoft Teams"; Adaptive Card schema 1.4).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
from collections.abc import Callable
from typing import assert_never

from coverwatch import __version__
from coverwatch.monitor.events import Event
from coverwatch.monitor.options import SyslogFormat, WebhookShape

#: syslog severity (RFC 5424 table 2) per event severity.
_SYSLOG_SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5, "info": 6}
#: CEF severity (0-10) per event severity.
_CEF_SEVERITY = {"critical": 10, "high": 8, "medium": 5, "low": 3, "info": 1}
FACILITY_USER = 1


def _ascii_token(text: str, limit: int) -> str:
    """RFC 5424 header fields are PRINTUSASCII (33-126) without spaces, or ``-``."""
    token = "".join(c for c in text if 33 <= ord(c) <= 126)[:limit]
    return token or "-"


def hostname() -> str:
    """This machine's name as a syslog HOSTNAME field."""
    return _ascii_token(socket.gethostname(), 255)


def _sd_value(text: str) -> str:
    return re.sub(r'(["\\\]])', r"\\\1", text)


def syslog_line(
    event: Event, payload: SyslogFormat, host: str, facility: int = FACILITY_USER
) -> bytes:
    """One RFC 5424 message (without transport framing)."""
    pri = facility * 8 + _SYSLOG_SEVERITY[event.severity]
    stamp = event.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    origin = f'[origin software="coverwatch" swVersion="{_sd_value(__version__)}"]'
    header = (
        f"<{pri}>1 {stamp} {_ascii_token(host, 255)} coverwatch {os.getpid()} "
        f"{_ascii_token(event.kind.value, 32)} {origin} "
    )
    return (header + _payload(event, payload)).encode("utf-8")


def _payload(event: Event, payload: SyslogFormat) -> str:
    match payload:
        case SyslogFormat.PLAIN:
            return " ".join(f"{event.site} {event.summary}".split())
        case SyslogFormat.CEF:
            return cef(event)
        case SyslogFormat.JSON:
            return json.dumps(event.to_json(), default=str, separators=(",", ":"))
        case _:
            assert_never(payload)


def _cef_header(text: str) -> str:
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split())


def _cef_value(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("=", "\\=")
    return escaped.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")


def cef(event: Event) -> str:
    """The event as one CEF:0 record."""
    name = event.kind.value.replace("-", " ")
    fields: list[tuple[str, str]] = [
        ("rt", str(int(event.at.timestamp() * 1000))),
        *_address("src", "c6a2", "Source IPv6 Address", event.ip),
        ("cat", event.kind.value),
        ("externalId", event.id),
        ("msg", event.summary),
        ("cs1Label", "site"),
        ("cs1", event.site),
    ]
    details = event.details
    if isinstance(details.get("rule"), str):
        fields += [("cs2Label", "rule"), ("cs2", str(details["rule"]))]
    if isinstance(details.get("remote_ip"), str):
        fields += _address("dst", "c6a3", "Destination IPv6 Address", str(details["remote_ip"]))
        if details.get("dns_name"):
            fields.append(("dhost", str(details["dns_name"])))
        if isinstance(details.get("port"), int):
            fields.append(("dpt", str(details["port"])))
    header = "|".join(
        _cef_header(part)
        for part in ("CEF:0", "coverwatch", "coverwatch", __version__, event.kind.value, name)
    )
    extension = " ".join(f"{key}={_cef_value(value)}" for key, value in fields if value)
    return f"{header}|{_CEF_SEVERITY[event.severity]}|{extension}"


def _address(v4_key: str, v6_key: str, v6_label: str, text: str) -> list[tuple[str, str]]:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return []
    if address.version == 4:
        return [(v4_key, str(address))]
    return [(f"{v6_key}Label", v6_label), (v6_key, str(address))]


def webhook_body(shape: WebhookShape, events: list[Event], subject: str) -> tuple[bytes, str]:
    """(body, content type) of one webhook POST."""
    documents = [e.to_json() for e in events]
    match shape:
        case WebhookShape.COVERWATCH:
            body: object = {"schema_version": 1, "subject": subject, "events": documents}
        case WebhookShape.SPLUNK_HEC:
            host = hostname()
            lines = [
                json.dumps(
                    {
                        "time": round(e.at.timestamp(), 3),
                        "host": host,
                        "source": "coverwatch",
                        "sourcetype": "_json",
                        "event": d,
                    },
                    default=str,
                )
                for e, d in zip(events, documents, strict=True)
            ]
            return "\n".join(lines).encode("utf-8"), "application/json"
        case WebhookShape.SLACK:
            body = {"text": "\n".join([f"*{_slack(subject)}*", *_lines(events, _slack)])}
        case WebhookShape.TEAMS:
            body = _teams(events, subject)
        case _:
            assert_never(shape)
    return json.dumps(body, default=str).encode("utf-8"), "application/json"


def _lines(events: list[Event], escape: Callable[[str], str]) -> list[str]:
    return [f"• [{e.severity}] {escape(e.site)}: {escape(e.summary)}" for e in events]


def _slack(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _markdown(text: str) -> str:
    """Adaptive Card TextBlocks render a Markdown subset: device text is escaped out of it."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!<>~|])", r"\\\1", text)


def _teams(events: list[Event], subject: str) -> dict[str, object]:
    blocks: list[dict[str, object]] = [
        {"type": "TextBlock", "text": _markdown(subject), "weight": "Bolder", "wrap": True}
    ]
    blocks += [
        {"type": "TextBlock", "text": line, "wrap": True} for line in _lines(events, _markdown)
    ]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": blocks,
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }

"""SIEM outputs: one versioned event document; RFC 5424 syslog (plain, CEF, JSON) over UDP, TCP
and TLS; webhook shapes for Splunk HEC, Slack and Teams with custom headers; SMTP with STARTTLS,
implicit TLS and authentication. Every receiver is real and on loopback; the syslog and CEF
lines are read by third-party parsers (syslog-rfc5424-parser, pycef)."""

from __future__ import annotations

import email
import email.policy
import json
import re
import socket
import ssl
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pycef  # type: ignore[import-untyped]
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from syslog_rfc5424_parser import SyslogMessage  # type: ignore[import-untyped]

from coverwatch.errors import InputError
from coverwatch.monitor.events import SCHEMA_VERSION, Event, EventKind, event_schema
from coverwatch.monitor.formats import hostname
from coverwatch.monitor.options import (
    SmtpSecurity,
    SyslogFormat,
    SyslogTransport,
    WebhookShape,
)
from coverwatch.monitor.sinks import (
    EmailSink,
    SyslogSink,
    WebhookSink,
    parse_header,
    parse_syslog_target,
)
from tests.conftest import free_port
from tests.monitor.conftest import Mailbox, Syslog, Webhook, self_signed, server_context

AT = datetime(2026, 1, 5, 9, 30, 15, 250000, tzinfo=UTC)
EVENTS = [
    Event(
        EventKind.NEW_COVERED_DEVICE,
        "hq",
        "10.1.20.7",
        "new device 10.1.20.7: Hikvision DS-2CD2143G2-I, made by Hangzhou Hikvision",
        {"device": {"ip": "10.1.20.7", "maker": "Hikvision"}},
        AT,
    ),
    Event(
        EventKind.NEW_FINDING,
        "roof|east",
        "10.1.20.8",
        "[critical] 10.1.20.8: title=a|b \\ c <!channel> [x](http://evil.example)\nnext",
        {"rule": "uk-sensitive-site", "severity": "critical", "detail": "d"},
        AT,
    ),
    Event(
        EventKind.NEW_EGRESS_DESTINATION,
        "hq",
        "fd00::7",
        "fd00::7 now sends to litedev.hik-connect.com (tcp/443, vendor cloud)",
        {"remote_ip": "203.0.113.10", "dns_name": "litedev.hik-connect.com", "port": 443},
        AT,
    ),
]
SCHEMA = json.loads(event_schema())


def _valid(document: object) -> None:
    jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(document)


def test_event_document_is_versioned_and_matches_its_schema() -> None:
    assert SCHEMA["properties"]["kind"]["enum"] == [k.value for k in EventKind]
    for event in EVENTS:
        document = event.to_json()
        _valid(document)
        assert document["schema_version"] == SCHEMA_VERSION == 2
    assert [e.to_json()["severity"] for e in EVENTS] == ["high", "critical", "medium"]
    again = Event(EVENTS[0].kind, "hq", "10.1.20.7", EVENTS[0].summary, {}, AT)
    assert again.id == EVENTS[0].id != EVENTS[1].id  # same change, same id


def _cef_unescape(value: str) -> str:
    """Extension value escapes of the CEF standard: backslash, equals sign, line breaks."""
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m[1], m[1]), value)


def _wait(predicate: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.parametrize("payload", list(SyslogFormat))
def test_syslog_udp_is_rfc5424(syslog: Syslog, payload: SyslogFormat) -> None:
    sink = SyslogSink("127.0.0.1", syslog.port, payload)
    assert sink.send(EVENTS, "test") is None
    _wait(lambda: len(syslog.lines) == len(EVENTS))
    assert len(syslog.lines) == len(EVENTS)
    for line, event in zip(syslog.lines, EVENTS, strict=True):
        assert "\x00" not in line and "\n" not in line
        parsed = SyslogMessage.parse(line).as_dict()
        assert parsed["version"] == 1 and parsed["appname"] == "coverwatch"
        assert parsed["hostname"] == hostname() != "-"
        assert parsed["timestamp"] == "2026-01-05T09:30:15.250000Z"
        assert parsed["msgid"] == event.kind.value and parsed["facility"] == "user"
        assert (
            parsed["severity"]
            == {"high": "err", "critical": "crit", "medium": "warning"}[event.severity]
        )
        assert parsed["sd"]["origin"]["software"] == "coverwatch"
        message = parsed["msg"]
        if payload is SyslogFormat.JSON:
            document = json.loads(message)
            _valid(document)
            assert document == json.loads(json.dumps(event.to_json()))
        elif payload is SyslogFormat.CEF:
            cef = pycef.parse(message)
            assert cef["CEFVersion"] == "0" and cef["DeviceVendor"] == "coverwatch"
            assert cef["DeviceEventClassID"] == event.kind.value
            assert int(cef["Severity"]) == {"high": 8, "critical": 10, "medium": 5}[event.severity]
            assert _cef_unescape(cef["msg"]) == event.summary
            assert _cef_unescape(cef["site"]) == event.site  # cs1 under its label
            assert int(cef["rt"]) == int(AT.timestamp() * 1000)
            assert cef["externalId"] == event.id
        else:
            assert message == " ".join(f"{event.site} {event.summary}".split())
    if payload is SyslogFormat.CEF:
        egress = pycef.parse(SyslogMessage.parse(syslog.lines[2]).as_dict()["msg"])
        assert egress["dst"] == "203.0.113.10" and egress["dpt"] == "443"
        assert egress["dhost"] == "litedev.hik-connect.com"
        assert egress["Source IPv6 Address"] == "fd00::7"  # c6a2 under its label


class _StreamReceiver:
    """A TCP (optionally TLS) syslog receiver reading RFC 6587 octet-counted frames."""

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.context = context
        self.frames: list[bytes] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.listener.settimeout(10)
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        try:
            if self.context is not None:
                conn = self.context.wrap_socket(conn, server_side=True)
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
        except (OSError, ssl.SSLError):
            return
        finally:
            conn.close()
        while data:
            length, _, rest = data.partition(b" ")
            self.frames.append(rest[: int(length)])
            data = rest[int(length) :]

    def close(self) -> None:
        self.thread.join(10)
        self.listener.close()


def test_syslog_over_tcp_uses_octet_counting() -> None:
    receiver = _StreamReceiver()
    sink = SyslogSink("127.0.0.1", receiver.port, SyslogFormat.JSON, SyslogTransport.TCP)
    assert sink.send(EVENTS, "t") is None
    receiver.close()
    messages = [SyslogMessage.parse(f.decode()).as_dict()["msg"] for f in receiver.frames]
    assert [json.loads(m)["id"] for m in messages] == [e.id for e in EVENTS]


def test_syslog_over_tls_verifies_the_server(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    receiver = _StreamReceiver(server_context(cert, key))
    sink = SyslogSink(
        "127.0.0.1", receiver.port, SyslogFormat.CEF, SyslogTransport.TLS, ca_file=str(cert)
    )
    assert sink.send(EVENTS, "t") is None
    receiver.close()
    assert len(receiver.frames) == 3
    first = SyslogMessage.parse(receiver.frames[0].decode()).as_dict()["msg"]
    assert pycef.parse(first)["src"] == "10.1.20.7"

    (tmp_path / "other").mkdir()
    stranger, _ = self_signed(tmp_path / "other")
    untrusted = _StreamReceiver(server_context(cert, key))
    error = SyslogSink(
        "127.0.0.1", untrusted.port, SyslogFormat.CEF, SyslogTransport.TLS, ca_file=str(stranger)
    ).send(EVENTS, "t")
    untrusted.close()
    assert error and "certificate verify failed" in error and untrusted.frames == []


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("siem.local", ("siem.local", 514, "udp")),
        ("siem.local:5140", ("siem.local", 5140, "udp")),
        ("tcp://10.0.0.2", ("10.0.0.2", 514, "tcp")),
        ("tls://siem.local", ("siem.local", 6514, "tls")),
        ("tls://[2001:db8::1]:6515", ("2001:db8::1", 6515, "tls")),
    ],
)
def test_syslog_targets(text: str, target: tuple[str, int, str]) -> None:
    parsed = parse_syslog_target(text)
    assert (parsed.host, parsed.port, parsed.transport.value) == target


@pytest.mark.parametrize("text", ["http://siem", "tls://host:99999", "tcp://a b"])
def test_bad_syslog_targets(text: str) -> None:
    with pytest.raises(InputError, match="--syslog"):
        parse_syslog_target(text)


def test_splunk_hec_webhook_reaches_a_receiver_with_its_token(webhook: Webhook) -> None:
    header = parse_header("Authorization: Splunk ${HEC_TOKEN}", {"HEC_TOKEN": "5ecr3t-t0ken"})
    sink = WebhookSink(webhook.url, headers=dict([header]), shape=WebhookShape.SPLUNK_HEC)
    assert sink.send(EVENTS, "coverwatch alert") is None
    ((headers, body),) = webhook.raw
    assert headers["Authorization"] == "Splunk 5ecr3t-t0ken"
    assert headers["Content-Type"] == "application/json"
    decoder, text, objects = json.JSONDecoder(), body.decode(), []
    position = 0
    while position < len(text):
        document, position = decoder.raw_decode(text, position)
        objects.append(document)
        position += len(text[position:]) - len(text[position:].lstrip())
    assert [o["event"]["id"] for o in objects] == [e.id for e in EVENTS]
    for hec in objects:
        _valid(hec["event"])
        assert hec["time"] == pytest.approx(AT.timestamp())
        assert hec["source"] == "coverwatch" and hec["sourcetype"] == "_json"


def test_slack_and_teams_shapes_escape_device_text(webhook: Webhook) -> None:
    assert WebhookSink(webhook.url, shape=WebhookShape.SLACK).send(EVENTS, "alert") is None
    assert WebhookSink(webhook.url, shape=WebhookShape.TEAMS).send(EVENTS, "alert") is None
    slack, teams = webhook.received
    assert set(slack) == {"text"}
    assert "&lt;!channel&gt;" in slack["text"] and "<!channel>" not in slack["text"]
    assert slack["text"].count("\n• ") == 3
    (attachment,) = teams["attachments"]
    assert teams["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    texts = [block["text"] for block in card["body"]]
    assert len(texts) == 4 and "[x](http" not in texts[2] and r"\[x\]\(http" in texts[2]


def test_webhook_header_values_come_from_the_environment_and_stay_secret() -> None:
    with pytest.raises(InputError, match="HEC_TOKEN unset") as caught:
        parse_header("Authorization: Splunk ${HEC_TOKEN}", {})
    assert "Splunk" not in str(caught.value)
    with pytest.raises(InputError, match="bad name"):
        parse_header("Bad Header: x", {})
    with pytest.raises(InputError, match="line break"):
        parse_header("X-Token: ${T}", {"T": "a\r\nInjected: 1"})


def _smtp_server(
    context: ssl.SSLContext, implicit: bool
) -> tuple[Controller, Mailbox, int, list[str]]:
    mailbox, port, logins = Mailbox(), free_port(), []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"soc", b"pw")
        if ok:
            logins.append(mechanism)
        return AuthResult(success=ok, handled=False)

    tls = {"ssl_context": context} if implicit else {"tls_context": context}
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        # NOTE: aiosmtpd counts only STARTTLS as TLS for auth_require_tls; implicit TLS is TLS
        auth_require_tls=not implicit,
        # NOTE: aiosmtpd's LOGIN does not answer smtplib's retry after a refused PLAIN
        auth_exclude_mechanism=["LOGIN"],
        require_starttls=not implicit,
        **tls,  # type: ignore[arg-type]
    )
    controller.start()
    return controller, mailbox, port, logins


@pytest.mark.parametrize("security", [SmtpSecurity.STARTTLS, SmtpSecurity.SSL])
def test_smtp_over_tls_with_authentication(tmp_path: Path, security: SmtpSecurity) -> None:
    cert, key = self_signed(tmp_path)
    controller, mailbox, port, logins = _smtp_server(
        server_context(cert, key), implicit=security is SmtpSecurity.SSL
    )
    try:

        def sink(password: str) -> EmailSink:
            return EmailSink(
                ["soc@example.org"],
                "127.0.0.1",
                port,
                security=security,
                username="soc",
                password=password,
                ca_file=str(cert),
                timeout=5,
            )

        assert sink("pw").send(EVENTS, "coverwatch: 3 changes") is None
        refused = sink("wrong").send(EVENTS, "x")
        assert refused and "authentication refused" in refused and "wrong" not in refused
    finally:
        controller.stop()
    (raw,) = mailbox.messages
    message = email.message_from_string(raw, policy=email.policy.default)
    assert logins and message["Subject"] == "coverwatch: 3 changes"
    body = message.get_body().get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert "\n- 2026-01-05 09:30 UTC  roof|east  [critical]" in body  # one line per event
    documents = json.loads(body[body.index("\n[\n") :])
    for document in documents:
        _valid(document)


def test_smtp_password_never_goes_in_clear() -> None:
    with pytest.raises(InputError, match="starttls or ssl"):
        EmailSink(["a@example.org"], "127.0.0.1", username="soc", password="pw")
    with pytest.raises(InputError, match="COVERWATCH_SMTP_PASSWORD"):
        EmailSink(["a@example.org"], "127.0.0.1", security=SmtpSecurity.SSL, username="soc")

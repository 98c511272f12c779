"""Alert sinks: webhook (POST, retried with backoff), syslog (UDP, TCP, TLS) and SMTP e-mail.

A sink never raises on a delivery failure: it reports it to the caller, so one broken sink
does not stop the others or the monitoring loop. What each sends is built in ``formats.py``
from the one versioned event document. Secrets (webhook header values, the SMTP password)
never appear in an error text.

Syslog transports: UDP (RFC 5426, one message per datagram), TCP (RFC 6587 octet counting:
``LEN SP MSG``) and TLS (RFC 5425, the same framing, port 6514 by default; the server's
certificate is verified against the system store or ``ca_file``).
"""

from __future__ import annotations

import json
import re
import smtplib
import socket
import ssl
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from email.message import EmailMessage
from enum import Enum
from typing import assert_never

import httpx

from coverwatch.errors import InputError
from coverwatch.monitor.events import Event
from coverwatch.monitor.formats import hostname, syslog_line, webhook_body
from coverwatch.monitor.options import (
    SmtpSecurity,
    SyslogFormat,
    SyslogTransport,
    WebhookShape,
)

#: Largest UDP syslog message sent whole (rsyslog's default maxMessageSize); a longer one is
#: sent without its details.
MAX_UDP_MESSAGE = 8192


class SinkKind(str, Enum):
    """Alert sink kinds."""

    WEBHOOK = "webhook"
    SYSLOG = "syslog"
    EMAIL = "email"


class AlertSink(ABC):
    """Delivers a batch of events somewhere; returns an error text, or None on success."""

    @abstractmethod
    def send(self, events: list[Event], subject: str) -> str | None:
        """Deliver ``events`` (one alert, or a digest)."""


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying client context: the system's trust store, or ``ca_file`` (PEM) instead."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as e:
        raise InputError(f"{ca_file}: not a readable CA bundle (PEM): {e}") from e


_HOST_PORT = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?|([A-Za-z0-9._-]+)(?::(\d{1,5}))?")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def parse_header(text: str, environ: dict[str, str]) -> tuple[str, str]:
    """``Name: value`` with ``${VAR}`` taken from the environment (so tokens stay out of the
    command line); InputError names the header, never its value."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not _HEADER_NAME.match(name):
        raise InputError(f"--webhook-header: expected 'Name: value', got a bad name {name!r:.40}")

    def expand(match: re.Match[str]) -> str:
        if match.group(1) not in environ:
            raise InputError(
                f"--webhook-header {name}: environment variable {match.group(1)} unset"
            )
        return environ[match.group(1)]

    value = _ENV.sub(expand, value.strip())
    if any(c in value for c in "\r\n\0"):
        raise InputError(f"--webhook-header {name}: the value holds a line break")
    return name, value


class WebhookSink(AlertSink):
    """POST the events in a chosen shape, with custom headers; retry with exponential backoff."""

    def __init__(
        self,
        url: str,
        attempts: int = 4,
        backoff: float = 0.5,
        timeout: float = 10.0,
        headers: dict[str, str] | None = None,
        shape: WebhookShape = WebhookShape.COVERWATCH,
        ca_file: str | None = None,
    ) -> None:
        self.url = url
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.shape = shape
        self.verify: ssl.SSLContext | bool = tls_context(ca_file) if ca_file else True

    def send(self, events: list[Event], subject: str) -> str | None:
        body, content_type = webhook_body(self.shape, events, subject)
        headers = {"Content-Type": content_type, **self.headers}
        error = "not sent"
        with httpx.Client(timeout=self.timeout, verify=self.verify) as client:
            for attempt in range(self.attempts):
                try:
                    reply = client.post(self.url, content=body, headers=headers)
                    if reply.status_code < 300:
                        return None
                    error = f"HTTP {reply.status_code}"
                    if reply.status_code < 500 and reply.status_code != 429:
                        break  # a client error will not go away by retrying
                except httpx.HTTPError as e:
                    error = e.__class__.__name__
                if attempt + 1 < self.attempts:
                    time.sleep(self.backoff * 2**attempt)
        return f"webhook {self.url}: {error}"


@dataclass(frozen=True)
class SyslogTarget:
    """Where syslog goes."""

    host: str
    port: int
    transport: SyslogTransport = SyslogTransport.UDP


def parse_syslog_target(text: str) -> SyslogTarget:
    """``HOST[:PORT]`` (UDP), or ``udp://``, ``tcp://``, ``tls://HOST[:PORT]``; ports default
    to 514 (UDP, TCP) and 6514 (TLS, RFC 5425)."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "udp", text
    try:
        transport = SyslogTransport(scheme.lower())
    except ValueError:
        raise InputError(f"--syslog {text!r:.60}: use udp://, tcp:// or tls://") from None
    default = 6514 if transport is SyslogTransport.TLS else 514
    match = re.fullmatch(
        r"\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?|([A-Za-z0-9._-]+)(?::(\d{1,5}))?", rest
    )
    if not match:
        raise InputError(f"--syslog {text!r:.60}: expected HOST or HOST:PORT")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4) or default)
    if not 0 < port < 65536:
        raise InputError(f"--syslog {text!r:.60}: port out of range")
    return SyslogTarget(host, port, transport)


class SyslogSink(AlertSink):
    """One RFC 5424 message per event, payload plain, CEF or JSON, over UDP, TCP or TLS."""

    def __init__(
        self,
        host: str,
        port: int = 514,
        payload: SyslogFormat = SyslogFormat.PLAIN,
        transport: SyslogTransport = SyslogTransport.UDP,
        ca_file: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.target = SyslogTarget(host, port, transport)
        self.payload = payload
        self.timeout = timeout
        self.context = tls_context(ca_file) if transport is SyslogTransport.TLS else None

    def messages(self, events: list[Event]) -> list[bytes]:
        """The messages ``send`` would send (unframed)."""
        host = hostname()
        lines = []
        for event in events:
            line = syslog_line(event, self.payload, host)
            if self.target.transport is SyslogTransport.UDP and len(line) > MAX_UDP_MESSAGE:
                short = replace(
                    event, details={"omitted": "too long for UDP; use tcp:// or tls://"}
                )
                line = syslog_line(short, self.payload, host)[:MAX_UDP_MESSAGE]
            lines.append(line)
        return lines

    def send(self, events: list[Event], subject: str) -> str | None:
        target = self.target
        lines = self.messages(events)
        try:
            match target.transport:
                case SyslogTransport.UDP:
                    family = socket.AF_INET6 if ":" in target.host else socket.AF_INET
                    with socket.socket(family, socket.SOCK_DGRAM) as sock:
                        for line in lines:
                            sock.sendto(line, (target.host, target.port))
                case SyslogTransport.TCP | SyslogTransport.TLS:
                    framed = b"".join(b"%d %s" % (len(line), line) for line in lines)
                    with socket.create_connection((target.host, target.port), self.timeout) as raw:
                        if self.context is None:
                            raw.sendall(framed)
                        else:
                            with self.context.wrap_socket(raw, server_hostname=target.host) as tls:
                                tls.sendall(framed)
                case _:
                    assert_never(target.transport)
        except (OSError, ssl.SSLError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            return f"syslog {target.transport.value}://{target.host}:{target.port}: {reason}"
        return None


class EmailSink(AlertSink):
    """One e-mail per alert (or digest), plain text with the event documents as JSON, through
    an SMTP relay: in clear, upgraded with STARTTLS (RFC 3207) or over implicit TLS (RFC 8314),
    with authentication when a user is given (only over TLS: a password never goes in clear).
    """

    def __init__(
        self,
        to: list[str],
        smtp_host: str,
        smtp_port: int = 25,
        sender: str = "coverwatch@localhost",
        timeout: float = 15.0,
        security: SmtpSecurity = SmtpSecurity.NONE,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
    ) -> None:
        if username and security is SmtpSecurity.NONE:
            raise InputError("--smtp-user needs --smtp-security starttls or ssl")
        if username and password is None:
            raise InputError("--smtp-user needs the password in COVERWATCH_SMTP_PASSWORD")
        self.to = to
        self.relay = (smtp_host, smtp_port)
        self.sender = sender
        self.timeout = timeout
        self.security = security
        self.login = (username, password or "") if username else None
        self.context = tls_context(ca_file) if security is not SmtpSecurity.NONE else None

    def message(self, events: list[Event], subject: str) -> EmailMessage:
        """The e-mail ``send`` sends."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message["Subject"] = subject
        # device text may hold line breaks: one event, one line
        lines = [
            re.sub(r"\s*[\r\n]+\s*", " ", f"- {e.at:%Y-%m-%d %H:%M} UTC  {e.site}  {e.summary}")
            for e in events
        ]
        message.set_content(
            f"{subject}\n\n"
            + "\n".join(lines)
            + "\n\n"
            + json.dumps([e.to_json() for e in events], indent=1, default=str)
        )
        return message

    def send(self, events: list[Event], subject: str) -> str | None:
        host, port = self.relay
        try:
            smtp: smtplib.SMTP
            if self.security is SmtpSecurity.SSL:
                smtp = smtplib.SMTP_SSL(host, port, timeout=self.timeout, context=self.context)
            else:
                smtp = smtplib.SMTP(host, port, timeout=self.timeout)
            with smtp:
                if self.security is SmtpSecurity.STARTTLS:
                    smtp.starttls(context=self.context)
                if self.login:
                    smtp.login(*self.login)
                smtp.send_message(self.message(events, subject))
        except smtplib.SMTPAuthenticationError as e:
            return f"e-mail via {host}:{port}: authentication refused ({e.smtp_code})"
        except (OSError, smtplib.SMTPException) as e:
            return f"e-mail via {host}:{port}: {e.__class__.__name__}: {e}"
        return None


SINKS: dict[SinkKind, type[AlertSink]] = {
    SinkKind.WEBHOOK: WebhookSink,
    SinkKind.SYSLOG: SyslogSink,
    SinkKind.EMAIL: EmailSink,
}

"""Alert sinks: webhook (JSON POST, retried with backoff), syslog, and e-mail over SMTP.

A sink never raises on a delivery failure: it reports it to the caller, so one broken sink
does not stop the others or the monitoring loop.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import smtplib
import time
from abc import ABC, abstractmethod
from email.message import EmailMessage
from enum import Enum

import httpx

from coverwatch.monitor.events import Event

logger = logging.getLogger(__name__)


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


class WebhookSink(AlertSink):
    """POST ``{"subject", "events": [...]}`` as JSON; retry with exponential backoff."""

    def __init__(
        self, url: str, attempts: int = 4, backoff: float = 0.5, timeout: float = 10.0
    ) -> None:
        self.url = url
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout

    def send(self, events: list[Event], subject: str) -> str | None:
        body = {"subject": subject, "events": [e.to_json() for e in events]}
        error = "not sent"
        for attempt in range(self.attempts):
            try:
                reply = httpx.post(self.url, json=body, timeout=self.timeout)
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


class SyslogSink(AlertSink):
    """One syslog line (RFC 3164 over UDP, facility user, warning level) per event."""

    def __init__(self, host: str, port: int = 514) -> None:
        self.address = (host, port)

    def send(self, events: list[Event], subject: str) -> str | None:
        handler = logging.handlers.SysLogHandler(address=self.address)
        try:
            for event in events:
                record = logging.LogRecord(
                    "coverwatch",
                    logging.WARNING,
                    __file__,
                    0,
                    f"coverwatch: {event.kind.value} {event.site} {event.summary}",
                    None,
                    None,
                )
                handler.emit(record)
        except OSError as e:
            return f"syslog {self.address[0]}:{self.address[1]}: {e.strerror}"
        finally:
            handler.close()
        return None


class EmailSink(AlertSink):
    """One e-mail per alert (or digest), plain text, through an SMTP relay."""

    def __init__(
        self,
        to: list[str],
        smtp_host: str,
        smtp_port: int = 25,
        sender: str = "coverwatch@localhost",
        timeout: float = 15.0,
    ) -> None:
        self.to = to
        self.relay = (smtp_host, smtp_port)
        self.sender = sender
        self.timeout = timeout

    def send(self, events: list[Event], subject: str) -> str | None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message["Subject"] = subject
        lines = [f"- {e.at:%Y-%m-%d %H:%M} UTC  {e.site}  {e.summary}" for e in events]
        message.set_content(
            f"{subject}\n\n"
            + "\n".join(lines)
            + "\n\n"
            + json.dumps([e.to_json() for e in events], indent=1, default=str)
        )
        try:
            with smtplib.SMTP(*self.relay, timeout=self.timeout) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as e:
            return f"e-mail via {self.relay[0]}:{self.relay[1]}: {e}"
        return None


SINKS: dict[SinkKind, type[AlertSink]] = {
    SinkKind.WEBHOOK: WebhookSink,
    SinkKind.SYSLOG: SyslogSink,
    SinkKind.EMAIL: EmailSink,
}

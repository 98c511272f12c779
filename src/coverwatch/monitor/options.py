"""The alert sinks' vocabularies (kept free of heavy imports: the CLI lists them as choices)."""

from __future__ import annotations

from enum import Enum


class SyslogFormat(str, Enum):
    """The MSG part of a syslog line."""

    PLAIN = "plain"
    CEF = "cef"
    JSON = "json"


class WebhookShape(str, Enum):
    """The body a webhook POSTs."""

    COVERWATCH = "coverwatch"
    SPLUNK_HEC = "splunk-hec"
    SLACK = "slack"
    TEAMS = "teams"


class SyslogTransport(str, Enum):
    """How syslog messages travel."""

    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


class SmtpSecurity(str, Enum):
    """How the SMTP connection is protected."""

    NONE = "none"
    STARTTLS = "starttls"
    SSL = "ssl"

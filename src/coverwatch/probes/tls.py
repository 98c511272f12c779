"""TLS certificate facts: subject, issuer and whether the certificate is self-signed."""

from __future__ import annotations

from coverwatch.probes.http import clean_text


def certificate_signals(der: bytes) -> dict[str, str]:
    """Signal keys from a DER certificate; empty when it cannot be parsed."""
    from cryptography import x509  # NOTE: loaded by the first certificate, not by every start

    try:
        cert = x509.load_der_x509_certificate(der)
        subject = cert.subject.rfc4514_string()
        issuer = cert.issuer.rfc4514_string()
    except (ValueError, TypeError):
        return {"tls.error": "unparsable certificate"}
    return {
        "tls.subject": clean_text(subject),
        "tls.issuer": clean_text(issuer),
        "tls.self_signed": "true" if cert.subject == cert.issuer else "false",
    }

"""TLS certificate facts: who a device's certificate names, and whether it signed itself."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from coverwatch.probes.tls import certificate_signals


def _name(**parts: str) -> x509.Name:
    oids = {
        "C": NameOID.COUNTRY_NAME,
        "O": NameOID.ORGANIZATION_NAME,
        "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "CN": NameOID.COMMON_NAME,
    }
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in parts.items()])


def make_certificate(
    subject: x509.Name,
    issuer: x509.Name | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """DER of a certificate for ``subject``, self-signed unless an issuer and its key are given."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(issuer_key or key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_self_signed_camera_certificate() -> None:
    der = make_certificate(_name(C="CN", O="Hikvision", CN="IPC"))
    assert certificate_signals(der) == {
        "tls.subject": "CN=IPC,O=Hikvision,C=CN",
        "tls.issuer": "CN=IPC,O=Hikvision,C=CN",
        "tls.self_signed": "true",
    }


def test_ca_signed_certificate() -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _name(O="Example Corp", CN="Example Root CA")
    der = make_certificate(
        _name(O="Example Corp", OU="Cameras", CN="cam01.example"), issuer=ca, issuer_key=ca_key
    )
    assert certificate_signals(der) == {
        "tls.subject": "CN=cam01.example,OU=Cameras,O=Example Corp",
        "tls.issuer": "CN=Example Root CA,O=Example Corp",
        "tls.self_signed": "false",
    }


def test_hostile_subject_is_one_clean_bounded_line() -> None:
    der = make_certificate(_name(O="Evil\x1b[2J\nCorp" + "X" * 60, CN="c" * 64))
    found = certificate_signals(der)
    for key in ("tls.subject", "tls.issuer"):
        assert all(ch.isprintable() for ch in found[key]), found[key]
        assert len(found[key]) <= 512
    assert "Evil" in found["tls.subject"]


def _pem_text() -> bytes:
    der = make_certificate(_name(CN="pem"))
    cert = x509.load_der_x509_certificate(der)
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(
    "der",
    [
        b"",
        b"\x00" * 16,
        random.Random(7).randbytes(512),
        b"HTTP/1.1 400 Bad Request\r\n\r\n",
        pytest.param(make_certificate(_name(CN="cut"))[:100], id="truncated-der"),
        pytest.param(_pem_text(), id="pem-not-der"),
    ],
)
def test_garbage_bytes_give_an_error_signal_not_an_exception(der: bytes) -> None:
    assert certificate_signals(der) == {"tls.error": "unparsable certificate"}

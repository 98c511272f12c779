"""Authenticated enrichment against the session lab: ISAPI, magicBox and ONVIF with credentials."""

from __future__ import annotations

import pytest

from coverwatch import eventloop
from coverwatch.credentials import Credential, CredentialStore
from coverwatch.identify import identify_host
from coverwatch.lab.profiles import load_profiles
from coverwatch.lab.runner import LabProcess
from coverwatch.models import Observation, ObsStatus
from coverwatch.observer import NULL_OBSERVER
from coverwatch.probes import dahua_api, isapi
from coverwatch.probes.transport import http_get_digest
from coverwatch.sources.active import ActiveScanSource, ScanOptions

_PORTS = (80, 443, 554, 8000, 37777)


def _with_api(lab: LabProcess, api_path: str) -> dict[str, dict[str, object]]:
    """Session-lab hosts whose profile serves ``api_path`` behind digest auth."""
    profiles = load_profiles()
    return {
        ip: truth
        for ip, truth in lab.truth.items()
        if any(
            route.auth == "digest" and path.startswith(api_path)
            for service in profiles[str(truth["profile"])].services
            for path, route in service.routes.items()
        )
    }


@pytest.fixture(scope="module")
def hikvision_hosts(lab: LabProcess) -> dict[str, dict[str, object]]:
    return _with_api(lab, isapi.DEVICE_INFO_PATH)


@pytest.fixture(scope="module")
def dahua_hosts(lab: LabProcess) -> dict[str, dict[str, object]]:
    return _with_api(lab, "/cgi-bin/magicBox.cgi")


def _scan(hosts: list[str], credentials: CredentialStore) -> dict[str, list[Observation]]:
    options = ScanOptions(ports=_PORTS, credentials=credentials, timeout=3.0)
    return ActiveScanSource(hosts, options).collect(NULL_OBSERVER)


@pytest.fixture(scope="module")
def enriched(
    hikvision_hosts: dict[str, dict[str, object]],
    dahua_hosts: dict[str, dict[str, object]],
    lab_credentials: CredentialStore,
) -> dict[str, list[Observation]]:
    return _scan([*hikvision_hosts, *dahua_hosts], lab_credentials)


def _values(observations: list[Observation]) -> dict[str, str]:
    return {o.signal: o.value for o in observations if o.status is ObsStatus.OK}


def test_every_firmware_family_profile_is_in_the_session_lab(
    hikvision_hosts: dict[str, dict[str, object]], dahua_hosts: dict[str, dict[str, object]]
) -> None:
    hik = {t["profile"] for t in hikvision_hosts.values()}
    dah = {t["profile"] for t in dahua_hosts.values()}
    assert hik == {"hikvision-ipc", "hikvision-ipc-legacy", "hikvision-nvr", "lts-ipc", "annke-ipc"}
    assert dah == {"dahua-ipc", "dahua-nvr", "amcrest-ipc", "lorex-nvr"}


def test_isapi_gives_exact_model_firmware_serial_and_mac(
    hikvision_hosts: dict[str, dict[str, object]], enriched: dict[str, list[Observation]]
) -> None:
    for ip, truth in hikvision_hosts.items():
        values = _values(enriched[ip])
        where = f"{ip} ({truth['profile']})"
        assert values["isapi.model"] == truth["model"], where
        assert values["isapi.firmware"] == truth["firmware"], where
        assert values["isapi.serial"] == truth["serial"], where
        assert values["isapi.mac"] == truth["mac"] == values["mac"], where
        assert values["onvif.mac"] == truth["mac"], where
        assert "dahua.device_type" not in values, where
        attribution = identify_host(enriched[ip])
        assert attribution.maker == "Hikvision", where
        assert (attribution.model, attribution.firmware) == (truth["model"], truth["firmware"])
        assert any(e.matched == "fp:management-isapi-model" for e in attribution.evidence)


def test_magicbox_gives_exact_model_firmware_and_serial(
    dahua_hosts: dict[str, dict[str, object]], enriched: dict[str, list[Observation]]
) -> None:
    for ip, truth in dahua_hosts.items():
        values = _values(enriched[ip])
        where = f"{ip} ({truth['profile']})"
        assert values["dahua.device_type"] == truth["model"], where
        assert values["dahua.firmware"] == truth["firmware"], where
        assert values["dahua.serial"] == truth["serial"], where
        assert values["mac"] == truth["mac"], where  # from ONVIF GetNetworkInterfaces
        assert "isapi.model" not in values, where
        attribution = identify_host(enriched[ip])
        assert (attribution.maker, attribution.brand) == (truth["maker"], truth["brand"]), where
        assert (attribution.model, attribution.firmware) == (truth["model"], truth["firmware"])


def test_wrong_credentials_are_a_per_host_note_not_a_failure(
    lab: LabProcess,
    hikvision_hosts: dict[str, dict[str, object]],
    dahua_hosts: dict[str, dict[str, object]],
) -> None:
    hosts = [next(iter(hikvision_hosts)), next(iter(dahua_hosts))]
    wrong = CredentialStore(default=Credential("admin", "not-the-password"))
    found = _scan(hosts, wrong)
    for ip, api in zip(hosts, ("isapi", "dahua"), strict=True):
        notes = [o for o in found[ip] if o.signal == f"{api}.error"]
        assert len(notes) == 1, ip  # one failed login, never a retry
        assert notes[0].status is ObsStatus.ERROR
        assert "credentials rejected" in notes[0].value
        assert "not-the-password" not in repr(found[ip])
        values = _values(found[ip])
        assert not {"isapi.model", "dahua.serial", "onvif.model"} & set(values)
        # The rest of the scan still identifies the host from what it says unauthenticated.
        assert identify_host(found[ip]).maker == lab.truth[ip]["maker"]


def test_without_credentials_no_management_call_is_made(
    hikvision_hosts: dict[str, dict[str, object]],
) -> None:
    ip = next(iter(hikvision_hosts))
    found = _scan([ip], CredentialStore())
    assert not [o for o in found[ip] if o.protocol in ("isapi", "dahua")]


@pytest.mark.parametrize("password", ["not-the-password", ""])
def test_lab_rejects_wrong_credentials_with_401_and_the_realm(
    hikvision_hosts: dict[str, dict[str, object]],
    dahua_hosts: dict[str, dict[str, object]],
    password: str,
) -> None:
    for ip, path, realm in (
        (next(iter(hikvision_hosts)), isapi.DEVICE_INFO_PATH, 'realm="'),
        (next(iter(dahua_hosts)), dahua_api.SYSTEM_INFO_PATH, 'realm="Login to '),
    ):
        reply = eventloop.run(http_get_digest(ip, 80, path, "admin", password, 3.0))
        assert reply.status == 401, ip
        assert reply.headers["www-authenticate"].startswith("Digest ")
        assert realm in reply.headers["www-authenticate"]
        assert reply.body == b""


def test_lab_accepts_the_lab_credentials_over_https_too(
    hikvision_hosts: dict[str, dict[str, object]], lab_credentials: CredentialStore
) -> None:
    ip = next(iter(hikvision_hosts))
    credential = lab_credentials.for_host(ip)
    assert credential is not None
    reply = eventloop.run(
        http_get_digest(
            ip, 443, isapi.DEVICE_INFO_PATH, credential.username, credential.password, 3.0, True
        )
    )
    assert reply.status == 200
    assert isapi.parse_device_info(reply.body)["isapi.serial"] == hikvision_hosts[ip]["serial"]

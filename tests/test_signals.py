"""The signal vocabulary covers every key the probes and importers declare they emit."""

from __future__ import annotations

import pytest

from coverwatch.probes import banner, dahua_api, isapi, onvif, ssdp, wsdiscovery
from coverwatch.signals import SIGNALS, is_known

DECLARED = sorted(
    {
        *banner.BANNER_SIGNALS.values(),
        *dahua_api.SYSTEM_INFO_SIGNALS.values(),
        *isapi.DEVICE_INFO_SIGNALS.values(),
        *onvif.DEVICE_INFO_SIGNALS.values(),
        *ssdp.DESCRIPTION_SIGNALS.values(),
        *wsdiscovery.SCOPE_SIGNALS.values(),
    }
)


@pytest.mark.parametrize("key", DECLARED)
def test_every_declared_emitted_key_is_in_the_vocabulary(key: str) -> None:
    assert is_known(key), f"{key} is emitted but not declared in coverwatch/signals.py"


@pytest.mark.parametrize(
    ("key", "known"),
    [
        ("http.server", True),
        ("sadp.device_description", True),
        ("sadp.*", True),
        ("dhip.*", True),
        ("http.*", False),  # only open families take wildcards
        ("sadp.", False),
        ("http.servr", False),
    ],
)
def test_is_known(key: str, known: bool) -> None:
    assert is_known(key) is known


def test_every_signal_is_described() -> None:
    assert all(description.strip() for description in SIGNALS.values())

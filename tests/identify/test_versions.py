"""Firmware and model strings compared the way each maker writes them (issue #10 part 4)."""

from __future__ import annotations

from datetime import date

import pytest

from coverwatch.identify.versions import (
    FirmwareKey,
    firmware_changed,
    firmware_key,
    model_changed,
    same_firmware,
)


@pytest.mark.parametrize(
    ("maker", "a", "b"),
    [
        # The Hikvision case: ISAPI's spelling and a glued one.
        ("Hikvision", "V5.7.3 build 220112", "V5.7.3build 220112"),
        ("Hikvision", "V5.7.3 build 220112", "V5.7.3build220112"),
        ("Hikvision", "V5.7.3  build 220112", "v5.7.3 Build 220112"),
        # The Dahua case: the web API adds the build date, ONVIF leaves it out.
        ("Dahua", "V2.800.0000018.0.R, Build Date: 2021-07-07", "2.800.0000018.0.R"),
        (
            "Dahua",
            "V2.800.0000018.0.R, Build Date: 2021-07-07",
            "2.800.0000018.0.R,build:2021-07-07",
        ),
        # Dahua's HTTP API answer as public client code quotes it.
        ("Dahua", "version=2.800.0000016.0.R,build:2020-06-05", "V2.800.0000016.0.R"),
        (None, "1.2.3", " 1.2.3 "),
    ],
)
def test_spelling_is_not_a_change(maker: str | None, a: str, b: str) -> None:
    assert same_firmware(maker, a, b)
    assert not firmware_changed(maker, a, b)


@pytest.mark.parametrize(
    ("maker", "a", "b"),
    [
        ("Hikvision", "V5.7.3 build 220112", "V5.7.4 build 220112"),  # a new version
        ("Hikvision", "V5.7.3 build 220112", "V5.7.3 build 230301"),  # a new build
        (
            "Dahua",
            "2.800.0000018.0.R, Build Date: 2021-07-07",
            "2.800.0000018.0.R, Build Date: 2022-01-02",
        ),
        ("Dahua", "2.800.0000018.0.R", "2.840.0000000.9.R"),
        (None, "1.2.3", "1.2.4"),
    ],
)
def test_real_changes_are_changes(maker: str | None, a: str, b: str) -> None:
    assert firmware_changed(maker, a, b)


def test_keys_read_the_makers_build_date() -> None:
    assert firmware_key("Hikvision", "V5.7.3build 220112") == FirmwareKey(
        "5.7.3", date(2022, 1, 12)
    )
    assert firmware_key("Dahua", "V2.800.0000018.0.R, Build Date: 2021-07-07") == FirmwareKey(
        "2.800.0000018.0.r", date(2021, 7, 7)
    )
    assert firmware_key("Axis", "") is None


def test_unknown_on_one_side_is_missing_evidence_not_a_change() -> None:
    assert not firmware_changed("Hikvision", "V5.7.3 build 220112", None)
    assert not firmware_changed("Hikvision", None, "V5.7.3 build 220112")
    assert not model_changed("DS-2CD2143G2-I", None)
    assert not same_firmware("Hikvision", "V5.7.3", None)


def test_models_ignore_case_and_spacing_only() -> None:
    assert not model_changed("DS-2CD2143G2-I", "ds-2cd2143g2-i ")
    assert model_changed("DS-2CD2143G2-I", "DS-2CD2143G2-IS")

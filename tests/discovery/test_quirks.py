"""Answers that bend the published layouts the way real firmware does: each is still read for
what it does say, and what it gets wrong is left out rather than guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from coverwatch.probes import dahua_legacy, hanwha, panasonic, sony, vivotek, vstarcam
from coverwatch.probes.protocol import MalformedReply

ASSETS = Path(__file__).parent.parent / "assets" / "discovery"


def read_hex(name: str) -> bytes:
    lines = (ASSETS / name).read_text().splitlines()
    return bytes.fromhex(" ".join(ln for ln in lines if not ln.startswith("#")))


def test_hanwha_field_that_is_no_mac_is_left_out_and_the_model_kept() -> None:
    data = bytearray(read_hex("hanwha/answer.hex"))
    data[19:37] = b"not a mac address\0"
    (signals,) = hanwha.parse_reply(bytes(data))
    assert signals["hanwha.model"] == ["SND-6083"] and "mac" not in signals


def test_sony_padding_after_the_end_marker_is_ignored() -> None:
    (signals,) = sony.parse_reply(read_hex("sony/answer.hex") + b"\0" * 8)
    assert signals["sony.model"] == ["SNC-VB640"]


def test_vivotek_items_before_a_cut_one_are_kept() -> None:
    (signals,) = vivotek.parse_reply(read_hex("vivotek/answer.hex") + bytes([9, 40]) + b"cut")
    assert signals["vivotek.model"] == ["IB9389-H"]


def test_panasonic_trailer_is_not_an_item() -> None:
    (signals,) = panasonic.parse_reply(read_hex("panasonic/answer.hex"))
    assert signals["panasonic.model"] == ["WV-S2131L"]
    assert set(signals) == {"panasonic.model", "panasonic.short_name", "panasonic.ipv4",
                            "panasonic.mac", "mac"}  # fmt: skip


def test_vstarcam_address_field_that_is_no_address_is_left_out() -> None:
    data = bytearray(read_hex("vstarcam/answer.hex"))
    data[4:20] = b"999.1.1.1".ljust(16, b"\0")
    (signals,) = vstarcam.parse_reply(bytes(data))
    assert "vstarcam.ipv4" not in signals and signals["vstarcam.serial"] == ["VSTC123456ABCDE"]


def test_dahua_legacy_search_is_not_an_answer_and_a_bare_other_byte_is_refused() -> None:
    with pytest.raises(MalformedReply):
        dahua_legacy.parse_reply(dahua_legacy.REQUEST)
    data = bytearray(read_hex("dahua_legacy/answer.hex"))
    data[0] = 0xB4
    assert dahua_legacy.parse_reply(bytes(data))[0]["mac"] == ["3c:ef:8c:12:34:56"]
    with pytest.raises(MalformedReply):
        dahua_legacy.parse_reply(b"\xb4" + bytes(200))

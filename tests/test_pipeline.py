"""Fusing evidence across runs and sources, and explaining a device."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from coverwatch.errors import InputError
from coverwatch.models import Observation, SourceKind
from coverwatch.pipeline import explain, record_run
from coverwatch.store import open_inventory

IP = "10.9.8.7"


def _obs(signal: str, value: str, kind: SourceKind) -> Observation:
    return Observation(IP, signal, value, 80, "http", source=kind, observed_at=datetime.now(UTC))


def test_each_source_kind_keeps_its_latest_run_and_all_are_fused(tmp_path: Path) -> None:
    inventory = open_inventory(str(tmp_path / "inv.db"))
    try:
        now = datetime.now(UTC)
        # An import says the box is an LTS with a MAC; a later scan sees Hikvision firmware.
        _, first = record_run(
            inventory,
            "hq",
            {
                IP: [
                    _obs("onvif.manufacturer", "LTS", SourceKind.IMPORT),
                    _obs("mac", "14:2f:fd:00:00:01", SourceKind.IMPORT),
                ]
            },
            SourceKind.IMPORT,
            ["register.csv"],
            {},
            now,
        )
        assert (first[0].attribution.maker, first[0].attribution.brand) == ("Hikvision", "LTS")
        _, scanned = record_run(
            inventory,
            "hq",
            {IP: [_obs("http.server", "App-webs/", SourceKind.SCAN)]},
            SourceKind.SCAN,
            [IP],
            {},
            now,
        )
        a = scanned[0].attribution
        assert (a.maker, a.brand) == ("Hikvision", "LTS")  # the import still counts
        assert any(e.signal == "http.server" for e in a.evidence)
        # A newer scan replaces the older scan's observations, not the import's.
        _, rescanned = record_run(
            inventory,
            "hq",
            {IP: [_obs("http.server", "nginx", SourceKind.SCAN)]},
            SourceKind.SCAN,
            [IP],
            {},
            now,
        )
        assert not any(e.signal == "http.server" for e in rescanned[0].attribution.evidence)
        assert rescanned[0].attribution.brand == "LTS"
        device = inventory.devices("hq")[0]
        assert device.mac == "14:2f:fd:00:00:01"
        why = explain(inventory, IP)
        assert {o.source for o in why.observations} == {SourceKind.IMPORT, SourceKind.SCAN}
        assert [o.value for o in why.unmatched] == ["nginx"]
        assert why.history == 4
        with pytest.raises(InputError, match=r"no device 10\.0\.0\.1"):
            explain(inventory, "10.0.0.1")
    finally:
        inventory.close()

"""Shared fixtures: one generated lab capture (a file; nothing is sent) and its flow store."""

from __future__ import annotations

from pathlib import Path

import pytest

from coverwatch.lab.capture import LabCapture, write_lab_capture
from coverwatch.lab.site import LabHost, build_site
from coverwatch.models import Attribution
from coverwatch.store.interface import DeviceRecord
from coverwatch.traffic.ingest import ingest


@pytest.fixture(scope="session")
def lab_site() -> list[LabHost]:
    """Every profile at least once plus a few more, on 127.31.0.x."""
    return build_site(40, seed=7)


@pytest.fixture(scope="session")
def lab_capture(lab_site: list[LabHost], tmp_path_factory: pytest.TempPathFactory) -> LabCapture:
    """The lab's traffic as a pcap, with the ground truth of what was planted."""
    path = tmp_path_factory.mktemp("capture") / "lab.pcap"
    return write_lab_capture(lab_site, str(path), seed=7)


@pytest.fixture(scope="session")
def lab_store(lab_capture: LabCapture, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab capture ingested into a flow store."""
    store = tmp_path_factory.mktemp("store")
    ingest([lab_capture.path], str(store))
    return store


@pytest.fixture(scope="session")
def lab_devices(lab_site: list[LabHost]) -> list[DeviceRecord]:
    """Inventory records for the lab hosts, attributed to their true maker."""
    return [
        DeviceRecord(h.ip, h.mac, "lab", Attribution(maker=h.profile.truth.get("maker")))
        for h in lab_site
    ]

"""Fixtures for the report tests: the hand-built sample audit of ``sample.py``."""

from __future__ import annotations

import pytest

from coverwatch.report import ReportData
from tests.report.sample import sample_data


@pytest.fixture
def data() -> ReportData:
    """The sample audit: two sites, zones, waivers, every finding status, a hostile model."""
    return sample_data()

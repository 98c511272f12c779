"""Property-based fuzzing of the REST API with schemathesis, from its own OpenAPI document.

Every operation, with an admin token, on generated valid and invalid input: no response may
be a server error, and every response must match the documented status codes, content types,
headers and schemas.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from coverwatch.web.app import create_app
from tests.web.conftest import Estate

pytestmark = pytest.mark.slow

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def app(estate: Estate) -> Iterator[FastAPI]:
    app = create_app(str(estate.db), str(estate.policy))
    yield app
    app.state.dashboard.inventory.close()


def _fuzz(operation: Any, mode: GenerationMode, token: str) -> list[str]:
    """Run one operation's generated cases in one mode; its failure, if any, as text."""

    @settings(
        max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        response = case.call()
        case.validate_response(response, checks=CHECKS)

    try:
        check()
    except Exception as e:  # collect every operation's failure, then report them all
        return [f"{operation.label} ({mode.value}): {str(e)[:3000]}"]
    return []


def test_api_fuzz(app: FastAPI, estate: Estate) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _fuzz(operation, mode, estate.admin)
    assert not failures, "\n\n".join(failures)

"""The engine registry: every engine kind has an engine, and the CLI offers exactly those."""

from __future__ import annotations

import click

from coverwatch.cli.base import ENGINE_OPTION
from coverwatch.traffic.engines import ENGINES, EngineKind, FlowEngine


def test_every_kind_has_an_engine() -> None:
    assert set(ENGINES) == set(EngineKind)
    assert all(issubclass(engine, FlowEngine) for engine in ENGINES.values())


def test_the_cli_offers_every_engine() -> None:
    @ENGINE_OPTION
    def command(engine: str) -> None: ...

    (option,) = command.__click_params__  # type: ignore[attr-defined]
    assert isinstance(option.type, click.Choice)
    assert sorted(option.type.choices) == sorted(k.value for k in EngineKind)
    assert option.default == EngineKind.DUCKDB.value

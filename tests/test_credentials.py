"""Credentials: from a file or the environment; never echoed, even in errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from coverwatch.credentials import load_credentials
from coverwatch.errors import InputError

SECRET = "s3cret-Value!"


def test_file_with_default_and_per_host(tmp_path: Path) -> None:
    path = tmp_path / "creds.yaml"
    path.write_text(
        f"default: {{username: admin, password: '{SECRET}'}}\n"
        f"hosts:\n  10.0.0.5: {{username: op, password: other}}\n"
    )
    store = load_credentials(str(path))
    assert store.for_host("10.0.0.5").username == "op"  # type: ignore[union-attr]
    assert store.for_host("10.0.0.6").password == SECRET  # type: ignore[union-attr]
    assert SECRET not in repr(store)


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVERWATCH_USERNAME", "viewer")
    monkeypatch.setenv("COVERWATCH_PASSWORD", SECRET)
    store = load_credentials(None)
    assert store.for_host("any").username == "viewer"  # type: ignore[union-attr]
    monkeypatch.delenv("COVERWATCH_PASSWORD")
    assert load_credentials(None).for_host("any") is None


@pytest.mark.parametrize(
    "text",
    [
        f"default: [{SECRET}]\n",
        f"default: {{username: admin, password: '{SECRET}'\n",
        f"users: {{password: '{SECRET}'}}\n",
        f"hosts: ['{SECRET}']\n",
    ],
)
def test_errors_never_echo_the_secret(tmp_path: Path, text: str) -> None:
    path = tmp_path / "creds.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as error:
        load_credentials(str(path))
    assert SECRET not in str(error.value) and str(path) in str(error.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read credentials file"):
        load_credentials(str(tmp_path / "none.yaml"))

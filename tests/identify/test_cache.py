"""The compiled knowledge cache: rebuilt when a file changes, ignored when damaged or planted,
and never changing an attribution."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import pytest

from coverwatch.identify import attribute
from coverwatch.identify.cache import FORMAT, cached
from coverwatch.identify.knowledge import Knowledge, build_knowledge
from tests.corpus.accuracy import load_corpus


def _copy(tmp_path: Path, fingerprints: set[str] | None = None) -> Path:
    """A private copy of the shipped knowledge base (only ``fingerprints`` files, if given)."""
    copy = tmp_path / "knowledge"
    with resources.as_file(resources.files("coverwatch") / "knowledge") as shipped:
        shutil.copytree(shipped, copy)
    if fingerprints is not None:
        for path in (copy / "fingerprints").iterdir():
            if path.name not in fingerprints:
                path.unlink()
    return copy


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A small copy of the knowledge base (two makers' fingerprints), quick to rebuild."""
    return _copy(tmp_path, {"hikvision.yaml", "dahua.yaml"})


class Counting:
    """``build_knowledge`` that counts its calls: a call is a rebuild, none is a cache hit."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, root: Traversable) -> Knowledge:
        self.calls += 1
        return build_knowledge(root)


def _cache_file(folder: Path) -> Path:
    (found,) = folder.glob("knowledge-*.bin")
    return found


def test_second_load_comes_from_the_cache(root: Path, tmp_path: Path) -> None:
    build = Counting()
    first = cached(root, build, tmp_path / "cache")
    second = cached(root, build, tmp_path / "cache")
    assert build.calls == 1
    assert second.fingerprints == first.fingerprints
    assert second.covered == first.covered and second.cves == first.cves


def test_a_changed_knowledge_file_rebuilds_the_cache(root: Path, tmp_path: Path) -> None:
    build = Counting()
    folder = tmp_path / "cache"
    before = cached(root, build, folder)
    oem = root / "oem.yaml"
    shipped = oem.read_text(encoding="utf-8")
    oem.write_text(
        shipped + "  - {brand: Cachetest Vision, makers: [Hikvision], weight: 0.5,\n"
        "     relation: white-label, source: 'test entry'}\n",
        encoding="utf-8",
    )
    after = cached(root, build, folder)
    assert build.calls == 2
    assert before.oem_brand("Cachetest Vision") is None
    assert after.oem_brand("Cachetest Vision") is not None
    # Two installations sharing the cache folder (another version, another checkout) each
    # keep their cache: going back is no rebuild.
    oem.write_text(shipped, encoding="utf-8")
    assert cached(root, build, folder).oem_brand("Cachetest Vision") is None
    assert build.calls == 2


def test_the_cache_folder_keeps_only_the_newest_few(root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    oem = root / "oem.yaml"
    shipped = oem.read_text(encoding="utf-8")
    for n in range(7):
        oem.write_text(shipped + f"# edit {n}\n", encoding="utf-8")
        cached(root, build_knowledge, folder)
    assert len(list(folder.glob("knowledge-*.bin"))) == 4


def test_a_corrupt_cache_is_rebuilt(root: Path, tmp_path: Path) -> None:
    build = Counting()
    folder = tmp_path / "cache"
    expected = cached(root, build, folder)
    path = _cache_file(folder)
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    assert cached(root, build, folder).fingerprints == expected.fingerprints
    assert build.calls == 2
    path.write_bytes(b"")  # truncated to nothing
    assert cached(root, build, folder).fingerprints == expected.fingerprints
    assert build.calls == 3


class _Planted:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_a_planted_cache_runs_no_code(root: Path, tmp_path: Path) -> None:
    """A file with a valid digest that asks pickle to call os.system is refused, not run."""
    build = Counting()
    folder = tmp_path / "cache"
    cached(root, build, folder)
    path = _cache_file(folder)
    marker = tmp_path / "pwned"
    payload = pickle.dumps(("any key", _Planted(marker)))
    path.write_bytes(FORMAT + hashlib.sha256(payload).digest() + payload)
    kb = cached(root, build, folder)
    assert not marker.exists()
    assert build.calls == 2 and kb.fingerprints


def test_an_unwritable_cache_folder_still_loads(root: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    kb = cached(root, Counting(), blocked / "cache")
    assert kb.fingerprints


def test_attributions_are_the_same_with_and_without_the_cache(tmp_path: Path) -> None:
    root = _copy(tmp_path)  # the whole knowledge base
    fresh = build_knowledge(root)
    cached(root, build_knowledge, tmp_path / "cache")  # writes it
    build = Counting()
    from_cache = cached(root, build, tmp_path / "cache")
    assert build.calls == 0
    rows = load_corpus()
    assert len(rows) > 100
    for row in rows:
        assert attribute(row.signals, from_cache) == attribute(row.signals, fresh), row.label

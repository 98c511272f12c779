"""The compiled knowledge cache: the validated knowledge base, saved once, loaded in milliseconds.

Reading and validating the YAML files and compiling ~1,000 patterns costs about 0.3 s on every
start. The cache keeps the result in the user cache folder (``COVERWATCH_CACHE_DIR``, else
platformdirs' user cache path), in one file named by a key: the SHA-256 of every knowledge
file (name and bytes), the coverwatch version and the Python version. A changed file, a new
release or another interpreter gives another key, so the next start rebuilds and replaces it.

The file is a SHA-256 digest followed by a pickle. It is loaded only when the digest matches,
and then by an unpickler that can only build knowledge records (no other class, no function),
so a corrupt or planted file can at worst describe other knowledge, never run code; anything
wrong with it (unreadable, truncated, wrong key, not a knowledge base) means a rebuild. Patterns
are stored as text with their required literals and compiled on first use (`matcher.Regex`).
An unwritable cache folder only means no cache.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterator
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coverwatch import __version__

if TYPE_CHECKING:
    from coverwatch.identify.knowledge import Knowledge

logger = logging.getLogger(__name__)

#: Changes whenever what the cache holds changes shape.
FORMAT = b"coverwatch-knowledge-cache 1\n"

#: The only globals a cache file may name: the knowledge records and the values inside them.
_ALLOWED = {
    "coverwatch.identify.knowledge": {
        "Knowledge",
        "Fingerprint",
        "OuiAlias",
        "OemBrand",
        "CoveredEntity",
        "FirmwareDate",
        "Cve",
        "MakerInfo",
    },
    "coverwatch.identify.matcher": {"Regex"},
    "coverwatch.models": {"DeviceType"},
    "datetime": {"date"},
}


class _KnowledgeUnpickler(pickle.Unpickler):
    """Builds knowledge records only; any other global stops the load."""

    def find_class(self, module: str, name: str) -> Any:
        if name in _ALLOWED.get(module, ()):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not a knowledge record")


def cache_dir() -> Path:
    """Where the cache lives: ``COVERWATCH_CACHE_DIR``, else the user cache folder."""
    configured = os.environ.get("COVERWATCH_CACHE_DIR")
    if configured:
        return Path(configured)
    from platformdirs import user_cache_path

    return user_cache_path("coverwatch")


def _files(root: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            yield from _files(entry, f"{prefix}{entry.name}/")
        elif entry.is_file():
            yield f"{prefix}{entry.name}", entry


def knowledge_key(root: Traversable) -> str:
    """SHA-256 of every file under ``root`` (names and bytes), this version and this Python."""
    digest = hashlib.sha256(FORMAT)
    digest.update(f"{__version__}\0{sys.version_info[:3]}\0".encode())
    for name, entry in _files(root):
        data = entry.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def _read(path: Path, key: str) -> Knowledge | None:
    from coverwatch.identify.knowledge import Knowledge

    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        logger.debug("knowledge cache %s unreadable: %s", path, e)
        return None
    head = len(FORMAT) + 32
    if (
        blob[: len(FORMAT)] != FORMAT
        or hashlib.sha256(blob[head:]).digest() != blob[len(FORMAT) : head]
    ):
        logger.debug("knowledge cache %s is corrupt; rebuilding", path)
        return None
    try:
        stored_key, kb = _KnowledgeUnpickler(io.BytesIO(blob[head:])).load()
    except Exception as e:  # a damaged or planted file is only a missing cache
        logger.debug("knowledge cache %s unusable: %s", path, e)
        return None
    if stored_key != key or not isinstance(kb, Knowledge):
        return None
    return kb


#: How many knowledge caches a folder keeps (one per installation that shares it).
_KEPT = 4


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile by another process
        return 0.0


def _write(folder: Path, key: str, kb: Knowledge) -> None:
    payload = pickle.dumps((key, kb), protocol=pickle.HIGHEST_PROTOCOL)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".knowledge-")
        with os.fdopen(handle, "wb") as out:
            out.write(FORMAT + hashlib.sha256(payload).digest() + payload)
        current = folder / f"knowledge-{key[:32]}.bin"
        os.replace(temporary, current)
        # Several installations (versions, checkouts) may share the folder: keep the newest
        # few rather than make each one rebuild after the other.
        others = [p for p in folder.glob("knowledge-*.bin") if p.name != current.name]
        for old in sorted(others, key=_modified, reverse=True)[_KEPT - 1 :]:
            old.unlink(missing_ok=True)
    except OSError as e:  # read-only home, full disk: run without a cache
        logger.debug("knowledge cache not written to %s: %s", folder, e)
        if "temporary" in locals():
            Path(temporary).unlink(missing_ok=True)


def cached(
    root: Traversable, build: Callable[[Traversable], Knowledge], folder: Path | None = None
) -> Knowledge:
    """The knowledge base of ``root``: from the cache in ``folder`` when it was built from the
    same files, else ``build(root)``, then saved there for the next start."""
    folder = folder if folder is not None else cache_dir()
    key = knowledge_key(root)
    kb = _read(folder / f"knowledge-{key[:32]}.bin", key)
    if kb is None:
        kb = build(root)
        _write(folder, key, kb)
    return kb

"""Adapter versions and the `current.txt` pointer, committed in two phases.

The pointer never names a half-written folder: a new `vNNNN` is allocated, filled by the caller's writer,
flushed to disk, and only then does `current.txt` switch to it, by an atomic replace. The pointer holds the
version folder relative to the store root plus LF (`adapter/versions/v0002\\n`), exactly as upstream writes it.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

from dlm_desktop.core.document.text import atomic_write_text
from dlm_desktop.core.store.errors import NonFiniteWeightsError, StorePathError, StorePointerError
from dlm_desktop.core.store.paths import StorePaths

_LOG = logging.getLogger(__name__)

_VERSION_NAME = re.compile(r"^v([0-9]+)$")
_REJECTED_NAMES = 1000  # `-rejected`, then `-rejected-1` … `-rejected-999`
_ALLOCATION_ATTEMPTS = 16
_POINTER_FIX = "train again to write a new version, or edit current.txt to name an existing version folder"


def parse_version_name(name: str) -> int | None:
    """The number of a `vNNNN` folder name, or None (`v0003-rejected`, `notes`, `v` are not versions)."""
    match = _VERSION_NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def list_versions(paths: StorePaths, name: str | None = None) -> list[tuple[int, Path]]:
    """Committed-or-pending version folders `(number, path)`, oldest first. Rejected folders are left out."""
    base = paths.versions_dir(name)
    if not base.is_dir():
        return []
    found = []
    for entry in base.iterdir():
        number = parse_version_name(entry.name)
        if number is not None and number >= 1 and entry.is_dir():
            found.append((number, entry))
    return sorted(found)


def allocate_version(paths: StorePaths, name: str | None = None) -> Path:
    """Create and return the next empty version folder: highest existing number + 1, or `v0001`.

    `name=None` uses the flat layout (`adapter/versions/`), a name the named one (`adapter/<name>/versions/`).
    """
    for _ in range(_ALLOCATION_ATTEMPTS):
        existing = list_versions(paths, name)
        number = existing[-1][0] + 1 if existing else 1
        folder = paths.version_dir(number, name)
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            folder.mkdir()
        except FileExistsError:
            continue  # another writer took this number between the scan and the mkdir: scan again
        return folder
    raise StorePathError(
        f"could not allocate a new version folder under {paths.versions_dir(name)}",
        fix="make sure only one training job writes this store at a time",
        path=paths.versions_dir(name),
    )


def commit_version(
    paths: StorePaths,
    writer: Callable[[Path], None],
    *,
    name: str | None = None,
) -> Path:
    """Allocate a version folder, let `writer(folder)` fill it, flush it, then point `current.txt` at it.

    If the writer raises `NonFiniteWeightsError`, the folder is renamed `vNNNN-rejected` (then `-rejected-1`,
    … up to 1000 names), the error's `rejected_dir` is set, and the error propagates. Any other exception
    propagates with the pending folder left in place. In both cases the pointer is not touched.
    Returns the committed folder.
    """
    pending = allocate_version(paths, name)
    try:
        writer(pending)
    except NonFiniteWeightsError as exc:
        exc.rejected_dir = _set_aside_rejected(pending)
        raise
    fsync_tree(pending)
    set_current(paths, pending, name=name)
    return pending


def _set_aside_rejected(pending: Path) -> Path | None:
    target = _free_rejected_name(pending)
    if target is None:
        _LOG.error("no free '-rejected' name for %s after %d tries; left in place", pending, _REJECTED_NAMES)
        return None
    try:
        pending.rename(target)
    except OSError as exc:
        _LOG.error("could not rename rejected version %s: %s; left in place", pending, exc)
        return None
    _LOG.error("non-finite weights: version kept for inspection at %s", target)
    return target


def _free_rejected_name(pending: Path) -> Path | None:
    first = pending.with_name(f"{pending.name}-rejected")
    if not first.exists():
        return first
    for index in range(1, _REJECTED_NAMES):
        candidate = pending.with_name(f"{pending.name}-rejected-{index}")
        if not candidate.exists():
            return candidate
    return None


def fsync_tree(folder: Path) -> None:
    """Flush every file under `folder`, then the folder entries themselves, to stable storage.

    On Windows a folder cannot be opened for flushing; files are still flushed.
    """
    for dirpath, _dirnames, filenames in os.walk(folder):
        for filename in filenames:
            _fsync_path(Path(dirpath) / filename, is_dir=False)
        _fsync_path(Path(dirpath), is_dir=True)
    _fsync_path(folder.parent, is_dir=True)  # makes the new folder's own entry durable


def _fsync_path(path: Path, *, is_dir: bool) -> None:
    if is_dir and os.name == "nt":
        return
    flags = os.O_RDONLY if (is_dir or os.name != "nt") else os.O_RDWR
    try:
        fd = os.open(str(path), flags)
    except (PermissionError, IsADirectoryError):
        return  # a read-only file on Windows: nothing we may flush
    try:
        os.fsync(fd)
    except OSError as exc:  # some filesystems (network, FUSE) refuse fsync on folders
        _LOG.debug("fsync(%s) failed: %s", path, exc)
    finally:
        os.close(fd)


def set_current(paths: StorePaths, version_dir: Path, *, name: str | None = None) -> None:
    """Atomically point `current.txt` (flat, or of adapter `name`) at `version_dir`."""
    relative = paths.relative(version_dir)
    atomic_write_text(paths.current_pointer(name), f"{relative}\n")


def resolve_current(paths: StorePaths, name: str | None = None) -> Path | None:
    """The version folder `current.txt` names, or None when there is no pointer (or it is empty).

    Raises `StorePointerError` when the pointer leaves the store or names a folder that does not exist.
    """
    pointer = paths.current_pointer(name)
    try:
        text = pointer.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StorePointerError(f"cannot read the adapter pointer: {exc}", path=pointer, fix=_POINTER_FIX) from exc
    relative = text.strip().replace("\\", "/")
    if not relative:
        return None
    target = (paths.root / relative).resolve()
    root = paths.root.resolve()
    if target == root or root not in target.parents:
        raise StorePointerError(
            f"the adapter pointer leads outside the store: {relative!r}", path=pointer, fix=_POINTER_FIX
        )
    if not target.is_dir():
        raise StorePointerError(
            f"the adapter pointer names {relative!r}, which does not exist", path=pointer, fix=_POINTER_FIX
        )
    return target


def current_version_number(paths: StorePaths, name: str | None = None) -> int | None:
    """The number of the current version (`adapter/versions/v0003` → 3), or None without a pointer."""
    current = resolve_current(paths, name)
    return parse_version_name(current.name) if current is not None else None


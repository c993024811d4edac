"""Atomic publication of an export, and the cache of converted base models.

An export is written into `<out>/.staging-<id>/`; only when every file is complete and flushed are the
files renamed into `<out>` (same filesystem, so each rename is atomic), `export_manifest.json` last. An
export killed at any point before that leaves only a staging folder, which the next export removes; the
artifacts in `<out>` are always whole files.

Converted base GGUFs are cached under the model cache, keyed by a checksum of the model's files, the
output type and the converter version, and linked (or copied) into each export.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

from dlm_desktop.core.store.versions import fsync_tree

STAGING_PREFIX = ".staging-"
_OWNER_FILE = ".owner-pid"
_CHUNK = 1 << 20


class Staging:
    """A private folder inside `out_dir` where one export builds its files."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(self.out_dir)
        self.dir = self.out_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
        self.dir.mkdir()
        (self.dir / _OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")

    def path(self, name: str) -> Path:
        """Where to write the file `name` while staging."""
        return self.dir / name

    def publish(self, names: list[str]) -> list[Path]:
        """Flush the staged files, then move `names` into `out_dir` in that order. The last name is the
        completion marker (the manifest): the previous one is removed first, so a folder caught half-way
        through replacing an older export has no manifest rather than one describing other files.
        Returns the published paths; removes the staging folder."""
        fsync_tree(self.dir)
        (self.out_dir / names[-1]).unlink(missing_ok=True)
        published = []
        for name in names:
            target = self.out_dir / name
            os.replace(self.dir / name, target)
            published.append(target)
        fsync_tree(self.out_dir) if os.name != "nt" else None
        self.discard()
        return published

    def discard(self) -> None:
        """Remove the staging folder and whatever is in it."""
        shutil.rmtree(self.dir, ignore_errors=True)


def remove_stale_staging(out_dir: Path) -> list[Path]:
    """Delete staging folders left by exports that died (their process is gone). Returns what was removed."""
    removed = []
    for entry in out_dir.glob(f"{STAGING_PREFIX}*"):
        if entry.is_dir() and not _owner_alive(entry):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _owner_alive(folder: Path) -> bool:
    try:
        pid = int((folder / _OWNER_FILE).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return False
    return _pid_alive(pid)


def _partial_owner(path: Path) -> int:
    """The PID in `.base.<QUANT>.<pid>-<id>.partial` (0 when the name carries none)."""
    try:
        return int(path.name.rsplit(".", 2)[-2].split("-")[0])
    except (IndexError, ValueError):
        return 0


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def link_or_copy(source: Path, target: Path) -> None:
    """Hard-link `source` to `target` when both are on one filesystem, else copy it."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


class BaseCache:
    """Converted base GGUFs under `<root>/<key>/base.<QUANT>.gguf`, with a `meta.json` of size and sha256."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def model_fingerprint(self, model_dir: Path, extra: str) -> str:
        """A checksum of the model folder's weights, config and tokenizer files plus `extra` (converter
        version, pre-tokenizer). File hashes are memoised by (path, size, mtime)."""
        memo_path = self.root / "file-hashes.json"
        memo = _load_json(memo_path)
        digest = hashlib.sha256(extra.encode())
        names = sorted(p for p in model_dir.iterdir() if p.is_file() and _fingerprinted(p.name))
        for path in names:
            stat = path.stat()
            key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
            if key not in memo:
                memo[key] = file_sha256(path)
            digest.update(f"{path.name}:{memo[key]}\n".encode())
        self.root.mkdir(parents=True, exist_ok=True)
        _write_json_atomic(memo_path, memo)
        return digest.hexdigest()[:32]

    def lookup(self, key: str, quant: str) -> Path | None:
        """The cached GGUF for (`key`, `quant`) when present and of the recorded size, else None."""
        path = self.root / key / f"base.{quant}.gguf"
        meta = _load_json(self.root / key / f"base.{quant}.json")
        if path.is_file() and meta.get("size_bytes") == path.stat().st_size:
            return path
        return None

    def slot(self, key: str, quant: str) -> tuple[Path, Path]:
        """`(temporary path to write, final path)` for a new cache entry."""
        folder = self.root / key
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(".base.*.partial"):  # left by a conversion whose process was killed
            if not _pid_alive(_partial_owner(stale)):
                stale.unlink(missing_ok=True)
        name = f".base.{quant}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial"
        return folder / name, folder / f"base.{quant}.gguf"

    def commit(self, temporary: Path, final: Path, quant: str) -> Path:
        """Move a finished temporary file into place and record its size and sha256."""
        os.replace(temporary, final)
        meta = {"sha256": file_sha256(final), "size_bytes": final.stat().st_size}
        _write_json_atomic(final.parent / f"base.{quant}.json", meta)
        return final


def _fingerprinted(name: str) -> bool:
    return name.endswith((".safetensors", ".json", ".jinja", ".model", ".txt")) and not name.startswith(".")


def _load_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _write_json_atomic(path: Path, value: dict) -> None:
    from dlm_desktop.core.document.text import atomic_write_text

    atomic_write_text(path, json.dumps(value, indent=2, sort_keys=True) + "\n")

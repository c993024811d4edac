"""Where things live: the DLM home and every file of a training store (upstream's layout and names).

A store is `<home>/store/<dlm_id>/`. The names below are upstream `dlm`'s, so the `dlm` command line and the
app read and write the same stores. Nothing here touches the disk except `ensure_layout`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dlm_desktop.core.store.errors import StorePathError

HOME_ENV_VAR = "DLM_HOME"
STORE_DIRNAME = "store"
MANIFEST_FILENAME = "manifest.json"
REPRO_LOCK_FILENAME = "dlm.lock"
EXCLUSIVE_LOCK_FILENAME = ".lock"
METRICS_FILENAME = "metrics.sqlite"
ADAPTER_DIRNAME = "adapter"
VERSIONS_DIRNAME = "versions"
CURRENT_POINTER_FILENAME = "current.txt"
GATE_DIRNAME = "_gate"
GATE_CONFIG_FILENAME = "gate_config.json"
GATE_WEIGHTS_FILENAME = "gate.safetensors"
OLLAMA_LOCK_FILENAME = "ollama.lock"

# The adapter-name grammar of the document format (equal to core.document.schema.ADAPTER_NAME_PATTERN; kept
# here so path code does not import the schema). A leading underscore is impossible, which keeps `_gate` apart.
ADAPTER_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# A dlm_id becomes one folder name: keep it to one safe path component.
_DLM_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_QUANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _is_windows() -> bool:
    """Indirection so tests can exercise the Windows branch without touching `os.name`."""
    return os.name == "nt"


def dlm_home(override: Path | str | None = None) -> Path:
    """The DLM home folder: `override`, else `$DLM_HOME`, else `%APPDATA%\\dlm` on Windows, else `~/.dlm`.

    Only resolves the path; nothing is created.
    """
    if override is not None and str(override) != "":
        return Path(override).expanduser().resolve()
    env = os.environ.get(HOME_ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    if _is_windows():
        appdata = os.environ.get("APPDATA")
        if appdata:
            return Path(appdata).resolve() / "dlm"
    return Path.home() / ".dlm"


def ollama_lock_path(home: Path | str | None = None) -> Path:
    """The per-user `<home>/ollama.lock`, serializing `ollama create` calls across stores."""
    return dlm_home(home) / OLLAMA_LOCK_FILENAME


def check_adapter_name(name: str) -> str:
    """Return `name` if it is a valid adapter name (`[a-z][a-z0-9_]{0,31}`), else raise `StorePathError`."""
    if not isinstance(name, str) or not ADAPTER_NAME_PATTERN.fullmatch(name):
        raise StorePathError(
            f"adapter name {name!r} is not valid",
            fix="use a lowercase letter followed by up to 31 lowercase letters, digits or underscores",
        )
    return name


def _check_version(version: int) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise StorePathError(
            f"adapter version {version!r} is not valid", fix="versions are numbered from 1 (v0001)"
        )
    return version


def version_dirname(version: int) -> str:
    """`vNNNN` (at least four digits) for a version number ≥ 1."""
    return f"v{_check_version(version):04d}"


def log_timestamp(when: datetime) -> str:
    """`YYYYMMDDTHHMMSS` of a naive-UTC time, as used in upstream's log file names."""
    return when.replace(microsecond=0).isoformat().replace(":", "").replace("-", "")


@dataclass(frozen=True)
class StorePaths:
    """Every well-known path of one store. Pure path arithmetic: no property touches the disk.

    Build it with `StorePaths.for_dlm(dlm_id, home=...)`, or directly from a store `root`.
    """

    root: Path

    @classmethod
    def for_dlm(cls, dlm_id: str, *, home: Path | str | None = None) -> "StorePaths":
        """The store of document `dlm_id` under `dlm_home(home)`."""
        if not isinstance(dlm_id, str) or not _DLM_ID_PATTERN.fullmatch(dlm_id):
            raise StorePathError(
                f"dlm_id {dlm_id!r} cannot name a store folder",
                fix="give the document a valid dlm_id (a 26-character ULID)",
            )
        return cls(dlm_home(home) / STORE_DIRNAME / dlm_id)

    # --- top-level files -------------------------------------------------------------------------------------

    @property
    def manifest(self) -> Path:
        """`manifest.json`: upstream's store narrative (schema in `manifest.py`)."""
        return self.root / MANIFEST_FILENAME

    @property
    def repro_lock(self) -> Path:
        """`dlm.lock`: the reproducibility lock (pinned versions, seed, determinism)."""
        return self.root / REPRO_LOCK_FILENAME

    @property
    def exclusive_lock(self) -> Path:
        """`.lock`: the exclusive PID lock file held while a job writes the store (see `lock.py`)."""
        return self.root / EXCLUSIVE_LOCK_FILENAME

    @property
    def metrics_db(self) -> Path:
        """`metrics.sqlite`: runs, steps, evals, gate events (see `metrics.py`)."""
        return self.root / METRICS_FILENAME

    # --- adapters --------------------------------------------------------------------------------------------

    @property
    def adapter(self) -> Path:
        """`adapter/`."""
        return self.root / ADAPTER_DIRNAME

    def adapter_dir(self, name: str | None = None) -> Path:
        """`adapter/` (flat layout, `name=None`) or `adapter/<name>/` (named layout)."""
        return self.adapter if name is None else self.adapter / check_adapter_name(name)

    def versions_dir(self, name: str | None = None) -> Path:
        """`adapter/versions/` or `adapter/<name>/versions/`."""
        return self.adapter_dir(name) / VERSIONS_DIRNAME

    def version_dir(self, version: int, name: str | None = None) -> Path:
        """`adapter/[<name>/]versions/vNNNN/`; version 0 or less is refused."""
        return self.versions_dir(name) / version_dirname(version)

    def current_pointer(self, name: str | None = None) -> Path:
        """`adapter/current.txt` or `adapter/<name>/current.txt`."""
        return self.adapter_dir(name) / CURRENT_POINTER_FILENAME

    @property
    def gate_dir(self) -> Path:
        """`adapter/_gate/` (the leading underscore keeps it apart from every valid adapter name)."""
        return self.adapter / GATE_DIRNAME

    @property
    def gate_config(self) -> Path:
        """`adapter/_gate/gate_config.json`."""
        return self.gate_dir / GATE_CONFIG_FILENAME

    @property
    def gate_weights(self) -> Path:
        """`adapter/_gate/gate.safetensors`."""
        return self.gate_dir / GATE_WEIGHTS_FILENAME

    # --- replay, exports, caches -----------------------------------------------------------------------------

    @property
    def replay(self) -> Path:
        """`replay/`."""
        return self.root / "replay"

    @property
    def replay_corpus(self) -> Path:
        """`replay/corpus.zst`."""
        return self.replay / "corpus.zst"

    @property
    def replay_index(self) -> Path:
        """`replay/index.json`."""
        return self.replay / "index.json"

    @property
    def exports(self) -> Path:
        """`exports/`."""
        return self.root / "exports"

    def export_dir(self, quant: str) -> Path:
        """`exports/<QUANT>/` (for example `exports/Q4_K_M/`)."""
        if not isinstance(quant, str) or not _QUANT_PATTERN.fullmatch(quant):
            raise StorePathError(f"quantization {quant!r} cannot name an export folder", fix="pick a quant like Q4_K_M")
        return self.exports / quant

    def export_base_gguf(self, quant: str) -> Path:
        """`exports/<QUANT>/base.<QUANT>.gguf`."""
        return self.export_dir(quant) / f"base.{quant}.gguf"

    def export_adapter_gguf(self, quant: str) -> Path:
        """`exports/<QUANT>/adapter.gguf`."""
        return self.export_dir(quant) / "adapter.gguf"

    def export_modelfile(self, quant: str) -> Path:
        """`exports/<QUANT>/Modelfile`."""
        return self.export_dir(quant) / "Modelfile"

    def export_manifest(self, quant: str) -> Path:
        """`exports/<QUANT>/export_manifest.json`."""
        return self.export_dir(quant) / "export_manifest.json"

    @property
    def cache(self) -> Path:
        """`cache/`."""
        return self.root / "cache"

    def cache_dir(self, slug: str) -> Path:
        """`cache/<slug>/`; `slug` must be one safe folder name."""
        if not isinstance(slug, str) or not _QUANT_PATTERN.fullmatch(slug):
            raise StorePathError(f"cache slug {slug!r} cannot name a folder", fix="use letters, digits, '_', '-', '.'")
        return self.cache / slug

    @property
    def tokenized_cache(self) -> Path:
        """`tokenized-cache/`."""
        return self.root / "tokenized-cache"

    @property
    def blobs(self) -> Path:
        """`blobs/` (content-addressed: `blobs/<sha[:2]>/<sha>.<ext>`)."""
        return self.root / "blobs"

    @property
    def controls(self) -> Path:
        """`controls/`."""
        return self.root / "controls"

    # --- logs ------------------------------------------------------------------------------------------------

    @property
    def logs(self) -> Path:
        """`logs/`."""
        return self.root / "logs"

    def train_log(self, run_id: int, started: datetime) -> Path:
        """`logs/train-<run:06d>-<YYYYMMDDTHHMMSS>.jsonl` (`started` in naive UTC)."""
        return self.logs / f"train-{run_id:06d}-{log_timestamp(started)}.jsonl"

    def train_summary(self, run_id: int, started: datetime) -> Path:
        """`logs/train-<run:06d>-<YYYYMMDDTHHMMSS>.summary.json`, the same stem as `train_log`."""
        return self.logs / f"train-{run_id:06d}-{log_timestamp(started)}.summary.json"

    # --- disk ------------------------------------------------------------------------------------------------

    def exists(self) -> bool:
        """True when the store folder exists."""
        return self.root.is_dir()

    def ensure_layout(self) -> None:
        """Create the store root, `adapter/versions/` and `logs/`. Idempotent; every other folder is lazy."""
        self.versions_dir().mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)

    def relative(self, path: Path) -> str:
        """`path` relative to the store root, with forward slashes (the form pointers and manifests record)."""
        try:
            return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError as exc:
            raise StorePathError(f"{path} is outside the store {self.root}", path=path) from exc

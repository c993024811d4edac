"""`manifest.json`: the store's narrative, in upstream `dlm`'s schema exactly (SPEC-upstream §8.2).

Upstream refuses unknown keys, so these models carry upstream's field names, types and defaults and nothing
else; data only the app needs lives in separate files. The file is canonical JSON (sorted keys, 2-space
indent, trailing LF) written atomically, so saving what was loaded reproduces it byte for byte.
Timestamps are naive UTC with whole seconds, as upstream writes them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from dlm_desktop.core.document.text import atomic_write_bytes
from dlm_desktop.core.store.errors import ManifestError, ManifestVersionError

MANIFEST_SCHEMA_VERSION = 1
_CORRUPT_FIX = "restore manifest.json from a backup, or move the store folder away and train again"


def utc_now() -> datetime:
    """Now, as naive UTC with microseconds dropped (the manifest's clock)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _as_naive_utc(value: datetime) -> datetime:
    # Upstream's readers expect naive UTC; an aware time is converted rather than written with an offset.
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


UtcDatetime = Annotated[datetime, AfterValidator(_as_naive_utc)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LicenseAcceptance(_Strict):
    """How the user accepted a gated base model's license (`manifest.license_acceptance`)."""

    accepted_at: UtcDatetime
    license_url: str = Field(..., min_length=1)
    license_spdx: str = Field(..., min_length=1)
    via: Literal["cli_flag", "interactive", "frontmatter"]


class TrainingRunSummary(_Strict):
    """One entry of `manifest.training_runs`. `summary_path` is relative to the store root."""

    run_id: int = Field(..., ge=1)
    started_at: UtcDatetime
    ended_at: UtcDatetime | None = None
    adapter_version: int = Field(..., ge=1)
    base_model_revision: str | None = None
    seed: int
    steps: int = Field(0, ge=0)
    final_train_loss: float | None = None
    final_val_loss: float | None = None
    status: Literal["running", "completed", "failed", "cancelled"] = "completed"
    pinned_versions: dict[str, str] = Field(default_factory=dict)
    summary_path: str | None = None
    adapter_name: str | None = None
    weight_distribution: dict[str, dict[str, int]] | None = None


class ExportSummary(_Strict):
    """One entry of `manifest.exports`."""

    exported_at: UtcDatetime
    target: str = "ollama"
    quant: str
    merged: bool = False
    ollama_name: str | None = None
    ollama_version: str | None = None
    llama_cpp_tag: str | None = None
    base_gguf_sha256: str | None = None
    adapter_gguf_sha256: str | None = None
    smoke_output_first_line: str | None = None
    adapter_name: str | None = None
    adapter_mix: list[tuple[str, float]] | None = None


class StoreManifest(_Strict):
    """The whole `manifest.json`. Frozen: change it with `replace_fields` / `update_manifest`."""

    dlm_id: str = Field(..., min_length=1)
    schema_version: int = MANIFEST_SCHEMA_VERSION
    created_at: UtcDatetime = Field(default_factory=utc_now)
    updated_at: UtcDatetime = Field(default_factory=utc_now)

    base_model: str = Field(..., min_length=1)
    base_model_revision: str | None = None
    base_model_sha256: str | None = None

    adapter_version: int = Field(0, ge=0)
    adapter_sha256: str | None = None
    adapter_config_sha256: str | None = None
    adapter_versions: dict[str, int] = Field(default_factory=dict)

    training_runs: list[TrainingRunSummary] = Field(default_factory=list)
    exports: list[ExportSummary] = Field(default_factory=list)

    content_hashes: dict[str, str] = Field(default_factory=dict)
    pinned_versions: dict[str, str] = Field(default_factory=dict)
    source_path: Path | None = None
    license_acceptance: LicenseAcceptance | None = None

    @field_validator("schema_version")
    @classmethod
    def _only_version_one(cls, value: int) -> int:
        if value != MANIFEST_SCHEMA_VERSION:
            raise ValueError(f"schema_version must be {MANIFEST_SCHEMA_VERSION}, got {value}")
        return value


# --- (de)serialization -----------------------------------------------------------------------------------------


def manifest_json(manifest: StoreManifest) -> str:
    """The canonical text of `manifest`: sorted keys, 2-space indent, UTF-8 unescaped, trailing LF."""
    data = manifest.model_dump(mode="json")
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, separators=(",", ": ")) + "\n"


def save_manifest(path: Path | str, manifest: StoreManifest) -> None:
    """Write `manifest` to `path` atomically in canonical form (a crash leaves the old file or the new one)."""
    atomic_write_bytes(path, manifest_json(manifest).encode("utf-8"))


def load_manifest(path: Path | str) -> StoreManifest:
    """Read and validate `manifest.json`. Raises `ManifestError` (`ManifestVersionError` for schema_version ≠ 1)."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ManifestError("the store has no manifest.json", path=path, fix="train the document once") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read manifest: {exc}", path=path, fix=_CORRUPT_FIX) from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"manifest is not valid JSON: {exc}", path=path, line=exc.lineno, fix=_CORRUPT_FIX) from exc
    if not isinstance(data, dict):
        raise ManifestError("manifest must be a JSON object", path=path, fix=_CORRUPT_FIX)
    return manifest_from_dict(data, path=path)


def manifest_from_dict(data: dict[str, Any], *, path: Path | str | None = None) -> StoreManifest:
    """Validate an already-parsed manifest object (same errors as `load_manifest`)."""
    version = data.get("schema_version", MANIFEST_SCHEMA_VERSION)
    if version != MANIFEST_SCHEMA_VERSION:
        raise ManifestVersionError(
            f"manifest schema_version {version!r} is not supported (this app reads version {MANIFEST_SCHEMA_VERSION})",
            found=version,
            path=path,
            fix="open this store with the `dlm` version that wrote it, or migrate it with `dlm migrate`",
        )
    try:
        return StoreManifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "<top>"
        raise ManifestError(
            f"manifest breaks the schema at {where}: {first['msg']} ({exc.error_count()} problem(s))",
            path=path,
            fix=_CORRUPT_FIX,
        ) from exc


# --- changing a manifest ---------------------------------------------------------------------------------------


def new_manifest(dlm_id: str, base_model: str, **fields: Any) -> StoreManifest:
    """A fresh manifest for a new store (created/updated now unless given)."""
    return StoreManifest(dlm_id=dlm_id, base_model=base_model, **fields)


def replace_fields(manifest: StoreManifest, **changes: Any) -> StoreManifest:
    """A validated copy of `manifest` with `changes` applied (unknown keys are refused, as upstream does)."""
    data = manifest.model_dump()
    data.update(changes)
    return StoreManifest.model_validate(data)


def touch(manifest: StoreManifest) -> StoreManifest:
    """A copy with `updated_at` set to now."""
    return replace_fields(manifest, updated_at=utc_now())


def add_training_run(manifest: StoreManifest, run: TrainingRunSummary) -> StoreManifest:
    """A copy with `run` appended to `training_runs`, replacing an entry with the same `run_id`."""
    runs = [existing for existing in manifest.training_runs if existing.run_id != run.run_id]
    return replace_fields(manifest, training_runs=[*runs, run])


def add_export(manifest: StoreManifest, export: ExportSummary) -> StoreManifest:
    """A copy with `export` appended to `exports`."""
    return replace_fields(manifest, exports=[*manifest.exports, export])


def next_run_id(manifest: StoreManifest | None, *also_taken: int | None) -> int:
    """The next training run id: one above every id in `manifest.training_runs` and in `also_taken`.

    Pass the highest run id in `metrics.sqlite` too, so a run that crashed before reaching the manifest does
    not have its metrics overwritten by the next run.
    """
    taken = [run.run_id for run in manifest.training_runs] if manifest is not None else []
    taken.extend(value for value in also_taken if value is not None)
    return max(taken, default=0) + 1


def update_manifest(path: Path | str, change: Callable[[StoreManifest], StoreManifest]) -> StoreManifest:
    """Load, apply `change`, stamp `updated_at`, save atomically; return the saved manifest.

    Hold the store lock (`lock.StoreLock`) around the call when another job could write the same store.
    """
    updated = touch(change(load_manifest(path)))
    save_manifest(path, updated)
    return updated

"""Record a finished export in the document's store, as upstream `dlm` does (SPEC-upstream §7.2 step 8, §8.2, §9).

* `manifest.json`: one `ExportSummary` appended to `exports`, under the store's exclusive lock (upstream
  waits 60 s for it), with upstream's fields only: the base and adapter GGUF sha256 from the export's own
  `export_manifest.json`, `adapter_name` for a single named adapter, `adapter_mix` (`[[name, weight], …]`)
  whenever several adapters were mixed or the mix was chosen by hand. A store without a manifest (adapters
  committed by another tool) gets upstream's first-run manifest first.
* `metrics.sqlite`: one `exports` row (quant, merged, Ollama name, total artifact bytes, duration).

The files are already published when this runs, so a failure here does not undo the export: it comes back
as a sentence that names the fix, shown as a notice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dlm_desktop.core.export.request import ExportResult
from dlm_desktop.core.export.selection import AdapterSelection
from dlm_desktop.core.store.manifest import ExportSummary, StoreManifest, add_export, utc_now
from dlm_desktop.core.store.paths import StorePaths

STORE_LOCK_TIMEOUT_S = 60.0  # upstream's wait for the store lock before appending an export


@dataclass(frozen=True)
class StoreIdentity:
    """What a fresh manifest needs when the store has none yet."""

    dlm_id: str
    base_model: str
    base_model_revision: str | None
    source_path: Path


def export_summary(
    result: ExportResult, paths: StorePaths, *, request_name: str | None, exported_at: datetime
) -> ExportSummary:
    """The `manifest.exports` entry for `result`. `ollama_name` is the name Ollama registered, else the name
    the user asked for (None for the default name when Ollama did not run), as upstream records it."""
    artifacts = _artifacts(result)
    created = result.ollama is not None and result.ollama.status == "created"
    adapter_name, adapter_mix = _adapter_fields(result.selection, paths)
    return ExportSummary(
        exported_at=exported_at,
        target="ollama",
        quant=result.quant,
        merged=result.merged,
        ollama_name=result.ollama_name if created else request_name,
        ollama_version=(result.ollama.version or None) if created else None,
        llama_cpp_tag=_export_manifest(result).get("llama_cpp_tag"),
        base_gguf_sha256=next((a["sha256"] for a in artifacts if a["path"].startswith("base.")), None),
        adapter_gguf_sha256=next((a["sha256"] for a in artifacts if a["path"].startswith("adapter.")), None),
        smoke_output_first_line=None,
        adapter_name=adapter_name,
        adapter_mix=adapter_mix,
    )


def _adapter_fields(
    selection: AdapterSelection, paths: StorePaths
) -> tuple[str | None, list[tuple[str, float]] | None]:
    """`(adapter_name, adapter_mix)`: a flat single adapter has neither; a named one alone has its name."""
    if selection.gate_mode == "single":
        chosen = selection.adapters[0]
        flat = chosen.folder is not None and chosen.folder.resolve().parent == paths.versions_dir(None).resolve()
        return (None if flat else chosen.name), None
    return None, [(name, float(weight)) for name, weight in selection.mix]


def _export_manifest(result: ExportResult) -> dict:
    try:
        value = json.loads(result.manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _artifacts(result: ExportResult) -> list[dict]:
    return [a for a in _export_manifest(result).get("artifacts", []) if isinstance(a, dict)]


def record_export_in_store(
    paths: StorePaths,
    result: ExportResult,
    identity: StoreIdentity,
    *,
    request_name: str | None,
    duration_s: float,
    lock_timeout_s: float = STORE_LOCK_TIMEOUT_S,
) -> str | None:
    """Append the export to the store's manifest and metrics. Returns None, or a sentence when the manifest
    could not be updated (the export's files are complete either way)."""
    from dlm_desktop.core.store.errors import StoreError
    from dlm_desktop.core.store.metrics import ExportRecord, MetricsDB, iso_z

    when = utc_now()
    try:
        summary = export_summary(result, paths, request_name=request_name, exported_at=when)
        _append_summary(paths, summary, identity, lock_timeout_s)
    except StoreError as exc:
        return (f"The export is complete, but it was not recorded in the store's manifest.json: {exc.message}"
                f" Fix: {exc.fix}")
    size = sum(int(a.get("size_bytes", 0)) for a in _artifacts(result))
    MetricsDB.for_store(paths).record_export(ExportRecord(
        quant=result.quant, merged=result.merged, ollama_name=summary.ollama_name, size_bytes=size,
        duration_s=round(duration_s, 3), exported_at=iso_z(when),
    ))
    return None


def _append_summary(paths: StorePaths, summary: ExportSummary, identity: StoreIdentity, timeout: float) -> None:
    from dlm_desktop.core.store.lock import StoreLock
    from dlm_desktop.core.store.manifest import load_manifest, new_manifest, save_manifest, touch

    with StoreLock.for_store(paths, timeout=timeout):
        if paths.manifest.exists():
            manifest: StoreManifest = load_manifest(paths.manifest)
        else:
            manifest = new_manifest(identity.dlm_id, identity.base_model,
                                    base_model_revision=identity.base_model_revision,
                                    source_path=identity.source_path.resolve())
        save_manifest(paths.manifest, touch(add_export(manifest, summary)))

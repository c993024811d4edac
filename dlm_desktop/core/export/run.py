"""`run_export`: one call from a trained document to a published export folder (A1 row 5).

resolve the base and the adapters → (mix) → base GGUF (cached by checksum; quantized with llama.cpp) →
adapter GGUF, or the mix merged into the base → Modelfile → optional parity check → export_manifest.json →
atomic publish → optional `ollama create` (under `<DLM home>/ollama.lock`) → the export recorded in the
store (`manifest.json` exports, a `metrics.sqlite` exports row). Everything is written in a staging folder
first, so a failed, stopped or killed export never leaves a partial file among the artifacts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dlm_desktop.core.export.errors import ExportCancelled
from dlm_desktop.core.export.events import ExportEvent, ExportNotice, ExportProgress, ShouldStop, never_stop
from dlm_desktop.core.export.gguf_base import CONVERTER_VERSION, write_base_gguf
from dlm_desktop.core.export.gguf_lora import write_adapter_gguf
from dlm_desktop.core.export.hf_checkpoint import read_json
from dlm_desktop.core.export.lora_weights import LoraWeights, read_peft_adapter
from dlm_desktop.core.export.manifest import MANIFEST_NAME, Artifact, build_manifest, manifest_text
from dlm_desktop.core.export.mix import WeightedAdapter, exact_mix
from dlm_desktop.core.export.modelfile import (
    ModelfileSpec,
    collect_stops,
    default_ollama_name,
    header_lines,
    render_modelfile,
    sampling_defaults,
    validate_ollama_name,
)
from dlm_desktop.core.export.ollama import create_model, find_ollama
from dlm_desktop.core.export.quantize import quantize_gguf
from dlm_desktop.core.export.request import ExportRequest, ExportResult
from dlm_desktop.core.export.selection import AdapterSelection, resolve_export_adapters
from dlm_desktop.core.export.staging import BaseCache, Staging, link_or_copy

ADAPTER_FILE = "adapter.gguf"
MODELFILE = "Modelfile"


@dataclass(frozen=True)
class _Plan:
    """Everything decided before any file is written."""

    request: ExportRequest
    frontmatter: Any
    spec: Any
    model_dir: Path
    revision: str | None
    selection: AdapterSelection
    quant: str
    name: str
    out_dir: Path

    @property
    def base_file(self) -> str:
        return f"base.{self.quant}.gguf"


def gguf_cache_root() -> Path:
    """Where converted base GGUFs are cached: `$DLM_DESKTOP_GGUF_CACHE`, else `<model cache>/gguf`."""
    import os

    from dlm_desktop.core.models.cache import model_cache_dir

    override = os.environ.get("DLM_DESKTOP_GGUF_CACHE", "").strip()
    return Path(override).expanduser() if override else model_cache_dir() / "gguf"


def default_out_dir(document_path: Path) -> Path:
    """`<document folder>/<document name>-export/`, beside the document (never a hidden folder)."""
    return document_path.parent / f"{document_path.stem}-export"


def run_export(
    request: ExportRequest,
    *,
    should_stop: ShouldStop = never_stop,
    torch_view_factory: Callable[..., Any] | None = None,
) -> Generator[ExportEvent, None, ExportResult]:
    """Export `request.document_path`'s trained adapters. Yields `ExportProgress`/`ExportLog`/`ExportNotice`
    events and returns an `ExportResult`. Raises typed `ExportError`s (`ExportCancelled` when stopped),
    document and model errors; on any failure nothing is published. Ollama trouble is not a failure:
    `result.ollama` says what happened and which command to run."""
    started = time.monotonic()
    timings: dict[str, float] = {}
    plan = yield from _timed(timings, "plan", _plan(request, should_stop))
    staging = Staging(plan.out_dir)
    try:
        result = yield from _build(plan, staging, should_stop, torch_view_factory, timings)
    except BaseException:
        staging.discard()
        raise
    if request.ollama:
        from dlm_desktop.core.store.paths import ollama_lock_path

        outcome = yield from _timed(timings, "ollama", create_model(
            find_ollama(), plan.name, plan.out_dir, should_stop=should_stop, lock_path=ollama_lock_path(request.home)))
        yield ExportNotice(outcome.message)
        result = replace(result, ollama=outcome, seconds=dict(timings))
    problem = _record_in_store(plan, result, time.monotonic() - started)
    if problem:
        yield ExportNotice(problem)
        result = replace(result, notices=(*result.notices, problem))
    return result


def _record_in_store(plan: _Plan, result: ExportResult, duration_s: float) -> str | None:
    """Append the export to the store's manifest and metrics (upstream's records); a sentence if that failed."""
    from dlm_desktop.core.export.store_record import StoreIdentity, record_export_in_store
    from dlm_desktop.core.store.paths import StorePaths

    front = plan.frontmatter
    identity = StoreIdentity(front.dlm_id, plan.spec.key, plan.revision, plan.request.document_path)
    return record_export_in_store(StorePaths.for_dlm(front.dlm_id, home=plan.request.home), result, identity,
                                  request_name=plan.request.name, duration_s=duration_s)


def _timed(timings: dict[str, float], stage: str, job: Generator) -> Generator:
    started = time.monotonic()
    value = yield from job
    timings[stage] = timings.get(stage, 0.0) + time.monotonic() - started
    return value


def _check(should_stop: ShouldStop, stage: str) -> None:
    if should_stop():
        raise ExportCancelled(f"the export was stopped ({stage}); nothing was published", fix="start it again")


def _plan(request: ExportRequest, should_stop: ShouldStop) -> Generator[ExportEvent, None, _Plan]:
    from dlm_desktop.core.document.parse import parse_file
    from dlm_desktop.core.models.resolve import resolve_base
    from dlm_desktop.core.store.paths import StorePaths

    front = parse_file(request.document_path).frontmatter
    yield ExportProgress("resolve", "Finding the base model…")
    for event in _forward(resolve_base(front.base_model, offline=request.offline, should_stop=should_stop)):
        if isinstance(event, ExportProgress):
            yield event
        else:
            resolved = event
    store = StorePaths.for_dlm(front.dlm_id, home=request.home)
    training = front.training
    selection = resolve_export_adapters(training.adapter_names(), store, mix=request.mix, adapter=request.adapter,
                                        gate_enabled=training.gate.enabled)
    if selection.notice:
        yield ExportNotice(selection.notice)
    version = max(selection.versions.values(), default=1)
    name = validate_ollama_name(request.name) if request.name else default_ollama_name(front.dlm_id, version)
    out_dir = request.out_dir or default_out_dir(request.document_path.resolve())
    return _Plan(request, front, resolved.spec, resolved.local_dir, resolved.revision or resolved.spec.revision,
                 selection, request.quant or front.export.default_quant, name, out_dir)


def _forward(job: Generator) -> Generator:
    """Re-yield a model job's progress as export progress; yield its return value last."""
    while True:
        try:
            event = next(job)
        except StopIteration as finished:
            yield finished.value
            return
        yield ExportProgress("resolve", event.message)


def _build(plan: _Plan, staging: Staging, should_stop, torch_view_factory, timings) -> Generator:
    lora = yield from _timed(timings, "adapters", _load_lora(plan.selection, should_stop))
    base_path = staging.path(plan.base_file)
    if plan.request.merged:
        cached = False
        yield from _timed(timings, "convert-base", _merged_base(plan, lora, staging, should_stop))
    else:
        cached = yield from _timed(timings, "convert-base", _cached_base(plan, base_path, should_stop))
        _check(should_stop, "adapter")
        started = time.monotonic()
        write_adapter_gguf(lora, read_json(plan.model_dir / "config.json", what="config.json"),
                           staging.path(ADAPTER_FILE), name=plan.name)
        timings["convert-adapter"] = time.monotonic() - started
        yield ExportProgress("convert-adapter", "Wrote the adapter", 1, 1)
    adapter_path = None if plan.request.merged else staging.path(ADAPTER_FILE)
    dialect = _write_modelfile(plan, staging)
    parity = None
    if plan.request.parity:
        from dlm_desktop.core.export.parity import document_prompts, parity_for_files

        prompts = document_prompts(plan.request.document_path)
        parity = yield from _timed(timings, "parity", parity_for_files(
            base_path, adapter_path, plan.model_dir, plan.selection, plan.quant, prompts,
            plan.frontmatter.system_prompt, torch_view_factory, should_stop))
        yield ExportNotice(f"Parity with the app's model: top-1 agreement {parity['top1_agreement']:.0%}, "
                           f"{'passed' if parity['passed'] else 'below the expected level'}.")
    _check(should_stop, "publish")
    names = _write_manifest(plan, staging, base_path, adapter_path, parity)
    yield ExportProgress("publish", f"Publishing to {plan.out_dir}")
    staging.publish(names)
    out = plan.out_dir
    return ExportResult(
        out_dir=out, quant=plan.quant, merged=plan.request.merged, base_gguf=out / plan.base_file,
        adapter_gguf=None if adapter_path is None else out / ADAPTER_FILE, modelfile=out / MODELFILE,
        manifest=out / MANIFEST_NAME, ollama_name=plan.name, dialect=dialect, selection=plan.selection,
        base_model_dir=plan.model_dir, base_cached=cached, parity=parity, seconds=dict(timings),
        notices=(plan.selection.notice,) if plan.selection.notice else (),
    )


def _load_lora(selection: AdapterSelection, should_stop) -> Generator[ExportEvent, None, LoraWeights]:
    """Read the contributing adapters; one adapter at weight 1 is used as is, anything else is mixed."""
    terms = []
    for index, chosen in enumerate(selection.active, start=1):
        _check(should_stop, "adapters")
        yield ExportProgress("adapters", f"Reading adapter {chosen.name} (v{chosen.version:04d})",
                             index, len(selection.active))
        terms.append(WeightedAdapter(chosen.name, read_peft_adapter(chosen.folder), chosen.weight))
    if len(terms) == 1 and terms[0].weight == 1.0:
        return terms[0].weights
    yield ExportProgress("mix", f"Mixing {len(terms)} adapters exactly (rank "
                                f"{sum(next(iter(t.weights.modules.values())).rank for t in terms)})")
    return exact_mix(terms)


def _cached_base(plan: _Plan, target: Path, should_stop) -> Generator[ExportEvent, None, bool]:
    """Place `base.<QUANT>.gguf` in staging from the conversion cache, converting (and quantizing) once."""
    cache = BaseCache(gguf_cache_root())
    key = cache.model_fingerprint(plan.model_dir, f"{CONVERTER_VERSION}|{plan.spec.tokenizer_pre}")
    hit = cache.lookup(key, plan.quant)
    if hit is None:
        f16 = cache.lookup(key, "F16")
        if f16 is None:
            temporary, final = cache.slot(key, "F16")
            yield from _convert(plan, temporary, None, should_stop)
            f16 = cache.commit(temporary, final, "F16")
        hit = f16
        if plan.quant != "F16":
            temporary, final = cache.slot(key, plan.quant)
            yield from _quantize(f16, temporary, plan.quant)
            hit = cache.commit(temporary, final, plan.quant)
        cached = False
    else:
        cached = True
        yield ExportProgress("convert-base", "Using the base model converted earlier", 1, 1)
    link_or_copy(hit, target)
    return cached


def _merged_base(plan: _Plan, lora: LoraWeights, staging: Staging, should_stop) -> Generator:
    """Convert the base with the mix folded into its weights, then quantize it over `base.<QUANT>.gguf`."""
    target = staging.path(plan.base_file)
    if plan.quant == "F16":
        yield from _convert(plan, target, lora, should_stop)
        return
    merged_f16 = staging.path("merged.F16.gguf")
    yield from _convert(plan, merged_f16, lora, should_stop)
    yield from _quantize(merged_f16, target, plan.quant)
    merged_f16.unlink()


def _convert(plan: _Plan, out: Path, lora: LoraWeights | None, should_stop) -> Generator:
    delta = lora.delta if lora is not None else None
    yield from write_base_gguf(plan.model_dir, out, outtype="F16", tokenizer_pre=plan.spec.tokenizer_pre,
                               name=plan.spec.key, context_length=plan.spec.context_length or None,
                               weight_delta=delta, should_stop=should_stop)


def _quantize(source: Path, target: Path, quant: str) -> Generator[ExportEvent, None, None]:
    from dlm_desktop.core.export.events import ExportLog

    yield ExportProgress("quantize", f"Quantizing to {quant} with llama.cpp…")
    result = quantize_gguf(source, target, quant)
    for line in result.log:
        yield ExportLog("quantize", line)
    yield ExportProgress("quantize", f"Quantized to {quant} in {result.seconds:.1f} s", 1, 1)


def _write_modelfile(plan: _Plan, staging: Staging) -> str:
    front, spec = plan.frontmatter, plan.spec
    temperature, top_p = sampling_defaults(spec.dialect, reasoning_tuned=spec.reasoning_tuned,
                                           temperature=front.export.default_temperature,
                                           top_p=front.export.default_top_p)
    num_ctx = min(front.training.sequence_len, spec.context_length or front.training.sequence_len)
    mix = ", ".join(f"{name}:{weight:g}" for name, weight in plan.selection.mix)
    header = header_lines([
        ("", f"Generated by {_created_by()}"), ("Source", str(plan.request.document_path)),
        ("dlm_id", front.dlm_id), ("adapter_version", str(max(plan.selection.versions.values(), default=1))),
        ("gate_mode", plan.selection.gate_mode), ("adapter_mix", mix),
        ("base_model", f"{spec.key} (revision {plan.revision or 'unknown'})"),
        ("quant", plan.quant), ("merged", str(plan.request.merged).lower()),
    ])
    text = render_modelfile(ModelfileSpec(
        base_file=plan.base_file, adapter_file=None if plan.request.merged else ADAPTER_FILE, dialect=spec.dialect,
        stops=collect_stops(spec.dialect, _tokenizer_dir(plan)), temperature=temperature, top_p=top_p,
        num_ctx=num_ctx, system=front.system_prompt, license=spec.license_spdx or None, header=header,
    ))
    staging.path(MODELFILE).write_text(text, encoding="utf-8", newline="\n")
    return spec.dialect


def _created_by() -> str:
    from dlm_desktop.core.export.manifest import created_by

    return created_by()


def _tokenizer_dir(plan: _Plan) -> Path:
    """The adapter's own tokenizer files when it saved them (they may add tokens), else the base's."""
    for chosen in plan.selection.active:
        if chosen.folder is not None and (chosen.folder / "tokenizer_config.json").is_file():
            return chosen.folder
    return plan.model_dir


def _write_manifest(plan: _Plan, staging: Staging, base: Path, adapter: Path | None, parity) -> list[str]:
    """Write the manifest in staging; return the publish order (manifest last)."""
    artifacts = [Artifact.of(base)] + ([Artifact.of(adapter)] if adapter is not None else [])
    manifest = build_manifest(
        quant=plan.quant, merged=plan.request.merged, ollama_name=plan.name, base_model_hf_id=plan.spec.hf_id,
        base_model_revision=plan.revision, adapter_versions=plan.selection.versions, artifacts=artifacts,
        gate_mode=plan.selection.gate_mode, adapter_mix=plan.selection.mix, parity=parity,
    )
    staging.path(MANIFEST_NAME).write_text(manifest_text(manifest), encoding="utf-8", newline="\n")
    return [artifact.path for artifact in artifacts] + [MODELFILE, MANIFEST_NAME]

"""Getting a run ready: the base model on disk, the tokenizer, every adapter's examples and step plan, the
hardware plan, and the run's fingerprint. Tokenizing comes before the model load, so a document problem is
reported before seconds are spent loading weights.

The fingerprint is a hash of everything that decides the trained weights (examples, adapter settings,
schedule, batch layout, base model, precision, seed). A checkpoint is resumed only when the fingerprint of
the new run equals the checkpoint's; otherwise the interrupted run cannot be continued exactly.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generator

from dlm_desktop.core.models import ModelProgress, ResolvedBase, TokenizerBringup, bring_up_tokenizer, resolve_base
from dlm_desktop.core.runtime import (
    Backend,
    ModelShape,
    TrainingKnobs,
    TrainingPlan,
    capabilities_from_facts,
    pick_backend,
    plan_training,
    probe_host,
    resolve_override,
)
from dlm_desktop.core.runtime.refusals import CPU_PARAM_LIMIT
from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.training.adapters import LoadSettings
from dlm_desktop.core.training.batching import DataPlan, make_data_plan
from dlm_desktop.core.training.datasets import AdapterRows, adapter_rows
from dlm_desktop.core.training.errors import NothingToTrainError
from dlm_desktop.core.training.events import ModelLoading
from dlm_desktop.core.training.examples import ExampleSet, build_examples
from dlm_desktop.core.training.hparams import (
    AdapterHparams,
    RunHparams,
    ScheduleSpec,
    adapter_hparams,
    run_hparams,
    schedule_for,
)
from dlm_desktop.core.training.request import TrainRequest


@dataclass(frozen=True)
class StagePlan:
    """One adapter's stage: its settings, rows, tokenized examples, step plan and schedule."""

    adapter: AdapterHparams
    rows: AdapterRows
    train: ExampleSet
    val: ExampleSet
    data: DataPlan
    schedule: ScheduleSpec
    eval_every: int


@dataclass(frozen=True)
class Prepared:
    """A run ready to load its model: see the module docstring."""

    request: TrainRequest
    report: Any
    paths: StorePaths
    resolved: ResolvedBase
    bringup: TokenizerBringup
    plan: TrainingPlan
    settings: LoadSettings
    run: RunHparams
    stages: tuple[StagePlan, ...]
    max_steps: int | None
    token_budget: int
    fingerprint: str
    notices: tuple[str, ...] = ()

    @property
    def base_key(self) -> str:
        """The base model reference used (the request's override, else the document's)."""
        return self.request.base or self.report.frontmatter.base_model


def resolve_model(
    request: TrainRequest, base_ref: str, should_stop: Callable[[], bool]
) -> Generator[ModelLoading, None, ResolvedBase]:
    """Find (download or convert when needed) the base model's files, relaying progress as `ModelLoading`."""
    job = resolve_base(base_ref, offline=request.offline, should_stop=should_stop)
    return (yield from relay_model_progress(job))


def relay_model_progress(job: Generator[ModelProgress, None, Any]) -> Generator[ModelLoading, None, Any]:
    """Re-yield a `core.models` job's `ModelProgress` events as `ModelLoading` and return its result."""
    while True:
        try:
            progress = next(job)
        except StopIteration as finished:
            return finished.value
        yield ModelLoading(progress.stage, progress.message, progress.fraction, progress)


def prepare(
    request: TrainRequest, report: Any, paths: StorePaths, resolved: ResolvedBase, max_steps: int | None
) -> Prepared:
    """Tokenize every adapter's rows, plan the hardware and the steps, and fingerprint the run."""
    training = report.frontmatter.training
    spec = resolved.spec
    seq_len = min(training.sequence_len, spec.usable_context_length or training.sequence_len)
    bringup = bring_up_tokenizer(resolved.local_dir)
    run = run_hparams(training, seq_len)
    adapters = adapter_hparams(training, spec.target_modules)
    selected = adapter_rows(report)
    examples = [_tokenize(rows, bringup.tokenizer, report, request, seq_len) for rows in selected]
    longest = max(example.length for train, _ in examples for example in train.examples)
    most_rows = max(len(train.examples) for train, _ in examples)
    plan, settings = _plan(request, training, spec, adapters, longest, most_rows, resolved.local_dir)
    rows_per_step = plan.micro_batch_size * plan.grad_accum
    stages = tuple(
        _stage(adapter, rows, train, val, run, rows_per_step, max_steps, request.eval_every)
        for adapter, rows, (train, val) in zip(adapters, selected, examples)
    )
    budget = plan.micro_batch_size * plan.seq_len
    notices = _notices(resolved, plan, run, stages)
    fingerprint = run_fingerprint(resolved, bringup, settings, run, stages, budget, request)
    return Prepared(request, report, paths, resolved, bringup, plan, settings, run, stages, max_steps, budget,
                    fingerprint, notices)


def _tokenize(rows: AdapterRows, tokenizer: Any, report: Any, request: TrainRequest, seq_len: int):
    if not rows.train:
        where = "this document" if rows.name == "default" else f"adapter {rows.name!r}"
        raise NothingToTrainError(
            f"{where} has no prose or instruction rows to train on (after the validation split)",
            path=report.parsed.path,
            fix="add prose or ::instruction:: sections"
            + ("" if rows.name == "default" else f" routed to #{rows.name}"),
        )
    def build(selected):
        return build_examples(selected, tokenizer, max_len=seq_len, system_prompt=report.frontmatter.system_prompt,
                              mask_prompt=request.mask_prompt_tokens)
    train = build(rows.train)
    if not train.examples:
        raise NothingToTrainError(
            f"no row of adapter {rows.name!r} keeps an answer within sequence_len {seq_len}",
            path=report.parsed.path, fix="raise training.sequence_len or shorten the questions",
        )
    return train, build(rows.val)


def _plan(request: TrainRequest, training: Any, spec: Any, adapters: list[AdapterHparams], longest: int,
          rows: int, local_dir: Path):
    """The hardware plan, sized for the longest real example rather than the configured maximum, and for at
    most `rows` (the largest adapter's training examples) sequences per micro-batch."""
    facts = probe_host()
    override, _ = resolve_override(request.backend)
    caps = capabilities_from_facts(facts, pick_backend(facts, override))
    kinds = {adapter.kind for adapter in adapters}
    knobs = TrainingKnobs(
        adapter="qlora" if "qlora" in kinds else adapters[0].kind,
        lora_r=max(adapter.r for adapter in adapters),
        micro_batch_size=training.micro_batch_size,
        grad_accum=training.grad_accum,
        precision=training.precision,
        sequence_len=longest,
    )
    shape = _shape(spec, local_dir)
    plan = plan_training(caps, knobs, spec.params or 0, longest, request.force, shape=shape, rows=rows)
    settings = LoadSettings(
        precision=plan.precision, attn_implementation=plan.attn_implementation, device=_device(caps),
        use_qlora=plan.use_qlora, gradient_checkpointing=_checkpointing(plan, caps),
    )
    return plan, settings


def _checkpointing(plan: TrainingPlan, caps: Any) -> bool:
    """Recompute activations only when memory demands it. The planner sizes for full-length rows and logits
    on every position; on the CPU, bases within its size limit fit in RAM without it, and recomputing would
    cost a third more time per step."""
    if caps.backend is Backend.CPU and plan.base_params <= CPU_PARAM_LIMIT:
        return False
    return plan.gradient_checkpointing


def _shape(spec: Any, local_dir: Path) -> ModelShape | None:
    """The base's layers, width and vocabulary from its `config.json`; guessed from the parameter count when
    the file is missing or unreadable."""
    if not spec.params:
        return None
    try:
        config = json.loads((Path(local_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ModelShape.guess(spec.params)
    return ModelShape.from_config(config if isinstance(config, dict) else {}, spec.params)


def _device(caps: Any) -> str:
    if caps.backend is Backend.MLX:  # the MLX trainer is a separate path; torch runs on MPS or the CPU here
        import torch

        return "mps" if torch.backends.mps.is_available() else "cpu"
    return caps.device


def _stage(adapter, rows, train, val, run: RunHparams, rows_per_step: int, max_steps, eval_every) -> StagePlan:
    data = make_data_plan(len(train.examples), rows_per_step, run.num_epochs, max_steps)
    every = eval_every or max(1, data.total_steps // 4)
    schedule = schedule_for(run, rows.prose_rows, rows.instruction_rows)
    return StagePlan(adapter, rows, train, val, data, schedule, every)


def _notices(resolved: ResolvedBase, plan: TrainingPlan, run: RunHparams, stages: tuple[StagePlan, ...]):
    found = [resolved.note, resolved.spec.capability_warning, *plan.warnings]
    if run.optimizer_fallback:
        found.append(f"optimizer {run.optimizer} needs extra packages; training uses torch's AdamW instead")
    for stage in stages:
        who = f"adapter {stage.adapter.name!r}: " if stage.adapter.store_name else ""
        if stage.train.truncated:
            found.append(f"{who}{stage.train.truncated} instruction row(s) were cut at sequence_len")
        if stage.train.dropped:
            found.append(f"{who}{stage.train.dropped} row(s) kept no answer within sequence_len and were left out")
        if stage.rows.preference_rows:
            found.append(f"{who}{stage.rows.preference_rows} preference row(s) are not used by supervised training")
    return tuple(message for message in found if message)


def run_fingerprint(resolved, bringup, settings, run, stages, budget: int, request: TrainRequest) -> str:
    """The hash that decides whether a checkpoint belongs to this run (module docstring)."""
    digest = hashlib.sha256()
    header = {
        "base": resolved.spec.key, "revision": resolved.revision or resolved.spec.revision,
        "vocab": len(bringup.tokenizer), "settings": vars(settings), "run": _plain(run), "budget": budget,
        "mask": request.mask_prompt_tokens,
    }
    digest.update(json.dumps(header, sort_keys=True, default=str).encode())
    for stage in stages:
        part = {"adapter": stage.adapter.as_dict(), "data": vars(stage.data), "schedule": vars(stage.schedule)}
        digest.update(json.dumps(part, sort_keys=True).encode())
        for example in (*stage.train.examples, *stage.val.examples):
            digest.update(repr((example.input_ids, example.labels)).encode())
    return digest.hexdigest()


def _plain(run: RunHparams) -> dict[str, Any]:
    data = dict(vars(run))
    data["schedule"] = vars(run.schedule)
    return data

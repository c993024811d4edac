"""A training run on MLX: the torch run's stages, events, checkpoints, store versions and gate, with the base
model loaded in MLX and each adapter trained by `mlx_loop`.

`MlxTrainingRun` is a `TrainingRun` whose model-facing parts are replaced: the base loads once through
mlx-lm's model classes; each adapter stage puts fresh trainable LoRA layers (seeded by the run seed, PEFT's
initialisation) on the adapter's target layers, trains them, and keeps the weights in PEFT's form
(`lora_A` = `lora_a`ᵀ, `lora_B` = `lora_b`ᵀ, keys `base_model.model.<path>.lora_{A,B}.weight`). Versions are
then written exactly as the torch engine writes them (`version_files.write_version`, a PEFT folder), so chat,
export and resume read them with either runtime. Checkpoints use the same folder; the optimizer state is
MLX's (marked `runtime: mlx`), so an exact resume continues on MLX, and a torch checkpoint is not replayed
here (the run then starts from the current adapter weights, upstream's resume). The gate (documents with
several adapters and `gate.enabled`) embeds its prompts with a torch copy of the base, loaded only then.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Generator

from dlm_desktop.core.store.versions import parse_version_name, resolve_current
from dlm_desktop.core.training.checkpoint import StageRecord, discard_checkpoint, load_checkpoint
from dlm_desktop.core.training.errors import AdapterSetupError, CheckpointError
from dlm_desktop.core.training.events import ModelLoading, Notice, StageStarted, TrainingEvent
from dlm_desktop.core.training.loop import StageEnd
from dlm_desktop.core.training.resume import StartPoint, fresh_records
from dlm_desktop.core.training.run import TrainingRun, _Hooks
from dlm_desktop.core.training.version_files import ADAPTER_WEIGHTS, load_tensors

PEFT_PREFIX = "base_model.model."
_TORCH_FIX = "train with the torch runtime: set DLM_DESKTOP_BACKEND=cpu (or mps, cuda)"


class MlxTrainingRun(TrainingRun):
    """`TrainingRun` on MLX (module docstring)."""

    def __init__(self, prepared: Any, should_stop: Callable[[], bool], started: float) -> None:
        super().__init__(prepared, should_stop, started)
        self.model: Any = None
        self.trained: dict[str, dict[str, Any]] = {}  # adapter -> PEFT state (CPU torch tensors)
        self.initial: dict[str, dict[str, Any]] = {}  # adapter -> PEFT state to start from (resume)
        self.live: dict[str, Any] = {}  # module path -> trainable layer of the stage in progress
        self.live_name: str | None = None

    # --- model ---------------------------------------------------------------------------------------------

    def load_model(self) -> Generator[TrainingEvent, None, None]:
        """Load the base in MLX once and decide where the run starts."""
        from dlm_desktop.core.mlx.loading import load_base_model

        p = self.p
        _refuse_unsupported(p)
        yield ModelLoading("load-base", f"Loading {p.base_key} in MLX (fp32)…")
        self.model, _ = load_base_model(p.resolved.local_dir, vocab_size=len(p.bringup.tokenizer))
        self.model.freeze()
        self.start = self._choose_start()
        self.records = list(self.start.records)
        self.finished_states = dict(self.start.stage_state.get("finished", {}))
        self.committed = dict(self.start.committed)
        for message in self.start.notices:
            yield Notice(message)

    def _choose_start(self) -> StartPoint:
        paths = self.p.paths
        if not self.p.request.resume:
            discard_checkpoint(paths)
            return StartPoint(fresh_records(self.p))
        notices: list[str] = []
        try:
            checkpoint = load_checkpoint(paths)
        except CheckpointError as exc:
            checkpoint, notices = None, [f"the interrupted run's checkpoint is damaged ({exc.message}); not used"]
        if checkpoint is not None and checkpoint.meta.fingerprint == self.p.fingerprint and _is_mlx(checkpoint):
            return self._exact_start(checkpoint)
        if checkpoint is not None:
            notices.append("the interrupted run cannot continue exactly on MLX (other settings or runtime); "
                           "training starts from the current adapter weights instead")
        return StartPoint(fresh_records(self.p), notices=notices + self._current_weights())

    def _exact_start(self, checkpoint: Any) -> StartPoint:
        meta = checkpoint.meta
        self.initial = {name: dict(weights) for name, weights in checkpoint.adapter_weights.items()}
        for record in meta.stages[: meta.stage_index]:
            if record.adapter in self.initial:
                self.trained[record.adapter] = self.initial[record.adapter]
        committed = {name: self.p.paths.root / relative for name, relative in meta.committed.items()}
        return StartPoint(records=list(meta.stages), stage_index=meta.stage_index,
                          stage_state=dict(checkpoint.stage_state or {}), host_rng=dict(meta.host_rng),
                          committed=committed, exact=True, notices=["resuming the interrupted run exactly (MLX)"])

    def _current_weights(self) -> list[str]:
        notes = []
        for stage in self.p.stages:
            current = resolve_current(self.p.paths, stage.adapter.store_name)
            if current is None:
                notes.append(f"adapter {stage.adapter.name!r} has no saved version yet; it starts fresh")
                continue
            self.initial[stage.adapter.name] = load_tensors(current / ADAPTER_WEIGHTS)
            notes.append(f"adapter {stage.adapter.name!r} continues from {self.p.paths.relative(current)}")
        return notes

    # --- stages --------------------------------------------------------------------------------------------

    def _run_stage(self, index: int) -> Generator[TrainingEvent, None, StageEnd]:
        from dlm_desktop.core.training.determinism import restore_host_rng
        from dlm_desktop.core.training.mlx_loop import MlxStage, OptimizerState, train_stage_mlx

        stage = self.p.stages[index]
        resumed = self.start is not None and self.start.exact and index == self.start.stage_index
        record = self._open_stage(index, resumed and self.records[index].steps > 0)
        yield StageStarted("adapter", stage.adapter.name, stage.data.total_steps, index, self._stage_count(),
                           record.steps)
        if resumed and self.start and self.start.host_rng:
            restore_host_rng(self.start.host_rng)
        live = MlxStage(self.model, self._attach(stage.adapter), stage, self.p.run, self.p.token_budget,
                        self.p.bringup.tokenizer.pad_token_id or 0, self.p.request.checkpoint_interval_s)
        current = self.start.stage_state.get("current") if resumed and self.start else None
        if current and current.get("optimizer_state_dict", {}).get("runtime") == "mlx":
            OptimizerState(live.optimizer).load_state_dict(current["optimizer_state_dict"])
        try:
            end = yield from train_stage_mlx(live, record, _Hooks(self, index), self.should_stop)
        finally:
            self._detach()
        self.records[index] = end.record
        return end

    def _attach(self, adapter: Any) -> Any:
        """Fresh trainable LoRA layers for `adapter` (or its saved weights), and its AdamW optimizer."""
        import mlx.core as mx
        import mlx.optimizers as optim

        from dlm_desktop.core.mlx.lora import attach_trainable, target_paths

        paths = target_paths(self.model, adapter.target_modules)
        if not paths:
            raise AdapterSetupError(f"adapter {adapter.name!r} matches no linear layer of this base "
                                    f"(target_modules {list(adapter.target_modules)})",
                                    fix="use `auto`, or names of linear layers of this base (e.g. q_proj, v_proj)")
        mx.random.seed(self.p.run.seed)  # each adapter starts from the same draw, whatever trained before
        self._originals = attach_trainable(self.model, paths, rank=adapter.r, scale=adapter.alpha / adapter.r,
                                           dropout=adapter.dropout)
        modules = dict(self.model.named_modules())
        self.live = {path: modules[path] for path in paths}
        self.live_name = adapter.name
        saved = self.initial.get(adapter.name)
        if saved is not None:
            self._load_peft_state(saved)
        for layer in self.live.values():
            layer.unfreeze(keys=["lora_a", "lora_b"], recurse=False)
        self.model.train()
        return optim.AdamW(learning_rate=adapter.learning_rate, weight_decay=self.p.run.weight_decay)

    def _load_peft_state(self, state: dict[str, Any]) -> None:
        import mlx.core as mx

        for path, layer in self.live.items():
            a, b = state.get(f"{PEFT_PREFIX}{path}.lora_A.weight"), state.get(f"{PEFT_PREFIX}{path}.lora_B.weight")
            if a is None or b is None or tuple(a.shape) != tuple(layer.lora_a.T.shape):
                raise AdapterSetupError(f"the saved weights of adapter {self.live_name!r} do not fit {path!r}",
                                        fix="train without resuming (the adapter settings changed)")
            layer.lora_a = mx.array(a.float().numpy()).T
            layer.lora_b = mx.array(b.float().numpy()).T

    def live_state(self) -> dict[str, Any]:
        """The stage in progress's LoRA weights in PEFT's form (CPU torch tensors)."""
        import numpy as np
        import torch

        state = {}
        for path, layer in self.live.items():
            state[f"{PEFT_PREFIX}{path}.lora_A.weight"] = torch.from_numpy(np.array(layer.lora_a.T)).contiguous()
            state[f"{PEFT_PREFIX}{path}.lora_B.weight"] = torch.from_numpy(np.array(layer.lora_b.T)).contiguous()
        return state

    def _detach(self) -> None:
        from dlm_desktop.core.mlx.lora import detach

        if self.live_name is not None:
            self.trained[self.live_name] = self.live_state()
            detach(self.model, self._originals)
        self.live, self.live_name = {}, None
        self.model.eval()

    # --- checkpoints, versions, gate -----------------------------------------------------------------------

    def _adapter_weights(self, upto: int) -> dict[str, dict[str, Any]]:
        weights = {}
        for stage in self.p.stages[: upto + 1]:
            name = stage.adapter.name
            if name == self.live_name:
                weights[name] = self.live_state()
            elif name in self.trained:
                weights[name] = self.trained[name]
        return weights

    def _save_checkpoint(self, stage_index: int, current: dict | None, record: StageRecord | None) -> Path:
        from dlm_desktop.core.training import mlx_versions

        return mlx_versions.save_run_checkpoint(self, stage_index, current, record)

    def _reject(self, index: int, end: StageEnd) -> None:
        from dlm_desktop.core.training import mlx_versions

        mlx_versions.reject(self, index, end)

    def _commit_all(self) -> Generator[TrainingEvent, None, None]:
        from dlm_desktop.core.training import mlx_versions

        yield from mlx_versions.commit_all(self)

    def _gate(self) -> Generator[TrainingEvent, None, Any]:
        from dlm_desktop.core.training.adapters import load_base
        from dlm_desktop.core.training.gate_stage import gate_applies

        if not gate_applies(self.p.report.frontmatter):
            return None
        yield ModelLoading("load-base", "Loading the base in torch to embed the gate's prompts…")
        self.peft_model = load_base(self.p.resolved.local_dir, self.p.settings)
        try:
            return (yield from super()._gate())
        finally:
            self.peft_model = None


def _is_mlx(checkpoint: Any) -> bool:
    state = checkpoint.stage_state or {}
    current = state.get("current") or {}
    finished = state.get("finished") or {}
    marks = [current.get("optimizer_state_dict", {}).get("runtime")] if current else []
    marks += [item.get("optimizer_state_dict", {}).get("runtime") for item in finished.values()]
    return bool(marks) and all(mark == "mlx" for mark in marks)


def _refuse_unsupported(prepared: Any) -> None:
    if prepared.bringup.grew:
        raise AdapterSetupError("the tokenizer gained a pad token, so the embeddings must train too, which the MLX "
                                "runtime does not do", fix=_TORCH_FIX)
    for stage in prepared.stages:
        if stage.adapter.use_dora or stage.adapter.kind == "qlora":
            raise AdapterSetupError(f"adapter {stage.adapter.name!r} is {stage.adapter.kind}; the MLX runtime trains "
                                    "plain LoRA", fix="set the adapter to lora, or " + _TORCH_FIX)


def committed_number(folder: Path) -> int:
    """The version number of a committed folder."""
    number = parse_version_name(folder.name)
    assert number is not None
    return number


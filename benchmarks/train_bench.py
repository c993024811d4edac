"""Our training engine against TRL's `SFTTrainer` (its default configuration), same rows, model and budget.

    pip install trl==1.16.0      # for this benchmark only: TRL is NOT a dependency of the project
    python benchmarks/train_bench.py [--steps 20] [--threads N] [--order ours,trl] [--rounds 1]

Same on both sides
* Rows: the training and validation examples of `resources/examples/getting-started.dlm`, built by our own
  pipeline (`session.prepare`: document -> rows -> train/val split -> chat template -> token ids + labels).
  TRL receives them pre-tokenized (`input_ids` + `labels` columns, which it uses as they are), so both sides
  train on identical token sequences and identical targets (the assistant's answer for instruction rows,
  every token for prose).
* Model: the offline SmolLM2-135M-Instruct folder our model layer resolves (`resolve_base(offline=True)`),
  fp32, SDPA attention.
* Maximum sequence length (the document's), effective batch (our plan's micro-batch x accumulation, given to
  TRL as `per_device_train_batch_size` x `gradient_accumulation_steps`), number of optimizer steps.
* LoRA: r, alpha, dropout and target modules of the document (q/k/v/o for SmolLM2 by default).
* Learning rate, cosine schedule with the same number of warmup steps (TRL's warmup starts at lr 0 and ours at
  1/(w+1) of the peak: the script prints the largest per-step difference), gradient clipping 1.0, weight
  decay 0, seed.

TRL keeps its defaults (`SFTConfig(output_dir=...)` plus the settings above): activation checkpointing on,
no packing and no padding-free mode (each micro-batch padded to its longest row, with an attention mask),
the output head on every position, `adamw_torch_fused`, logging every 10 steps. One exception: SFTConfig
defaults to bf16 autocast, which this benchmark turns off (`bf16=False`) because both sides are compared
in fp32 and CPUs without bf16 instructions would only emulate it.

Our side runs through the engine's entry point `train_document` (temporary DLM home, validation only at
the last step as TRL has none), i.e. the app's own loop, batching, forward pass, metrics and commit.

Printed for each side
* tokens/s: real (unpadded) tokens of the training rows processed, divided by the summed wall time of the
  optimizer steps (ours: the engine's own step timer; TRL: `on_step_begin` -> `on_step_end`, which leaves
  out its data loading, in TRL's favour);
* losses: the trainer's own last reported training loss (ours: the last step; TRL: its last logging window),
  and, with ONE definition for both, the mean loss per target over the training rows and over the
  validation rows after training (adapter saved, reloaded on a fresh base, eval mode, `forward.mean_loss`:
  summed cross-entropy over assistant tokens of instruction rows / every token of prose rows);
* GFLOP/s: useful FLOPs / step time, against the best fp32 `torch.mm` rate measured in this run on the
  model's own matmul shapes. Useful FLOPs of a LoRA step on a row of s real tokens, t of them targets
  (frozen base weights need no weight gradient):
      decoder linears   4 * N_frozen * s   (forward 2*N*s, backward 2*N*s for the activation gradient)
      LoRA A/B          6 * N_lora * s     (forward, activation gradient, weight gradient)
      attention         3 * L * 4 * d_attn * s(s+1)/2   (QK^T and PV on the causal half; backward 2x)
      output head       4 * hidden * vocab * t   (only positions with a target need logits)
  N_frozen counts the q/k/v/o/gate/up/down weights of all layers (106 M for SmolLM2-135M); embeddings are a
  lookup; norms, rotary and activations are left out. Padding, logits of positions without a target and
  recomputation are NOT counted: they are work that is not needed, so they lower the achieved rate.

Load: a 2-core machine shared with other programs makes 2-thread steps much slower (the threads wait on
each other). Before each run the script waits (up to --wait-idle seconds) for the CPU to be idle, and it
prints how many cores other processes used before and during every run. Runs alternate (--rounds 2 gives
ours, trl, trl, ours); the summary takes each side's least disturbed run. Figures taken under load are
marked as such.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

from benchmarks.machine import cpu_ticks, own_cpu  # noqa: E402

EXAMPLE = ROOT / "resources" / "examples" / "getting-started.dlm"
IDLE_CORES = 0.25  # other processes' CPU use below which the machine counts as idle
TRL_VERSION = "1.16.0"


# --- machine load ----------------------------------------------------------------------------------------------


class LoadMeter:
    """CPU cores used by OTHER processes over an interval (this process's own CPU time is subtracted)."""

    def __init__(self) -> None:
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.start()

    def start(self) -> None:
        self.total, self.idle = cpu_ticks()
        self.own = own_cpu()
        self.wall = time.monotonic()

    def other_cores(self) -> float:
        total, idle = cpu_ticks()
        busy = ((total - self.total) - (idle - self.idle)) / self.ticks
        wall = max(time.monotonic() - self.wall, 1e-6)
        return max(0.0, (busy - (own_cpu() - self.own)) / wall)


def wait_for_idle(max_wait: float, window: float = 2.0) -> tuple[float, float]:
    """Sample the load in `window`-second windows until it is below IDLE_CORES or `max_wait` has passed.
    Returns (the last window's load in cores, seconds waited)."""
    started = time.monotonic()
    while True:
        meter = LoadMeter()
        time.sleep(window)
        load = meter.other_cores()
        waited = time.monotonic() - started
        if load < IDLE_CORES or waited >= max_wait:
            return load, waited


def load_note(load: float) -> str:
    return "idle" if load < IDLE_CORES else "LOADED"


# --- the shared inputs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """What both sides train on and with (built once, by our own pipeline)."""

    model_dir: Path
    prepared: Any  # session.Prepared
    train: tuple  # Example
    val: tuple
    micro_batch: int
    grad_accum: int
    steps: int
    pad_id: int


def build_inputs(steps: int) -> Inputs:
    from dlm_desktop.core.document.pipeline import load_document
    from dlm_desktop.core.store.paths import StorePaths
    from dlm_desktop.core.training.request import TrainRequest
    from dlm_desktop.cli_progress import drive
    from dlm_desktop.core.training.session import prepare, resolve_model

    request = TrainRequest(EXAMPLE, max_steps=steps, home=Path(tempfile.mkdtemp(prefix="bench-prep-")), offline=True)
    report = load_document(EXAMPLE)
    paths = StorePaths.for_dlm(report.frontmatter.dlm_id, home=request.home)
    resolved = drive(resolve_model(request, report.frontmatter.base_model, lambda: False), lambda _event: None)
    prepared = prepare(request, report, paths, resolved, steps)
    if len(prepared.stages) != 1:
        raise SystemExit("the benchmark expects a single-adapter document")
    stage = prepared.stages[0]
    return Inputs(
        model_dir=Path(resolved.local_dir), prepared=prepared, train=stage.train.examples, val=stage.val.examples,
        micro_batch=prepared.plan.micro_batch_size, grad_accum=prepared.plan.grad_accum, steps=steps,
        pad_id=prepared.bringup.tokenizer.pad_token_id or 0,
    )


# --- FLOPs -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlopModel:
    """Useful FLOPs of one LoRA training pass (module docstring)."""

    frozen: int
    lora: int
    layers: int
    attn_width: int
    head: int

    @classmethod
    def of(cls, model_dir: Path, r: int, targets: tuple[str, ...]) -> "FlopModel":
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(str(model_dir))
        hidden, inter = config.hidden_size, config.intermediate_size
        head_dim = getattr(config, "head_dim", None) or hidden // config.num_attention_heads
        q_width = config.num_attention_heads * head_dim
        kv_width = config.num_key_value_heads * head_dim
        shapes = {
            "q_proj": (hidden, q_width), "k_proj": (hidden, kv_width), "v_proj": (hidden, kv_width),
            "o_proj": (q_width, hidden), "gate_proj": (hidden, inter), "up_proj": (hidden, inter),
            "down_proj": (inter, hidden),
        }
        layers = config.num_hidden_layers
        frozen = layers * sum(a * b for a, b in shapes.values())
        lora = layers * sum(r * (a + b) for name, (a, b) in shapes.items() if name in targets)
        return cls(frozen, lora, layers, q_width, hidden * config.vocab_size)

    def row(self, length: int, targets: int) -> float:
        attention = 3 * self.layers * 4 * self.attn_width * length * (length + 1) / 2
        return 4 * self.frozen * length + 6 * self.lora * length + attention + 4 * self.head * targets


def measure_peak(model_dir: Path, rows: int = 512, repeats: int = 5) -> tuple[float, str]:
    """The best fp32 torch.mm rate (GFLOP/s) over the model's matmul shapes for `rows` tokens."""
    import torch
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(model_dir))
    hidden, inter = config.hidden_size, config.intermediate_size
    shapes = {"attn proj": (hidden, hidden), "mlp up": (hidden, inter), "mlp down": (inter, hidden),
              "head": (hidden, config.vocab_size // 4)}
    best, best_name = 0.0, ""
    for name, (k, n) in shapes.items():
        a, b = torch.randn(rows, k), torch.randn(k, n)
        torch.mm(a, b)  # warm-up
        reps = max(3, int(2e10 / (2 * rows * k * n)))  # ~a few tenths of a second per timing
        for _ in range(repeats):
            started = time.perf_counter()
            for _ in range(reps):
                torch.mm(a, b)
            rate = 2 * rows * k * n * reps / (time.perf_counter() - started) / 1e9
            if rate > best:
                best, best_name = rate, f"{name} [{rows}x{k}]x[{k}x{n}]"
    return best, best_name


# --- one run of each side --------------------------------------------------------------------------------------


@dataclass
class RunResult:
    side: str
    tokens: int = 0
    padded_tokens: int = 0
    step_seconds: float = 0.0
    useful_flops: float = 0.0
    last_train_loss: float | None = None
    train_loss: float | None = None  # after training, the shared definition
    val_loss: float | None = None
    engine_val_loss: float | None = None  # ours: as the engine reported it (cross-check)
    lrs: list[float] = field(default_factory=list)
    wall: float = 0.0
    load_before: float = 0.0
    load_during: float = 0.0
    threads: int = 0

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.step_seconds if self.step_seconds else 0.0

    @property
    def gflops(self) -> float:
        return self.useful_flops / self.step_seconds / 1e9 if self.step_seconds else 0.0


def run_ours(inputs: Inputs, flops: FlopModel) -> tuple[RunResult, Path]:
    """Train through `train_document`; returns the result and the committed adapter version."""
    import torch

    from dlm_desktop.core.training.batching import step_members
    from dlm_desktop.core.training.engine import train_document
    from dlm_desktop.core.training.events import StepCompleted
    from dlm_desktop.core.training.request import TrainRequest

    result = RunResult("ours")
    request = TrainRequest(EXAMPLE, max_steps=inputs.steps, home=Path(tempfile.mkdtemp(prefix="bench-ours-")),
                           offline=True, eval_every=inputs.steps)
    started = time.monotonic()
    job = train_document(request)
    while True:
        try:
            event = next(job)
        except StopIteration as finished:
            outcome = finished.value
            break
        if isinstance(event, StepCompleted):
            result.lrs.append(event.lr)
    result.wall = time.monotonic() - started
    stage = outcome.stages[0]
    result.tokens, result.step_seconds = stage.tokens, stage.train_seconds
    result.last_train_loss, result.engine_val_loss = stage.final_train_loss, stage.final_val_loss
    result.threads = torch.get_num_threads()
    plan = inputs.prepared.stages[0].data
    seed = inputs.prepared.run.seed
    for step in range(inputs.steps):  # the rows each step trained on, in the engine's own data order
        for index in step_members(plan, seed, step):
            example = inputs.train[index]
            result.useful_flops += flops.row(example.length, example.targets)
    result.padded_tokens = result.tokens  # the engine reports real tokens only
    return result, Path(stage.version_dir)


class _TokenCounter:
    """A forward pre-hook on TRL's causal LM: real tokens, padded tokens and useful FLOPs of training passes."""

    def __init__(self, flops: FlopModel) -> None:
        self.flops = flops
        self.tokens = 0
        self.padded = 0
        self.useful = 0.0

    def __call__(self, module: Any, args: tuple, kwargs: dict) -> None:
        import torch

        if not (module.training and torch.is_grad_enabled()):
            return
        ids = kwargs.get("input_ids", args[0] if args else None)
        mask = kwargs.get("attention_mask")
        labels = kwargs.get("labels")
        lengths = mask.sum(dim=1).tolist() if mask is not None else [ids.shape[1]] * ids.shape[0]
        targets = (labels[:, 1:] != -100).sum(dim=1).tolist() if labels is not None else lengths
        self.padded += ids.numel()
        for length, count in zip(lengths, targets):
            self.tokens += int(length)
            self.useful += self.flops.row(int(length), int(count))


def run_trl(inputs: Inputs, flops: FlopModel, workdir: Path) -> tuple[RunResult, Path]:
    """Train with TRL's SFTTrainer (default configuration plus the shared settings); returns the result and
    the saved adapter folder."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    from dlm_desktop.core.training.schedule import warmup_steps

    p = inputs.prepared
    stage = p.stages[0]
    adapter, schedule = stage.adapter, stage.schedule
    result = RunResult("trl")
    started = time.monotonic()
    tokenizer = p.bringup.tokenizer
    model = AutoModelForCausalLM.from_pretrained(str(inputs.model_dir), dtype=torch.float32,
                                                 attn_implementation="sdpa")
    dataset = Dataset.from_dict({"input_ids": [list(e.input_ids) for e in inputs.train],
                                 "labels": [list(e.labels) for e in inputs.train]})
    args = SFTConfig(
        output_dir=str(workdir / "trl-out"),
        max_steps=inputs.steps,
        per_device_train_batch_size=inputs.micro_batch,
        gradient_accumulation_steps=inputs.grad_accum,
        learning_rate=adapter.learning_rate,
        lr_scheduler_type=schedule.kind,
        warmup_steps=warmup_steps(inputs.steps, schedule.warmup_ratio),
        weight_decay=p.run.weight_decay,
        max_grad_norm=p.run.max_grad_norm,
        max_length=p.run.sequence_len,
        seed=p.run.seed,
        bf16=False,  # fp32 on both sides (module docstring)
    )
    lora = LoraConfig(r=adapter.r, lora_alpha=adapter.alpha, lora_dropout=adapter.dropout,
                      target_modules=list(adapter.target_modules), bias="none", task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer, peft_config=lora)
    counter = _TokenCounter(flops)
    trainer.model.get_base_model().register_forward_pre_hook(counter, with_kwargs=True)
    trainer.add_callback(_step_timer(result))
    output = trainer.train()
    result.wall = time.monotonic() - started
    result.tokens, result.padded_tokens, result.useful_flops = counter.tokens, counter.padded, counter.useful
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    # Its last logging window (every 10 steps by default); a run shorter than that: its mean over the run.
    result.last_train_loss = float(losses[-1]) if losses else float(output.training_loss)
    result.threads = torch.get_num_threads()
    saved = workdir / "trl-adapter"
    trainer.model.save_pretrained(str(saved))
    del trainer, model
    return result, saved


def _make_step_timer_class():
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        """Sums the wall time from `on_step_begin` to `on_step_end` and records each step's learning rate."""

        def __init__(self, result: RunResult) -> None:
            self.result = result
            self.began = 0.0

        def on_step_begin(self, args, state, control, **kwargs):
            self.began = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.result.step_seconds += time.perf_counter() - self.began
            scheduler = kwargs.get("lr_scheduler")
            if scheduler is not None:  # stepped already: the lr this step used is one schedule step back
                self.result.lrs.append(float(scheduler.lr_lambdas[0](scheduler.last_epoch - 1))
                                       * float(scheduler.base_lrs[0]))

    return StepTimer


def _step_timer(result: RunResult) -> Any:
    return _make_step_timer_class()(result)


def evaluate(inputs: Inputs, adapter_dir: Path) -> tuple[float | None, float | None]:
    """Mean loss per target over the training and the validation rows: base reloaded, adapter loaded, eval mode,
    the same function (`forward.mean_loss`) and batching for both sides."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from dlm_desktop.core.training.forward import mean_loss, model_parts
    from dlm_desktop.core.training.loop import eval_batches

    base = AutoModelForCausalLM.from_pretrained(str(inputs.model_dir), dtype=torch.float32,
                                                attn_implementation="sdpa")
    model = PeftModel.from_pretrained(base, str(adapter_dir))
    model.eval()
    parts = model_parts(model.base_model.model)
    budget = inputs.prepared.token_budget

    def loss(examples):
        return mean_loss(parts, eval_batches(examples, budget, inputs.pad_id, "cpu")) if examples else None

    return loss(inputs.train), loss(inputs.val)


# --- main ------------------------------------------------------------------------------------------------------


def _require_trl() -> str:
    try:
        import trl
    except ImportError:
        raise SystemExit(
            "TRL is not installed. It is needed for this benchmark only (not a project dependency):\n"
            f"    pip install trl=={TRL_VERSION}\n"
            "then check that torch, transformers and peft kept their versions (pip list)."
        ) from None
    return trl.__version__


def _fmt(value: float | None, spec: str = ".4f") -> str:
    return "n/a" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps per run (default 20)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: the number of cores)")
    parser.add_argument("--order", default="ours,trl", help="the side that runs first: ours,trl or trl,ours")
    parser.add_argument("--rounds", type=int, default=1, help="rounds; each round reverses the order (ABBA)")
    parser.add_argument("--wait-idle", type=float, default=60.0,
                        help="seconds to wait for an idle CPU before each run (it runs anyway afterwards)")
    args = parser.parse_args()

    sys.stdout.reconfigure(line_buffering=True)
    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers' renamed-argument notices
    warnings.filterwarnings("ignore", message=".*pin_memory.*")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = args.threads or cores
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    trl_version = _require_trl()
    import peft
    import torch
    import transformers

    torch.set_num_threads(threads)
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    import datasets

    datasets.disable_progress_bars()

    inputs = build_inputs(args.steps)
    p = inputs.prepared
    stage = p.stages[0]
    flops = FlopModel.of(inputs.model_dir, stage.adapter.r, stage.adapter.target_modules)
    train_tokens = sum(e.length for e in inputs.train)
    print(f"machine: {cores} cores, torch threads {threads}; torch {torch.__version__}, transformers "
          f"{transformers.__version__}, peft {peft.__version__}, trl {trl_version}")
    print(f"rows: {EXAMPLE.name}: {len(inputs.train)} training rows ({train_tokens} real tokens, "
          f"{sum(e.targets for e in inputs.train)} targets, lengths {sorted(e.length for e in inputs.train)}), "
          f"{len(inputs.val)} validation rows ({sum(e.targets for e in inputs.val)} targets)")
    print(f"model: {inputs.model_dir.name} fp32; max length {p.run.sequence_len}; effective batch "
          f"{inputs.micro_batch * inputs.grad_accum} rows (micro-batch {inputs.micro_batch} x accumulation "
          f"{inputs.grad_accum}); {args.steps} optimizer steps; LoRA r={stage.adapter.r} alpha={stage.adapter.alpha}"
          f" dropout={stage.adapter.dropout} on {'/'.join(stage.adapter.target_modules)}; lr "
          f"{stage.adapter.learning_rate:g} {stage.schedule.kind}, warmup ratio {stage.schedule.warmup_ratio:g}; "
          f"seed {p.run.seed}")
    print(f"FLOP model: N_frozen={flops.frozen / 1e6:.1f}M N_lora={flops.lora / 1e6:.2f}M "
          f"head={flops.head / 1e6:.1f}M layers={flops.layers}: 4*N_frozen*s + 6*N_lora*s "
          f"+ 6*L*d_attn*s(s+1) + 4*head*targets per row")

    load, waited = wait_for_idle(args.wait_idle)
    meter = LoadMeter()
    peak, peak_shape = measure_peak(inputs.model_dir)
    peak_load = meter.other_cores()
    print(f"fp32 matmul peak: {peak:.1f} GFLOP/s ({peak_shape}); other load {peak_load:.2f} cores "
          f"({load_note(peak_load)}; before: {load:.2f} after waiting {waited:.0f} s)")

    first = [side.strip() for side in args.order.split(",")]
    sequence: list[str] = []
    for round_index in range(args.rounds):
        sequence += first if round_index % 2 == 0 else first[::-1]
    results: list[RunResult] = []
    workdir = Path(tempfile.mkdtemp(prefix="bench-trl-"))
    for number, side in enumerate(sequence):
        load, waited = wait_for_idle(args.wait_idle)
        meter = LoadMeter()
        if side == "ours":
            result, adapter_dir = run_ours(inputs, flops)
        else:
            result, adapter_dir = run_trl(inputs, flops, workdir / f"run{number}")
        result.load_during = meter.other_cores()
        result.load_before = load
        result.train_loss, result.val_loss = evaluate(inputs, adapter_dir)
        results.append(result)
        print(f"run {number + 1} {side:4s}: {result.tokens_per_second:6.1f} tokens/s, {result.gflops:6.1f} GFLOP/s, "
              f"{result.step_seconds:6.1f} s in steps ({result.wall:.0f} s wall); load before "
              f"{result.load_before:.2f} cores (waited {waited:.0f} s), during {result.load_during:.2f} cores "
              f"({load_note(result.load_during)}); torch threads {result.threads}")

    meter = LoadMeter()
    peak_after, _ = measure_peak(inputs.model_dir)
    print(f"fp32 matmul peak after the runs: {peak_after:.1f} GFLOP/s (other load {meter.other_cores():.2f} cores)")
    peak = max(peak, peak_after)
    _summary(results, peak, args.steps)


def _summary(results: list[RunResult], peak: float, steps: int) -> None:
    best = {side: max((r for r in results if r.side == side), key=lambda r: r.tokens_per_second)
            for side in ("ours", "trl")}
    ours, trl = best["ours"], best["trl"]
    print()
    print(f"{'':16s} {'tokens/s':>9s} {'padded/real':>11s} {'GFLOP/s':>8s} {'% peak':>7s} {'last loss':>10s} "
          f"{'train loss':>10s} {'val loss':>9s} {'load':>11s}")
    for name, r in (("ours (engine)", ours), ("TRL SFTTrainer", trl)):
        pad = r.padded_tokens / r.tokens if r.tokens else math.nan
        print(f"{name:16s} {r.tokens_per_second:9.1f} {pad:11.2f} {r.gflops:8.1f} {100 * r.gflops / peak:6.1f}% "
              f"{_fmt(r.last_train_loss):>10s} {_fmt(r.train_loss):>10s} {_fmt(r.val_loss):>9s} "
              f"{r.load_during:5.2f} {load_note(r.load_during):>5s}")
    ratio = ours.tokens_per_second / trl.tokens_per_second if trl.tokens_per_second else math.nan
    share = ours.gflops / peak if peak else math.nan
    print(f"speed ratio ours/TRL: {ratio:.2f}x  (goal >= 2.0x: {'met' if ratio >= 2.0 else 'NOT met'})")
    if ours.val_loss is not None and trl.val_loss is not None:
        print(f"validation loss ours {ours.val_loss:.4f} vs TRL {trl.val_loss:.4f}: "
              f"{'equal or lower' if ours.val_loss <= trl.val_loss + 1e-4 else 'HIGHER'} (same rows, same definition)")
    print(f"ours: {ours.gflops:.1f} GFLOP/s = {100 * share:.1f}% of the {peak:.1f} GFLOP/s matmul peak "
          f"(goal >= 60%: {'met' if share >= 0.6 else 'NOT met'})")
    if ours.engine_val_loss is not None and ours.val_loss is not None:
        print(f"cross-check: the engine reported val loss {ours.engine_val_loss:.4f}; reloaded adapter "
              f"{ours.val_loss:.4f}")
    steps_lr = min(len(ours.lrs), len(trl.lrs), steps)
    if steps_lr:
        diffs = [abs(a - b) for a, b in zip(ours.lrs[:steps_lr], trl.lrs[:steps_lr])]
        worst = max(range(steps_lr), key=diffs.__getitem__)
        print(f"learning rates: largest per-step difference {diffs[worst]:.2e} at step {worst + 1} "
              f"(ours {ours.lrs[worst]:.2e}, TRL {trl.lrs[worst]:.2e}); peak ours {max(ours.lrs):.2e}, "
              f"TRL {max(trl.lrs):.2e}")
    if any(r.load_during >= IDLE_CORES for r in results):
        print("NOTE: other processes used the CPU during at least one run: its figures are lower than on an idle "
              "machine, and the ratio is only indicative.")


if __name__ == "__main__":
    main()

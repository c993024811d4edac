"""Training the gate on (embedding, adapter) samples (SPEC-upstream §4.3).

* Cold start: when any declared adapter has fewer samples than `cold_start_floor`, nothing is trained; the
  result is a uniform gate (weight 1/N each) that still reports the real per-adapter sample counts.
* Otherwise: AdamW at `lr` for `steps` steps on batches of `min(16, n)`, drawn epoch by epoch without
  replacement from permutations of a `torch.Generator` seeded with `seed`. The loss is the cross-entropy of
  the adapter label minus `entropy_lambda` times the batch's mean softmax entropy (the entropy term keeps
  the gate from putting all weight on one adapter). The reported loss and entropy are moving averages with
  factor 0.9. A non-finite loss raises `GateTrainingError`.
* The mean weight per adapter is the mean softmax over *all* training embeddings.

`train_gate` is a generator: it yields one `GateProgress` per step, checks `should_stop` before every step
(raising `GateCancelled`) and returns a `GateResult`. It writes nothing; `persist.save_gate` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from dlm_desktop.core.training.gate.errors import GateCancelled, GateInputError, GateTrainingError
from dlm_desktop.core.training.gate.module import GateNetwork, check_gate_shape

if TYPE_CHECKING:
    import torch

ResultMode = Literal["trained", "uniform"]
MAX_BATCH_SIZE = 16
EMA_FACTOR = 0.9
_ENTROPY_EPSILON = 1e-9


def _never_stop() -> bool:
    return False


@dataclass(frozen=True)
class GateTrainingConfig:
    """The gate knobs of the frontmatter (`training.gate`), with upstream's defaults."""

    hidden_proj_dim: int = 64
    steps: int = 200
    lr: float = 3e-4
    cold_start_floor: int = 4
    entropy_lambda: float = 0.01

    def __post_init__(self) -> None:
        problems = []
        if not (isinstance(self.hidden_proj_dim, int) and self.hidden_proj_dim >= 1):
            problems.append(f"hidden_proj_dim {self.hidden_proj_dim!r} must be a positive integer")
        if not (isinstance(self.steps, int) and self.steps >= 1):
            problems.append(f"steps {self.steps!r} must be a positive integer")
        if not (isinstance(self.cold_start_floor, int) and self.cold_start_floor >= 1):
            problems.append(f"cold_start_floor {self.cold_start_floor!r} must be a positive integer")
        if not (math.isfinite(self.lr) and self.lr > 0):
            problems.append(f"lr {self.lr!r} must be a positive number")
        if not (math.isfinite(self.entropy_lambda) and self.entropy_lambda >= 0):
            problems.append(f"entropy_lambda {self.entropy_lambda!r} must be a number >= 0")
        if problems:
            raise GateInputError("invalid gate settings: " + "; ".join(problems), fix="fix training.gate")

    @classmethod
    def from_frontmatter(cls, gate: Any) -> "GateTrainingConfig":
        """From a frontmatter's `training.gate` (the schema has already checked the bounds)."""
        return cls(gate.hidden_proj_dim, gate.steps, gate.lr, gate.cold_start_floor, gate.entropy_lambda)


@dataclass(frozen=True)
class GateProgress:
    """One finished training step: `step` counts from 1 to `total_steps`; raw (not averaged) loss and entropy."""

    step: int
    total_steps: int
    loss: float
    entropy: float


@dataclass(frozen=True, eq=False)
class GateResult:
    """What gate training produced.

    `mode` is `trained` (then `network` holds the weights) or `uniform` (cold start: no network, 1/N each).
    `mean_weights` and `sample_counts` are keyed by adapter in declared order. `final_loss` and
    `final_entropy` are the moving averages after the last step (None when nothing was trained).
    """

    mode: ResultMode
    adapter_names: tuple[str, ...]
    network: GateNetwork | None
    mean_weights: Mapping[str, float]
    sample_counts: Mapping[str, int]
    config: GateTrainingConfig = field(default_factory=GateTrainingConfig)
    final_loss: float | None = None
    final_entropy: float | None = None
    steps_run: int = 0


def check_adapter_names(adapter_names: Sequence[str]) -> tuple[str, ...]:
    """The names as a tuple if there are at least two and no duplicates, else `GateInputError`."""
    names = tuple(adapter_names)
    if len(names) < 2 or len(set(names)) != len(names):
        raise GateInputError(
            f"a gate needs at least two distinct adapter names, got {list(names)}",
            fix="declare two or more differently named adapters under training.adapters",
        )
    return names


def train_gate(
    embeddings: "torch.Tensor | Sequence[torch.Tensor]",
    labels: Sequence[str],
    adapter_names: Sequence[str],
    config: GateTrainingConfig = GateTrainingConfig(),
    seed: int = 42,
    *,
    input_dim: int | None = None,
    should_stop: Callable[[], bool] = _never_stop,
) -> Generator[GateProgress, None, GateResult]:
    """Train a gate on `embeddings[i]` labelled `labels[i]` (rules in the module docstring).

    `embeddings` is `[n, d]` or n vectors of size d; `input_dim`, when given, must equal d. Raises
    `GateInputError` for unusable inputs, `GateTrainingError` on divergence, `GateCancelled` when stopped.
    """
    names = check_adapter_names(adapter_names)
    features = _feature_matrix(embeddings, input_dim)
    counts = _count_labels(labels, names, len(features))
    cold = cold_start_result(counts, names, config)
    if cold is not None:
        return cold
    check_gate_shape(features.shape[1], config.hidden_proj_dim, len(names))
    targets = _label_indices(labels, names)
    network = GateNetwork.build(features.shape[1], config.hidden_proj_dim, len(names), seed=seed)
    averages = yield from _optimise(network, features, targets, config, seed, should_stop)
    return GateResult(
        "trained",
        names,
        network,
        _mean_softmax(network, features, names),
        counts,
        config,
        final_loss=averages[0],
        final_entropy=averages[1],
        steps_run=config.steps,
    )


def cold_start_result(
    sample_counts: Mapping[str, int], adapter_names: Sequence[str], config: GateTrainingConfig
) -> GateResult | None:
    """The uniform result when some declared adapter has fewer than `cold_start_floor` samples, else None."""
    names = check_adapter_names(adapter_names)
    counts = {name: int(sample_counts.get(name, 0)) for name in names}
    if all(count >= config.cold_start_floor for count in counts.values()):
        return None
    return GateResult("uniform", names, None, uniform_mean(names), counts, config)


def uniform_mean(adapter_names: Sequence[str]) -> dict[str, float]:
    """`{name: 1/N}` in the given order."""
    return dict.fromkeys(adapter_names, 1.0 / len(adapter_names)) if adapter_names else {}


def _feature_matrix(embeddings: Any, input_dim: int | None) -> "torch.Tensor":
    import torch

    try:
        if isinstance(embeddings, torch.Tensor):
            matrix = embeddings.detach()
        elif len(embeddings) == 0:
            matrix = torch.zeros((0, input_dim or 0))
        else:
            matrix = torch.stack([torch.as_tensor(row).detach().reshape(-1) for row in embeddings])
    except (RuntimeError, TypeError, ValueError) as exc:
        raise GateInputError(
            f"the gate embeddings cannot be stacked: {exc}", fix="embed every prompt with the same base model"
        ) from exc
    if matrix.dim() != 2:
        raise GateInputError(
            f"gate embeddings must be a matrix [n, d], got shape {list(matrix.shape)}",
            fix="pass one 1-D embedding per prompt",
        )
    if input_dim is not None and matrix.shape[1] != input_dim:
        raise GateInputError(
            f"the embeddings have size {matrix.shape[1]}, but the gate's input size is {input_dim}",
            fix="embed the prompts with the base model the gate is trained for",
        )
    return matrix.to("cpu", torch.float32)


def _count_labels(labels: Sequence[str], names: tuple[str, ...], n_rows: int) -> dict[str, int]:
    if len(labels) != n_rows:
        raise GateInputError(
            f"{n_rows} embeddings but {len(labels)} labels", fix="give exactly one adapter label per embedding"
        )
    unknown = sorted({label for label in labels if label not in names})
    if unknown:
        raise GateInputError(
            f"labels {unknown} are not declared adapters ({', '.join(names)})",
            fix="drop samples of undeclared adapters before training the gate",
        )
    counts = dict.fromkeys(names, 0)
    for label in labels:
        counts[label] += 1
    return counts


def _label_indices(labels: Sequence[str], names: tuple[str, ...]) -> "torch.Tensor":
    import torch

    index = {name: position for position, name in enumerate(names)}
    return torch.tensor([index[label] for label in labels], dtype=torch.long)


def _optimise(
    network: GateNetwork,
    features: "torch.Tensor",
    targets: "torch.Tensor",
    config: GateTrainingConfig,
    seed: int,
    should_stop: Callable[[], bool],
) -> Generator[GateProgress, None, tuple[float | None, float | None]]:
    import torch

    optimizer = torch.optim.AdamW(network.sequential.parameters(), lr=config.lr)
    network.sequential.train()
    batches = _epoch_batches(len(features), min(MAX_BATCH_SIZE, len(features)), seed)
    ema_loss: float | None = None
    ema_entropy: float | None = None
    for step in range(config.steps):
        if should_stop():
            raise GateCancelled(
                f"gate training stopped at step {step} of {config.steps}; no gate was saved",
                fix="train again to build the gate",
            )
        rows = next(batches)
        loss, entropy = _step(network, optimizer, features[rows], targets[rows], config.entropy_lambda, step)
        ema_loss = loss if ema_loss is None else EMA_FACTOR * ema_loss + (1 - EMA_FACTOR) * loss
        ema_entropy = entropy if ema_entropy is None else EMA_FACTOR * ema_entropy + (1 - EMA_FACTOR) * entropy
        yield GateProgress(step + 1, config.steps, loss, entropy)
    network.sequential.eval()
    return ema_loss, ema_entropy


def _epoch_batches(n_rows: int, batch_size: int, seed: int):
    """Row indices of successive batches: walk a permutation, draw a fresh one when a batch would overrun it."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(n_rows, generator=generator)
    cursor = 0
    while True:
        if cursor + batch_size > n_rows:
            order = torch.randperm(n_rows, generator=generator)
            cursor = 0
        yield order[cursor : cursor + batch_size]
        cursor += batch_size


def _step(network, optimizer, batch_x, batch_y, entropy_lambda: float, step: int) -> tuple[float, float]:
    import torch
    from torch.nn import functional

    logits = network.sequential(batch_x)
    probabilities = functional.softmax(logits, dim=-1)
    cross_entropy = functional.cross_entropy(logits, batch_y)
    entropy = -(probabilities * torch.log(probabilities + _ENTROPY_EPSILON)).sum(dim=-1).mean()
    loss = cross_entropy - entropy_lambda * entropy
    if not bool(torch.isfinite(loss)):
        raise GateTrainingError(
            f"gate training diverged at step {step + 1}: the loss is {loss.item()} "
            f"(cross-entropy {cross_entropy.item()}, entropy {entropy.item()})",
            step=step + 1,
        )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.item()), float(entropy.item())


def _mean_softmax(network: GateNetwork, features: "torch.Tensor", names: tuple[str, ...]) -> dict[str, float]:
    import torch

    with torch.no_grad():
        mean = network.probabilities(features).mean(dim=0)
    return {name: float(mean[position]) for position, name in enumerate(names)}

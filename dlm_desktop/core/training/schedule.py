"""Learning-rate schedules as pure functions of the step (no torch here).

The factor multiplies the peak learning rate before optimizer step `step` (0-based) of `total`. Warmup
rises linearly over the first `ceil(warmup_ratio * total)` steps, starting above zero so that no step is
wasted at learning rate 0; then `cosine` decays to `min_lr_ratio` of the peak along half a cosine,
`linear` decays linearly to zero, and `constant` stays at the peak. Warmup applies to every kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def warmup_steps(total: int, warmup_ratio: float) -> int:
    """The number of warmup steps for a run of `total` steps."""
    return int(math.ceil(max(total, 0) * max(warmup_ratio, 0.0)))


def lr_factor(step: int, total: int, kind: str, warmup: int, min_lr_ratio: float = 0.0) -> float:
    """The share of the peak learning rate used by optimizer step `step` (see the module docstring)."""
    if step < warmup:
        return (step + 1) / (warmup + 1)
    if kind == "constant":
        return 1.0
    remaining = max(total - warmup, 1)
    progress = min(max((step - warmup) / remaining, 0.0), 1.0)
    if kind == "linear":
        return 1.0 - progress
    if kind == "cosine":
        return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown learning-rate schedule {kind!r}")


@dataclass
class LrSchedule:
    """`lr_factor` bound to one run, callable with the step (torch's `LambdaLR` takes it as `lr_lambda`).

    A plain object rather than a closure, so the scheduler's `state_dict` records these fields too.
    """

    total: int
    kind: str
    warmup: int
    min_lr_ratio: float = 0.0

    def __call__(self, step: int) -> float:
        return lr_factor(step, self.total, self.kind, self.warmup, self.min_lr_ratio)

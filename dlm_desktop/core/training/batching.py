"""The order in which examples are seen, and how each optimizer step's examples become micro-batches.

Everything here is a pure function of the seed, the epoch and the step, so a resumed run sees exactly the
examples an uninterrupted run would have seen, in the same micro-batches:

* every epoch visits all training examples once, in a permutation drawn from `(seed, epoch)`;
* optimizer step `s` takes the next `rows_per_step` examples of its epoch's permutation (the last step of an
  epoch may take fewer);
* those examples are sorted by length and cut into micro-batches so that little compute goes to padding:
  the cut points minimise the padded token count plus a small per-batch overhead, within a token budget
  that bounds memory. The loss is normalised by the step's target count, so the cut does not change it.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass
from typing import Sequence

# Fixed cost of one forward/backward pass, in token equivalents: keeps the split from making many tiny
# batches whose per-call overhead outweighs the padding they save.
BATCH_OVERHEAD_TOKENS = 24


@dataclass(frozen=True)
class DataPlan:
    """How many optimizer steps a stage takes over `examples` training examples."""

    examples: int
    rows_per_step: int
    steps_per_epoch: int
    total_steps: int

    def epoch_of(self, step: int) -> int:
        """The 0-based epoch that optimizer step `step` (0-based) belongs to."""
        return step // self.steps_per_epoch

    def epochs_done(self, steps_done: int) -> float:
        """The fractional epoch reached after `steps_done` steps."""
        return steps_done / self.steps_per_epoch


def make_data_plan(examples: int, rows_per_step: int, num_epochs: int, max_steps: int | None) -> DataPlan:
    """Steps per epoch (the last step of an epoch may be short) and the stage's total: `max_steps` when
    given, else `num_epochs` epochs."""
    rows = max(1, rows_per_step)
    per_epoch = max(1, math.ceil(examples / rows))
    total = max_steps if max_steps is not None else per_epoch * max(1, num_epochs)
    return DataPlan(examples, rows, per_epoch, total)


@functools.lru_cache(maxsize=4)  # every step of an epoch asks for the same order
def _permutation(count: int, seed: int, epoch: int) -> tuple[int, ...]:
    order = list(range(count))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return tuple(order)


def epoch_permutation(count: int, seed: int, epoch: int) -> list[int]:
    """The order of the examples in `epoch`: a shuffle seeded by the run seed and the epoch number."""
    return list(_permutation(count, seed, epoch))


def step_members(plan: DataPlan, seed: int, step: int) -> list[int]:
    """Indices of the examples that optimizer step `step` (0-based) trains on."""
    epoch = plan.epoch_of(step)
    within = step % plan.steps_per_epoch
    order = _permutation(plan.examples, seed, epoch)
    return list(order[within * plan.rows_per_step:(within + 1) * plan.rows_per_step])


def micro_batches(lengths: Sequence[int], members: Sequence[int], token_budget: int) -> list[list[int]]:
    """Cut `members` (indices into `lengths`) into micro-batches of similar lengths.

    The members are sorted longest first (ties by index); the cut points minimise the padded tokens plus
    `BATCH_OVERHEAD_TOKENS` per batch, and a batch's padded size stays within `token_budget` (a single
    example longer than the budget still forms its own batch).
    """
    ordered = sorted(members, key=lambda index: (-lengths[index], index))
    count = len(ordered)
    best = [0.0] + [math.inf] * count  # best[i]: cheapest cost of the first i members
    cut = [0] * (count + 1)
    for end in range(1, count + 1):
        for start in range(end - 1, -1, -1):
            padded = (end - start) * lengths[ordered[start]]
            if padded > token_budget and end - start > 1:
                break
            cost = best[start] + padded + BATCH_OVERHEAD_TOKENS
            if cost < best[end]:
                best[end], cut[end] = cost, start
    batches: list[list[int]] = []
    end = count
    while end > 0:
        batches.append(ordered[cut[end]:end])
        end = cut[end]
    return batches[::-1]

"""The order in which examples are seen, and how each optimizer step's examples become micro-batches.

Everything here is a pure function of the seed, the epoch and the step, so a resumed run sees exactly the
examples an uninterrupted run would have seen, in the same micro-batches:

* every epoch visits all training examples once, in a permutation drawn from `(seed, epoch)`;
* optimizer step `s` takes the next `rows_per_step` examples of its epoch's permutation (the last step of an
  epoch may take fewer);
* the step's examples become batch rows in one of two layouts, whichever `layout_cost` estimates cheaper
  (a tie keeps the first): one example per row, or short examples packed into rows no longer than the
  step's longest example (first fit, longest first; the model keeps packed examples apart through their
  restarting position ids). Packing removes padding, but a packed row's attention runs over its whole
  width through an explicit mask instead of the causal fast path, so it only pays when the rows' lengths
  differ a lot. Measured with SmolLM2-135M on a CPU: one masked 420-token row holding six 70-token
  examples took 18% more time than six rows of 70, while the bundled example's step (rows of 51-209
  tokens) packed into three rows of 209 took 2-5% less CPU time than sorted, unpacked micro-batches;
* the rows are sorted by length and cut into micro-batches: the cut points minimise the padded token count
  plus a small per-batch overhead, within a token budget that bounds memory. The loss is normalised by
  the step's target count, so neither the layout nor the cut changes it.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass
from typing import Sequence

# Fixed cost of one forward/backward pass, in token equivalents: keeps the split from making many small
# batches whose per-call cost (dozens of kernels per layer, each a synchronisation point for the CPU's
# threads, and worse when other programs compete for the cores) outweighs the padding they save.
BATCH_OVERHEAD_TOKENS = 64
# Longest packed sequence: attention inside a packed sequence is computed over all of it (then masked), so
# its cost grows with the square of this length.
PACK_CAPACITY = 512
# Cost of attention in token equivalents per squared row width, when the whole square is computed (a packed
# row under its mask); a row of one example runs the causal kernel, which skips the upper half. Measured on
# SmolLM2-135M, fp32, CPU (a row of 420 tokens cost ~80 token equivalents more than six rows of 70); in
# larger models the linear layers weigh more per token, so this overestimates attention there, which only
# makes packing rarer.
ATTENTION_TOKENS_PER_SQUARE = 1 / 2048


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


def pack_sequences(lengths: Sequence[int], members: Sequence[int], capacity: int | None = None) -> list[list[int]]:
    """Group `members` (indices into `lengths`) into sequences of at most `capacity` tokens.

    First fit, longest first (ties by index). `capacity` defaults to the longest member, capped at
    `PACK_CAPACITY`; a member longer than it is a sequence of its own.
    """
    ordered = sorted(members, key=lambda index: (-lengths[index], index))
    if not ordered:
        return []
    limit = capacity if capacity is not None else min(lengths[ordered[0]], PACK_CAPACITY)
    sequences: list[list[int]] = []
    room: list[int] = []
    for index in ordered:
        size = lengths[index]
        slot = next((i for i, free in enumerate(room) if free >= size), None)
        if slot is None:
            sequences.append([index])
            room.append(limit - size)
        else:
            sequences[slot].append(index)
            room[slot] -= size
    return sequences


def step_batches(lengths: Sequence[int], members: Sequence[int], token_budget: int) -> list[list[list[int]]]:
    """The micro-batches of one step: each a list of rows, each row a list of example indices (one example,
    or several packed). The cheaper layout by `layout_cost` (module docstring); a tie keeps one example per
    row."""
    single = [[[index] for index in group] for group in micro_batches(lengths, members, token_budget)]
    sequences = pack_sequences(lengths, members)
    if len(sequences) == len(members):
        return single  # nothing packs
    sizes = [sum(lengths[index] for index in sequence) for sequence in sequences]
    packed = [[sequences[i] for i in group] for group in micro_batches(sizes, range(len(sequences)), token_budget)]
    return packed if layout_cost(lengths, packed) < layout_cost(lengths, single) else single


def layout_cost(lengths: Sequence[int], batches: Sequence[Sequence[Sequence[int]]]) -> float:
    """The estimated cost of a step's micro-batches, in token equivalents: every batch's padded tokens, its
    attention (the whole square of the width for a packed row, the causal half for a row of one example;
    `ATTENTION_TOKENS_PER_SQUARE`) and `BATCH_OVERHEAD_TOKENS`."""
    total = 0.0
    for batch in batches:
        width = max(sum(lengths[index] for index in row) for row in batch)
        square = width * width * ATTENTION_TOKENS_PER_SQUARE
        total += len(batch) * width + BATCH_OVERHEAD_TOKENS
        total += sum(square if len(row) > 1 else square / 2 for row in batch)
    return total

"""Divergence between two next-token distributions known only by their top-k, and its significance.

Jensen–Shannon divergence (natural log, so between 0 and ln 2) over the union of both top-k sets. A token in
the union that one side did not list gets that side's tail mass spread evenly over the tokens outside its
top-k (tail / (vocab − k)); when the vocabulary size is unknown, the tail is spread over the union members
that side is missing. Each side is then renormalised over the union. Pure Python: no torch, no numpy.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Sequence
from typing import Literal

from dlm_desktop.core.inference.protocols import TokenDist

Verdict = Literal["green", "yellow", "red"]
GREEN_SIGMA = 3.0
YELLOW_SIGMA = 1.0


def union_probabilities(p: TokenDist, q: TokenDist) -> tuple[list[float], list[float]]:
    """Both distributions over the union of their top-k keys (p's order, then q's extras), renormalised."""
    p_map = dict(zip(p.keys, p.logprobs))
    q_map = dict(zip(q.keys, q.logprobs))
    union: list[Hashable] = list(p_map) + [key for key in q_map if key not in p_map]
    return _on_union(p, p_map, union), _on_union(q, q_map, union)


def _on_union(dist: TokenDist, known: dict, union: list) -> list[float]:
    missing = [key for key in union if key not in known]
    fill = 0.0
    if missing and dist.tail_mass > 0.0:
        outside = (dist.vocab_size - len(known)) if dist.vocab_size is not None else len(missing)
        fill = dist.tail_mass / max(outside, len(missing))
    probs = [math.exp(known[key]) if key in known else fill for key in union]
    total = math.fsum(probs)
    return [value / total for value in probs] if total > 0.0 else probs


def js_divergence(p: TokenDist, q: TokenDist) -> float:
    """Jensen–Shannon divergence (nats) of two top-k distributions, as described in the module docstring."""
    ps, qs = union_probabilities(p, q)
    total = 0.0
    for a, b in zip(ps, qs):
        m = 0.5 * (a + b)
        if a > 0.0:
            total += 0.5 * a * math.log(a / m)
        if b > 0.0:
            total += 0.5 * b * math.log(b / m)
    return max(0.0, total)


def mean_js(ps: Sequence[TokenDist], qs: Sequence[TokenDist]) -> tuple[float, list[float]]:
    """The mean JS divergence over paired distributions, and the per-pair values."""
    values = [js_divergence(p, q) for p, q in zip(ps, qs, strict=True)]
    return (math.fsum(values) / len(values) if values else 0.0), values


def z_score(value: float, null_values: Sequence[float]) -> float | None:
    """(value − mean) / sample std of the null values; None with fewer than two null values.

    The spread is floored at 1e-9 + 1e-3 × |null mean| so identical nulls give a large but finite z.
    """
    if len(null_values) < 2:
        return None
    mean = statistics.fmean(null_values)
    spread = max(statistics.stdev(null_values), 1e-9 + 1e-3 * abs(mean))
    return (value - mean) / spread


def verdict_for(z: float | None) -> Verdict:
    """green at ≥ 3σ, yellow at ≥ 1σ, else red (also red when no z could be computed)."""
    if z is None:
        return "red"
    if z >= GREEN_SIGMA:
        return "green"
    return "yellow" if z >= YELLOW_SIGMA else "red"

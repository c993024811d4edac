"""The scoring protocols every differential backend speaks, and the values they return.

A *view* scores text under one model: `logprob_of`, `rolling_logprob`, `next_token_dist` and the batched
`next_token_dist_batch` (numerically equal to calling `next_token_dist` per prompt). A *differential backend*
holds base and fine-tuned views on one loaded model: `as_base()` and `as_finetuned()` are context managers
yielding a view; only one view is open at a time and a view used after its block closed raises
`ViewStateError`. Optional protocols: `as_scaled_adapter(λ)`, `as_null_adapter(seed, init_scale,
rank_scale)` and `preflight_finite_check()`. All log-probabilities are natural logs (nats).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class RollingLogprob:
    """Per-token log-probabilities of a text under a view (the first token, which has no context, is not
    scored unless the tokenizer adds a beginning-of-sequence token)."""

    token_logprobs: tuple[float, ...]

    @property
    def total(self) -> float:
        """Sum of the per-token log-probabilities."""
        return float(sum(self.token_logprobs))

    @property
    def mean(self) -> float:
        """Mean per-token log-probability (0.0 for no scored token)."""
        return self.total / len(self.token_logprobs) if self.token_logprobs else 0.0

    @property
    def perplexity(self) -> float:
        """exp(−mean): 1.0 for a text the view predicts perfectly."""
        return math.exp(-self.mean)

    def as_json_dict(self) -> dict[str, Any]:
        return {"token_logprobs": list(self.token_logprobs), "mean": self.mean, "perplexity": self.perplexity}


@dataclass(frozen=True)
class TokenDist:
    """The top-k of a next-token distribution.

    `token_ids` and `logprobs` are in decreasing probability. `vocab_size` is the size of the full
    distribution (None when a server does not say). `log_tail_mass` is log(1 − Σ top-k probabilities): None
    when k covers the vocabulary, and the sentinel 0.0 when the tail underflowed to nothing (a real log tail
    mass is always below 0, because the top-k are the most probable tokens). Backends that cannot name token
    ids (remote servers) leave `token_ids` empty and fill `token_texts`.
    """

    token_ids: tuple[int, ...]
    logprobs: tuple[float, ...]
    vocab_size: int | None
    log_tail_mass: float | None
    token_texts: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[Any, ...]:
        """What identifies each entry: the token ids, else the token texts."""
        return self.token_ids if self.token_ids else self.token_texts

    @property
    def tail_mass(self) -> float:
        """The probability outside the top-k (0.0 when k covers the vocabulary or the tail underflowed)."""
        if self.log_tail_mass is None or self.log_tail_mass == 0.0:
            return 0.0
        return math.exp(self.log_tail_mass)

    def as_json_dict(self) -> dict[str, Any]:
        return {
            "token_ids": list(self.token_ids),
            "token_texts": list(self.token_texts),
            "logprobs": list(self.logprobs),
            "vocab_size": self.vocab_size,
            "log_tail_mass": self.log_tail_mass,
        }


def log_tail_from_topk(logprobs: Sequence[float], vocab_size: int | None) -> float | None:
    """`log_tail_mass` for top-k log-probs that came without their tail (remote servers): None when k covers
    the vocabulary, else log(1 − Σ p), with 0.0 when that is not positive."""
    if vocab_size is not None and len(logprobs) >= vocab_size:
        return None
    tail = 1.0 - math.fsum(math.exp(lp) for lp in logprobs)
    return math.log(tail) if tail > 0.0 else 0.0


@runtime_checkable
class ScoringView(Protocol):
    """Scores text under one model (base, fine-tuned, scaled or null)."""

    def logprob_of(self, prompt: str, completion: str) -> float: ...

    def rolling_logprob(self, text: str) -> RollingLogprob: ...

    def next_token_dist(self, prompt: str, top_k: int = 64) -> TokenDist: ...

    def next_token_dist_batch(self, prompts: Sequence[str], top_k: int = 64) -> list[TokenDist]: ...


@runtime_checkable
class DifferentialBackend(Protocol):
    """Base and fine-tuned views on one loaded model (never open at once)."""

    def as_base(self) -> AbstractContextManager[ScoringView]: ...

    def as_finetuned(self) -> AbstractContextManager[ScoringView]: ...


@runtime_checkable
class ScalableAdapterBackend(Protocol):
    """Views whose LoRA term is multiplied by λ (0 = base, 1 = fine-tuned, above 1 overshoots)."""

    def as_scaled_adapter(self, strength: float) -> AbstractContextManager[ScoringView]: ...


@runtime_checkable
class NullAdapterBackend(Protocol):
    """Views with random adapters of the real structure, to calibrate what "no learning" looks like."""

    def as_null_adapter(
        self, seed: int, init_scale: float | None = None, rank_scale: float = 1.0
    ) -> AbstractContextManager[ScoringView]: ...


@runtime_checkable
class PreflightBackend(Protocol):
    """Checks every view gives finite logits before any verdict is drawn."""

    def preflight_finite_check(self) -> None: ...


PROTOCOLS: dict[str, type] = {
    "differential": DifferentialBackend,
    "scaled_adapter": ScalableAdapterBackend,
    "null_adapter": NullAdapterBackend,
    "preflight": PreflightBackend,
}


def satisfied_protocols(backend: object) -> tuple[str, ...]:
    """The names (keys of `PROTOCOLS`) of the protocols `backend` offers, in a fixed order."""
    recorded = getattr(backend, "protocols", None)
    if isinstance(recorded, tuple):
        return recorded
    return tuple(name for name, protocol in PROTOCOLS.items() if isinstance(backend, protocol))

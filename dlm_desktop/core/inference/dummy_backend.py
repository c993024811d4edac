"""`DummyBackend`: a deterministic stand-in model for tests of code that consumes the scoring protocols.

It has no weights: the logits for a context are pseudo-random numbers seeded by the context text, the
fine-tuned view adds `shift` times a second pseudo-random direction, scaled views add λ times it, and null
views add a seed-dependent direction of size `null_scale`. Words are tokens (`hash(word) % vocab_size`).
It offers every protocol, follows the same view rules as real backends, and is built directly: building
it from a spec is an error.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from dlm_desktop.core.inference.errors import NonFiniteLogitsError, ScoringInputError
from dlm_desktop.core.inference.protocols import RollingLogprob, TokenDist
from dlm_desktop.core.inference.views import Lease, ViewGuard


class DummyView:
    """A view of the dummy model: `strength` times the fine-tuned direction, or a null direction."""

    def __init__(self, backend: "DummyBackend", lease: Lease, strength: float, null_seed: int | None,
                 null_size: float = 0.0) -> None:
        self._backend, self._lease = backend, lease
        self._strength, self._null_seed, self._null_size = strength, null_seed, null_size

    def logprob_of(self, prompt: str, completion: str) -> float:
        self._lease.check()
        context, total = prompt.split(), 0.0
        for word in completion.split():
            total += self._logprobs(context)[self._backend.token_id(word)]
            context.append(word)
        return total

    def rolling_logprob(self, text: str) -> RollingLogprob:
        self._lease.check()
        words = text.split()
        return RollingLogprob(tuple(self._logprobs(words[:i])[self._backend.token_id(w)]
                                    for i, w in enumerate(words) if i > 0))

    def next_token_dist(self, prompt: str, top_k: int = 64) -> TokenDist:
        self._lease.check()
        if top_k < 1:
            raise ScoringInputError(f"top_k must be at least 1, got {top_k}", fix="ask for one or more tokens")
        logprobs = self._logprobs(prompt.split())
        order = sorted(range(len(logprobs)), key=lambda i: -logprobs[i])[:top_k]
        vocab = len(logprobs)
        tail = None
        if len(order) < vocab:
            chosen = set(order)
            rest = math.fsum(math.exp(logprobs[i]) for i in range(vocab) if i not in chosen)
            tail = math.log(rest) if rest > 0 else 0.0
        return TokenDist(tuple(order), tuple(logprobs[i] for i in order), vocab, tail)

    def next_token_dist_batch(self, prompts: Sequence[str], top_k: int = 64) -> list[TokenDist]:
        return [self.next_token_dist(prompt, top_k) for prompt in prompts]

    def _logprobs(self, context: list[str]) -> list[float]:
        backend, key = self._backend, " ".join(context)
        logits = backend.vector(f"base:{key}", 1.0)
        if self._null_seed is not None:
            delta = backend.vector(f"null{self._null_seed}:{key}", self._null_size)
        else:
            delta = backend.vector(f"tuned:{key}", backend.shift * self._strength)
        combined = [a + b for a, b in zip(logits, delta)]
        top = max(combined)
        norm = top + math.log(math.fsum(math.exp(v - top) for v in combined))
        return [v - norm for v in combined]


class DummyBackend:
    """A differential backend without a model (see the module docstring)."""

    kind = "dummy"
    protocols = ("differential", "scaled_adapter", "null_adapter", "preflight")

    def __init__(self, vocab_size: int = 32, *, shift: float = 2.0, null_scale: float = 0.5, seed: int = 0,
                 finite: bool = True) -> None:
        self.vocab_size, self.shift, self.null_scale, self.seed = vocab_size, shift, null_scale, seed
        self.finite = finite
        self.guard = ViewGuard()

    def token_id(self, word: str) -> int:
        return random.Random(f"token:{word}").randrange(self.vocab_size)

    def vector(self, key: str, scale: float) -> list[float]:
        rng = random.Random(f"{self.seed}:{key}")
        return [scale * rng.gauss(0.0, 1.0) for _ in range(self.vocab_size)]

    @contextmanager
    def as_base(self) -> Iterator[DummyView]:
        with self.guard.lease("base") as lease:
            yield DummyView(self, lease, 0.0, None)

    @contextmanager
    def as_finetuned(self) -> Iterator[DummyView]:
        with self.guard.lease("finetuned") as lease:
            yield DummyView(self, lease, 1.0, None)

    @contextmanager
    def as_scaled_adapter(self, strength: float) -> Iterator[DummyView]:
        with self.guard.lease("scaled_adapter") as lease:
            yield DummyView(self, lease, float(strength), None)

    @contextmanager
    def as_null_adapter(self, seed: int, init_scale: float | None = None,
                        rank_scale: float = 1.0) -> Iterator[DummyView]:
        with self.guard.lease("null_adapter") as lease:
            size = (self.null_scale if init_scale is None else init_scale) * math.sqrt(rank_scale)
            yield DummyView(self, lease, 0.0, int(seed), size)

    def preflight_finite_check(self) -> None:
        if not self.finite:
            raise NonFiniteLogitsError("the dummy model was built to fail its finite check",
                                       fix="build DummyBackend(finite=True)")

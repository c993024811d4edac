"""One open view at a time, and no use after close: the lease every backend hands its views.

A backend owns a `ViewGuard`. `guard.lease(label)` is a context manager: it refuses to open while another
lease is open, and marks its lease closed on exit (also on exceptions). A view calls `lease.check()` at the
start of every method, so a view kept past its `with` block raises instead of silently scoring under
whatever state the shared model is in by then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from contextlib import contextmanager

from dlm_desktop.core.inference import token_scoring
from dlm_desktop.core.inference.errors import ViewStateError


class Lease:
    """The right of one view to use the shared model while its block is open."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.closed = False

    def check(self) -> None:
        """Raise `ViewStateError` when the view's block has closed."""
        if self.closed:
            raise ViewStateError(
                f"the {self.label} view was used after its `with` block closed",
                fix=f"call the view's methods inside `with backend.as_{self.label}() as view:`",
            )


class ViewGuard:
    """Hands out at most one open `Lease` at a time."""

    def __init__(self) -> None:
        self._open: Lease | None = None
        self._lock = threading.Lock()

    @property
    def open_label(self) -> str | None:
        """The label of the open view, or None."""
        return self._open.label if self._open is not None else None

    @contextmanager
    def lease(self, label: str) -> Iterator[Lease]:
        """Open a lease for a `label` view; raises `ViewStateError` when another view is open."""
        with self._lock:
            if self._open is not None:
                raise ViewStateError(
                    f"cannot open the {label} view while the {self._open.label} view is open "
                    "(they share one loaded model)",
                    fix="close the first view's `with` block before opening another",
                )
            lease = Lease(label)
            self._open = lease
        try:
            yield lease
        finally:
            lease.closed = True
            with self._lock:
                self._open = None


class LeasedScoringView:
    """A scoring view over a backend's shared model (see `protocols.ScoringView`), valid while its lease is.

    The token arithmetic is `token_scoring`'s; subclasses name their backend's array module as `scoring`
    (`hf_scoring`, `mlx_scoring`: `target_logprobs` and `dist_from_logits` over torch or MLX logits). The
    backend gives `tokenizer`, `window` and `forward_rows(rows, factors, last_only=...)`. `factors` maps a
    prompt to its adapter factors (None: the base)."""

    scoring: Any

    def __init__(self, backend: Any, lease: Lease, factors: Callable[[str], dict[str, float]] | None) -> None:
        self._backend = backend
        self._lease = lease
        self._factors = factors
        self.label = lease.label

    def adapter_factors(self, prompt: str) -> dict[str, float] | None:
        """The per-adapter factors this view applies for `prompt` (None for the base view)."""
        self._lease.check()
        return None if self._factors is None else self._factors(prompt)

    def logprob_of(self, prompt: str, completion: str) -> float:
        self._lease.check()
        return token_scoring.logprob_of(self._forward, self._backend.tokenizer, prompt, completion,
                                        target_logprobs=self.scoring.target_logprobs)

    def rolling_logprob(self, text: str):
        self._lease.check()
        return token_scoring.rolling_logprob(self._forward, self._backend.tokenizer, text, window=self._backend.window,
                                             target_logprobs=self.scoring.target_logprobs)

    def next_token_dist(self, prompt: str, top_k: int = 64):
        self._lease.check()
        return self.next_token_dist_batch([prompt], top_k)[0]

    def next_token_dist_batch(self, prompts: Sequence[str], top_k: int = 64) -> list:
        self._lease.check()
        return token_scoring.next_token_dists(self._forward, self._backend.tokenizer, list(prompts), top_k,
                                              dist_from_logits=self.scoring.dist_from_logits)

    def _forward(self, rows: list[list[int]], texts: list[str], last_only: bool) -> Any:
        self._lease.check()
        factors = None if self._factors is None else [self._factors(text) for text in texts]
        return self._backend.forward_rows(rows, factors, last_only=last_only)


class RoutedViews:
    """The view entry points every differential backend shares (HF and MLX): base, fine-tuned, λ-scaled and
    null-adapter views, each leased from `self.guard` and given the per-prompt adapter factors to apply.

    A backend provides `guard`, `gate`, `gate_weights(prompt)`, `adapter_names`, `routing`, the class of its
    views as `view_type` (constructed as `view_type(backend, lease, factors)`), and `null_weights(seed,
    init_scale, rank_scale)`, a context manager that swaps random adapters in and the trained ones back."""

    view_type: type

    def weights_for(self, prompt: str, routing=None) -> dict[str, float]:
        """`{adapter: weight}` that `routing` (default: the backend's) gives `prompt`."""
        from dlm_desktop.core.inference.routing import route_weights

        gate = self.gate_weights if (self.gate is not None and len(self.adapter_names) > 1) else None
        return route_weights(routing or self.routing, self.adapter_names, prompt, gate)

    def _scaled(self, strength: float, routing):
        if strength == 1.0:
            return lambda prompt: self.weights_for(prompt, routing)
        return lambda prompt: {k: strength * w for k, w in self.weights_for(prompt, routing).items()}

    @contextmanager
    def as_base(self) -> Iterator:
        """The plain base model (adapters off)."""
        with self.guard.lease("base") as lease:
            yield self.view_type(self, lease, None)

    @contextmanager
    def as_finetuned(self, routing=None) -> Iterator:
        """The fine-tuned model: `W + Σ w_i s_i B_i A_i` with `w` from `routing` (default: the backend's)."""
        with self.guard.lease("finetuned") as lease:
            yield self.view_type(self, lease, self._scaled(1.0, routing))

    @contextmanager
    def as_scaled_adapter(self, strength: float, routing=None) -> Iterator:
        """The fine-tuned mix with every LoRA term multiplied by `strength` (λ)."""
        with self.guard.lease("scaled_adapter") as lease:
            yield self.view_type(self, lease, self._scaled(float(strength), routing))

    @contextmanager
    def as_null_adapter(self, seed: int, init_scale: float | None = None, rank_scale: float = 1.0,
                        routing=None) -> Iterator:
        """Random adapters of the same structure, mixed like the fine-tuned view; the trained weights come
        back when the block exits."""
        with self.guard.lease("null_adapter") as lease:
            with self.null_weights(seed, init_scale, rank_scale):
                yield self.view_type(self, lease, self._scaled(1.0, routing))

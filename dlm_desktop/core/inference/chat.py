"""`prompt_document`: one prompt to a trained document, answered by the fine-tuned model, or side by side by
the base and the fine-tuned model from ONE batched generation on ONE loaded copy of the weights.

The prompt goes through the base's chat template as one user turn, after the document's `system_prompt`.
The fine-tuned side is routed per prompt (the learned gate, 1/N with `gate="off"`, one named adapter, or a
fixed `mix` such as the static mix an export freezes) and scaled by λ (`strength`). The CLI
(`dlm-desktop prompt`) and the GUI chat pane both drain this generator.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from dlm_desktop.core.inference.errors import ChatRequestError
from dlm_desktop.core.inference.generation import (
    GenerationSettings,
    RowRequest,
    RowResult,
    TokenEvent,
    chat_prompt_ids,
    generate_rows,
)
from dlm_desktop.core.inference.routing import Routing
from dlm_desktop.core.inference.session import InferenceSession, LoadEvent, open_document
from dlm_desktop.core.inference.store_adapters import GateChoice


@dataclass(frozen=True)
class ChatRequest:
    """One prompt to a document. `strength` is λ, the adapter strength (0 = base, 1 = fine-tuned).
    `temperature` 0 is greedy; `seed` makes sampling repeatable; `home` overrides the DLM home.
    `mix` ({adapter: weight}) replaces the gate with that fixed mix (e.g. the static mix an export freezes)."""

    document_path: Path
    text: str
    side_by_side: bool = False
    gate: GateChoice = "auto"
    adapter: str | None = None
    strength: float = 1.0
    max_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 1.0
    seed: int | None = None
    home: Path | None = None
    offline: bool | None = None
    mix: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "document_path", Path(self.document_path))
        if not self.text.strip():
            raise ChatRequestError("the prompt is empty", fix="type a question or instruction")
        if self.mix is not None:
            if self.adapter is not None:
                raise ChatRequestError("choose either one adapter or a fixed mix, not both",
                                       fix="leave out the adapter or the mix")
            object.__setattr__(self, "mix", {str(name): float(weight) for name, weight in self.mix.items()})


@dataclass(frozen=True)
class ChatRouted:
    """How the fine-tuned side is mixed for this prompt: `weights` {adapter: w} (summing to 1 for the gate
    and uniform modes), `gate_mode` (`trained`, `uniform`, `static` for a fixed mix, or `none`) and the single
    `adapter` if one."""

    weights: dict[str, float]
    gate_mode: str
    adapter: str | None
    strength: float


ChatEvent = Union[LoadEvent, ChatRouted, TokenEvent]


@dataclass(frozen=True)
class ChatResult:
    """The answers: `base` is None unless side by side. `timing` in seconds."""

    finetuned: RowResult
    base: RowResult | None
    routed: ChatRouted
    timing: dict[str, float | None]
    notices: tuple[str, ...] = field(default=())

    @property
    def cancelled(self) -> bool:
        return self.finetuned.finish_reason == "cancelled"

    def as_json_dict(self) -> dict[str, Any]:
        """The `prompt --json` object."""
        gate = self.routed.weights if self.routed.gate_mode != "none" else None
        finetuned = {"text": self.finetuned.text, "gate": gate, "adapter": self.routed.adapter,
                     "strength": self.routed.strength, "finish_reason": self.finetuned.finish_reason}
        base = None if self.base is None else {"text": self.base.text, "finish_reason": self.base.finish_reason}
        timing = {key: (round(value, 4) if value is not None else None) for key, value in self.timing.items()}
        return {"base": base, "finetuned": finetuned, "timing": timing, "notices": list(self.notices)}


def prompt_document(
    request: ChatRequest,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    session: InferenceSession | None = None,
) -> Generator[ChatEvent, None, ChatResult]:
    """Answer `request.text` with the document's trained model (and the base, side by side).

    Yields model-loading events, one `ChatRouted`, then `TokenEvent`s (side `base` or `finetuned`); returns a
    `ChatResult`. `should_stop()` is checked before every generated token (the answer then ends with
    finish_reason `cancelled`). Pass a `session` to keep the model loaded between prompts.
    """
    started = time.monotonic()
    opened = open_document(request.document_path, home=request.home, adapter=request.adapter, gate=request.gate)
    own_session = session is None
    session = session or InferenceSession()
    try:
        backend = yield from session.backend_for(opened, offline=request.offline, should_stop=should_stop)
        loaded = time.monotonic()
        routed = _route(backend, opened, request)
        routed_at = time.monotonic()
        yield routed
        ids = chat_prompt_ids(backend.tokenizer, request.text, opened.frontmatter.system_prompt)
        settings = GenerationSettings(request.max_tokens, request.temperature, request.top_p, request.seed)
        factors = {name: request.strength * weight for name, weight in routed.weights.items()}
        rows = [RowRequest("base", ids, None)] if request.side_by_side else []
        rows.append(RowRequest("finetuned", ids, factors))
        generate = _generator_of(backend)
        generated = yield from generate(backend, rows, settings, should_stop=should_stop)
    finally:
        if own_session:
            session.close()
    timing = {"load_s": loaded - started, "route_s": routed_at - loaded, "first_token_s": generated.first_token_s,
              "generate_s": generated.total_s, "total_s": time.monotonic() - started}
    base = generated.side("base") if request.side_by_side else None
    return ChatResult(generated.side("finetuned"), base, routed, timing, opened.adapters.notices)


def _generator_of(backend: Any) -> Callable[..., Any]:
    """The decoding loop of the backend's runtime (torch's, or MLX's for the `mlx` backend)."""
    if getattr(backend, "kind", "hf") == "mlx":
        from dlm_desktop.core.inference.mlx_generation import generate_rows_mlx

        return generate_rows_mlx
    return generate_rows


def _route(backend: Any, opened: Any, request: ChatRequest) -> ChatRouted:
    found = opened.adapters
    if request.mix is not None:
        weights = backend.weights_for(request.text, Routing.static(request.mix))
        return ChatRouted(weights, "static", None, float(request.strength))
    weights = backend.weights_for(request.text, found.routing)
    adapter = found.routing.adapter_name if found.routing.mode == "adapter" else None
    return ChatRouted(weights, found.gate_mode, adapter, float(request.strength))

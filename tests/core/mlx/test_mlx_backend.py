"""The `mlx` differential backend against the `hf` (torch) one on the same base, adapters and gate: logits
within 1e-3 (fp32) for every view, the scoring API, gate routing per prompt, λ, null adapters and
streaming generation, all from ONE loaded MLX model."""

from __future__ import annotations

import numpy as np
import pytest

from dlm_desktop.core.inference import MlxDifferentialBackend, Routing, ViewStateError, satisfied_protocols
from dlm_desktop.core.inference.generation import GenerationSettings, RowRequest, chat_prompt_ids, generate_rows
from dlm_desktop.core.inference.mlx_generation import generate_rows_mlx

ROWS = [[5, 6, 7, 8, 9, 10], [11, 12]]  # different lengths: the batch is left-padded
PROMPTS = ["hello world the cat", "what is the capital of france", "red sky"]


def _logits(backend, factors):
    out = backend.forward_rows(ROWS, factors, last_only=False)
    return out if isinstance(out, np.ndarray) else out.numpy()


@pytest.mark.parametrize("factors", [None, [{"alpha": 1.0, "beta": 0.0}, {"alpha": 0.3, "beta": 0.7}],
                                     [{"alpha": 1.25, "beta": 1.25}, {"beta": 1.0}]],
                         ids=["base", "gate-mix", "overshoot"])
def test_mlx_and_torch_logits_agree_within_1e3(backends, factors):
    mlx, hf = backends
    ours, theirs = _logits(mlx, factors), _logits(hf, factors)
    assert ours.shape == theirs.shape
    assert np.abs(ours[0] - theirs[0]).max() < 1e-3
    assert np.abs(ours[1, -2:] - theirs[1, -2:]).max() < 1e-3  # the padded row's real positions


def test_one_model_serves_every_view_and_the_views_differ(backends):
    mlx, _ = backends
    assert type(mlx) is MlxDifferentialBackend and mlx.kind == "mlx"
    assert satisfied_protocols(mlx) == ("differential", "scaled_adapter", "null_adapter", "preflight")
    with mlx.as_base() as view:
        base = view.next_token_dist(PROMPTS[0], top_k=5)
        with pytest.raises(ViewStateError):
            with mlx.as_finetuned():
                pass
    with pytest.raises(ViewStateError, match="after its `with` block closed"):
        view.next_token_dist(PROMPTS[0])
    with mlx.as_scaled_adapter(0.0) as view:
        assert view.next_token_dist(PROMPTS[0], top_k=5) == base  # λ = 0 is the base exactly
    with mlx.as_finetuned() as view:
        assert view.next_token_dist(PROMPTS[0], top_k=5).logprobs != base.logprobs


def test_the_scoring_api_matches_torch(backends):
    mlx, hf = backends
    results = []
    for backend in (mlx, hf):
        with backend.as_finetuned(Routing.static({"alpha": 0.5, "beta": 0.5})) as view:
            results.append((view.logprob_of("hello world", "the cat sat"),
                            view.rolling_logprob("the cat sat on the mat").token_logprobs,
                            view.next_token_dist_batch(PROMPTS, top_k=4),
                            [view.next_token_dist(prompt, top_k=4) for prompt in PROMPTS]))
    (lp, rolling, batch, single), (lp_t, rolling_t, batch_t, _) = results
    assert lp == pytest.approx(lp_t, abs=1e-3) and lp < 0
    assert np.allclose(rolling, rolling_t, atol=1e-3) and len(rolling) == 5  # 6 words, the first has no context
    for ours, alone, theirs in zip(batch, single, batch_t):
        assert ours.token_ids == alone.token_ids == theirs.token_ids
        assert np.allclose(ours.logprobs, alone.logprobs, atol=1e-5)  # batched == per prompt
        assert np.allclose(ours.logprobs, theirs.logprobs, atol=1e-3)
        assert ours.log_tail_mass == pytest.approx(theirs.log_tail_mass, abs=1e-3) and ours.log_tail_mass < 0
    with mlx.as_base() as view:
        full = view.next_token_dist(PROMPTS[0], top_k=10_000)
    assert full.log_tail_mass is None and full.vocab_size == len(full.token_ids)


def test_the_gate_routes_each_prompt_like_torch(backends):
    mlx, hf = backends
    weights = [mlx.weights_for(prompt) for prompt in PROMPTS]
    for ours, prompt in zip(weights, PROMPTS):
        theirs = hf.weights_for(prompt)
        assert list(ours) == ["alpha", "beta"] and sum(ours.values()) == pytest.approx(1.0)
        assert ours["alpha"] == pytest.approx(theirs["alpha"], abs=1e-4)
    assert max(w["alpha"] for w in weights) - min(w["alpha"] for w in weights) > 0.01  # per prompt, not fixed
    with mlx.as_finetuned() as view:
        assert view.adapter_factors(PROMPTS[1]) == pytest.approx(weights[1])


def test_null_adapters_are_random_and_the_real_ones_come_back(backends):
    mlx, _ = backends
    with mlx.as_finetuned() as view:
        before = view.next_token_dist(PROMPTS[0], top_k=5)
    with mlx.as_null_adapter(seed=7) as view:
        null_a = view.next_token_dist(PROMPTS[0], top_k=5)
    with mlx.as_null_adapter(seed=7) as view:
        assert view.next_token_dist(PROMPTS[0], top_k=5) == null_a  # a seed gives the same null adapter
    with pytest.raises(RuntimeError):
        with mlx.as_null_adapter(seed=8):
            raise RuntimeError("boom")
    with mlx.as_finetuned() as view:
        assert view.next_token_dist(PROMPTS[0], top_k=5) == before
    assert null_a.logprobs != before.logprobs
    mlx.preflight_finite_check()


def test_side_by_side_generation_streams_like_torch(backends):
    mlx, hf = backends
    ids = chat_prompt_ids(mlx.tokenizer, "what is the capital of france")
    rows = [RowRequest("base", ids, None), RowRequest("finetuned", ids, {"alpha": 0.6, "beta": 0.4})]
    settings = GenerationSettings(max_tokens=6, temperature=0.0, stop_at_end_of_turn=False)
    answers = []
    for backend, generate in ((mlx, generate_rows_mlx), (hf, generate_rows)):
        job, events = generate(backend, rows, settings), []
        while True:
            try:
                events.append(next(job))
            except StopIteration as done:
                answers.append((events, done.value))
                break
    (events, result), (_, reference) = answers
    assert [row.token_ids for row in result.rows] == [row.token_ids for row in reference.rows]
    assert result.side("base").token_ids != result.side("finetuned").token_ids
    assert [e.side for e in events].count("finetuned") == 6 and result.side("base").finish_reason == "length"
    stopped = generate_rows_mlx(mlx, rows, settings, should_stop=lambda: True)
    with pytest.raises(StopIteration) as done:
        next(stopped)
    assert done.value.value.side("finetuned").finish_reason == "cancelled"

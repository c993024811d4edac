"""The hf differential backend on a tiny real Llama with two real PEFT adapters and a real gate: views are
exact (λ=0 is the base, λ=1 the fine-tuned, the gate mix equals merged weights), null adapters always give
the trained weights back, batched scoring equals per-prompt scoring, and views cannot be misused."""

from __future__ import annotations

import math

import pytest
import torch

from dlm_desktop.core.inference import NonFiniteLogitsError, Routing, ViewStateError
from dlm_desktop.core.inference.hf_scoring import dist_from_logits
from dlm_desktop.core.inference.lora_control import lora_layers

PROMPT = "what is the capital of france"
PROMPTS = [PROMPT, "the cat sat on the mat", "sky", "red blue green sky sea tree river"]


def logits_of(view, backend, prompt=PROMPT):
    ids = backend.tokenizer(prompt)["input_ids"]
    return view._forward([ids], [prompt], False)


def lora_snapshot(backend):
    return {name: p.detach().clone() for name, p in backend.model.named_parameters() if "lora_" in name}


def test_lambda_zero_is_the_base_and_lambda_one_the_finetuned_exactly(tiny_backend):
    with tiny_backend.as_base() as view:
        base = logits_of(view, tiny_backend)
    with tiny_backend.as_scaled_adapter(0.0) as view:
        zero = logits_of(view, tiny_backend)
    with tiny_backend.as_finetuned() as view:
        tuned = logits_of(view, tiny_backend)
    with tiny_backend.as_scaled_adapter(1.0) as view:
        one = logits_of(view, tiny_backend)
    with tiny_backend.as_scaled_adapter(1.25) as view:
        over = logits_of(view, tiny_backend)
    assert torch.equal(zero, base)
    assert torch.equal(one, tuned)
    assert (tuned - base).abs().max() > 1e-2  # the adapters really change the model
    # overshooting moves further from the base than the fine-tuned model does
    assert (over - base).norm() > (tuned - base).norm()


def merged_reference_logits(model_dir, backend, weights, prompt=PROMPT):
    """A plain transformers model whose weights are W + Σ w_i · s_i · B_i A_i, computed independently."""
    from transformers import AutoModelForCausalLM

    plain = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    modules = dict(plain.named_modules())
    with torch.no_grad():
        for name, layer in backend.model.named_modules():
            if not hasattr(layer, "lora_A") or not len(layer.lora_A):
                continue
            target = modules[name.removeprefix("base_model.model.")]
            for adapter, weight in weights.items():
                if adapter in layer.lora_A:
                    a, b = layer.lora_A[adapter].weight, layer.lora_B[adapter].weight
                    target.weight += weight * layer.scaling[adapter] * (b @ a)
        ids = torch.tensor([backend.tokenizer(prompt)["input_ids"]])
        return plain(input_ids=ids).logits


@pytest.mark.parametrize("prompt", [PROMPT, "red blue green"])
def test_gate_routing_applies_the_weighted_sum_of_both_adapters(tiny_backend, tiny_model_dir, prompt):
    weights = tiny_backend.weights_for(prompt)
    assert set(weights) == {"alpha", "beta"}
    assert math.isclose(sum(weights.values()), 1.0, abs_tol=1e-6)
    assert all(0.2 < w < 0.8 for w in weights.values()), weights  # a real mix, not one adapter
    with tiny_backend.as_finetuned() as view:
        assert view.adapter_factors(prompt) == weights
        routed = logits_of(view, tiny_backend, prompt)
    reference = merged_reference_logits(tiny_model_dir, tiny_backend, weights, prompt)
    assert (routed - reference).abs().max() < 1e-4
    # and it is not simply one adapter or the uniform mix
    uniform = merged_reference_logits(tiny_model_dir, tiny_backend, {"alpha": 0.5, "beta": 0.5}, prompt)
    assert (routed - uniform).abs().max() > 1e-3


def test_named_adapter_and_static_mix_routing(tiny_backend, tiny_model_dir):
    with tiny_backend.as_finetuned(Routing.adapter("beta")) as view:
        only_beta = logits_of(view, tiny_backend)
    with tiny_backend.as_finetuned(Routing.static({"alpha": 0.25, "beta": 0.75})) as view:
        mixed = logits_of(view, tiny_backend)
    assert (only_beta - merged_reference_logits(tiny_model_dir, tiny_backend, {"beta": 1.0})).abs().max() < 1e-4
    reference = merged_reference_logits(tiny_model_dir, tiny_backend, {"alpha": 0.25, "beta": 0.75})
    assert (mixed - reference).abs().max() < 1e-4


def test_per_prompt_gate_weights_differ_and_batched_rows_each_get_their_own(tiny_backend):
    from dlm_desktop.core.training.gate import route_prompt

    weights = [tiny_backend.weights_for(p)["alpha"] for p in PROMPTS]
    assert max(weights) - min(weights) > 0.1
    for prompt in PROMPTS:  # the same weights as the gate module's own routing of the prompt
        reference = route_prompt(tiny_backend.gate, tiny_backend.model, tiny_backend.tokenizer, prompt)
        assert tiny_backend.weights_for(prompt) == pytest.approx(reference, abs=1e-6)
    for opener in (tiny_backend.as_base, tiny_backend.as_finetuned, lambda: tiny_backend.as_scaled_adapter(0.5)):
        with opener() as view:
            batched = view.next_token_dist_batch(PROMPTS, top_k=8)
            single = [view.next_token_dist(p, top_k=8) for p in PROMPTS]
        for one, many in zip(single, batched):
            assert dict(zip(one.token_ids, one.logprobs)) == pytest.approx(dict(zip(many.token_ids, many.logprobs)),
                                                                           abs=1e-5)
            assert one.log_tail_mass == pytest.approx(many.log_tail_mass, abs=1e-5)


def test_null_adapter_is_random_of_the_same_structure_and_restored_after_an_exception(tiny_backend):
    before = lora_snapshot(tiny_backend)
    with tiny_backend.as_finetuned() as view:
        tuned = logits_of(view, tiny_backend)
    with pytest.raises(RuntimeError, match="boom"):
        with tiny_backend.as_null_adapter(seed=7) as view:
            during = lora_snapshot(tiny_backend)
            assert all(during[k].shape == before[k].shape for k in before)
            assert all(not torch.equal(during[k], before[k]) for k in before)
            null_logits = logits_of(view, tiny_backend)
            raise RuntimeError("boom")
    after = lora_snapshot(tiny_backend)
    assert all(torch.equal(after[k], before[k]) for k in before)
    with tiny_backend.as_finetuned() as view:
        assert torch.equal(logits_of(view, tiny_backend), tuned)
    assert not torch.equal(null_logits, tuned)


def test_null_adapter_is_seeded_and_its_size_follows_init_and_rank_scale(tiny_backend):
    def null_weights(**kwargs):
        with tiny_backend.as_null_adapter(**kwargs):
            return lora_snapshot(tiny_backend)

    first, again, other = null_weights(seed=1), null_weights(seed=1), null_weights(seed=2)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not any(torch.equal(first[k], other[k]) for k in first)
    fixed = null_weights(seed=1, init_scale=0.5)
    bigger = null_weights(seed=1, init_scale=0.5, rank_scale=4.0)
    stacked = torch.cat([t.flatten() for t in fixed.values()])
    assert float(stacked.std()) == pytest.approx(0.5, rel=0.1)
    assert all(torch.allclose(bigger[k], 2.0 * fixed[k]) for k in fixed)  # std × √4


def test_a_stale_view_raises_and_two_open_views_raise(tiny_backend):
    with tiny_backend.as_base() as view:
        with pytest.raises(ViewStateError, match="while the base view is open"):
            with tiny_backend.as_finetuned():
                pass
        view.next_token_dist(PROMPT, top_k=3)
    with pytest.raises(ViewStateError, match="after its `with` block closed"):
        view.next_token_dist(PROMPT, top_k=3)
    with pytest.raises(ViewStateError):
        view.logprob_of(PROMPT, "paris")
    with tiny_backend.as_finetuned() as tuned:  # the guard is free again
        assert tuned.next_token_dist(PROMPT, top_k=3).vocab_size == len(tiny_backend.tokenizer)


def test_scoring_values_agree_with_the_logits(tiny_backend):
    # one named adapter: with the gate, each text would be routed on its own words
    with tiny_backend.as_finetuned(Routing.adapter("alpha")) as view:
        logits = logits_of(view, tiny_backend, PROMPT + " paris")[0]
        total = view.logprob_of(PROMPT, "paris")
        rolling = view.rolling_logprob(PROMPT + " paris")
        dist = view.next_token_dist(PROMPT, top_k=5)
        everything = view.next_token_dist(PROMPT, top_k=10_000)
    ids = tiny_backend.tokenizer(PROMPT + " paris")["input_ids"]
    logprobs = torch.log_softmax(logits, dim=-1)
    assert total == pytest.approx(float(logprobs[-2, ids[-1]]), abs=1e-5)
    assert len(rolling.token_logprobs) == len(ids) - 1
    assert rolling.token_logprobs[-1] == pytest.approx(total, abs=1e-5)
    assert rolling.perplexity == pytest.approx(math.exp(-rolling.mean))
    mass = sum(math.exp(v) for v in dist.logprobs) + math.exp(dist.log_tail_mass)
    assert mass == pytest.approx(1.0, abs=1e-5)
    assert everything.log_tail_mass is None and len(everything.token_ids) == everything.vocab_size


def test_long_texts_are_scored_in_windows(tiny_backend):
    text = " ".join(["the cat sat on the mat"] * 20)
    tiny_backend.window = 16
    with tiny_backend.as_base() as view:
        rolling = view.rolling_logprob(text)
    assert len(rolling.token_logprobs) == len(tiny_backend.tokenizer(text)["input_ids"]) - 1
    assert all(math.isfinite(v) and v < 0 for v in rolling.token_logprobs)


def test_tail_mass_sentinel_when_the_tail_underflows():
    logits = torch.full((10,), float("-inf"))
    logits[:3] = torch.tensor([2.0, 1.0, 0.0])
    dist = dist_from_logits(logits, 3)
    assert dist.log_tail_mass == 0.0 and dist.tail_mass == 0.0
    assert dist_from_logits(torch.zeros(10), 4).log_tail_mass == pytest.approx(math.log(0.6))


def test_preflight_passes_and_catches_non_finite_logits(tiny_backend):
    tiny_backend.preflight_finite_check()
    value_layers = [m for n, m in tiny_backend.model.named_modules() if n.endswith("v_proj") and m in
                    lora_layers(tiny_backend.model)]
    with torch.no_grad():
        value_layers[0].lora_B["alpha"].weight[0, 0] = float("nan")  # a corrupt adapter weight
    with pytest.raises(NonFiniteLogitsError, match="finetuned"):
        tiny_backend.preflight_finite_check()


def test_lean_forwards_are_removed_after_every_pass_even_a_failing_one(tiny_backend):
    layers = lora_layers(tiny_backend.model)
    with tiny_backend.as_finetuned() as view:
        view.next_token_dist(PROMPT, top_k=3)
    assert all("forward" not in layer.__dict__ for layer in layers)
    out_of_vocab = [[len(tiny_backend.tokenizer) + 5]]
    for factors in (None, [{"alpha": 1.0}]):
        with pytest.raises(IndexError):
            tiny_backend.forward_rows(out_of_vocab, factors, last_only=True)
        assert all("forward" not in layer.__dict__ for layer in layers)
    # PEFT's own forward is intact: the plain PEFT model still computes the full fine-tuned output
    ids = torch.tensor([tiny_backend.tokenizer(PROMPT)["input_ids"]])
    with torch.no_grad():
        peft_logits = tiny_backend.model(input_ids=ids).logits
    with tiny_backend.as_finetuned(Routing.static({"alpha": 1.0, "beta": 1.0})) as view:
        assert (logits_of(view, tiny_backend) - peft_logits).abs().max() < 1e-5

"""The exact frozen mix: one LoRA whose product is exactly Σ w_i·(alpha_i/r_i)·B_i·A_i, ranks 8 and 4."""

from __future__ import annotations

import numpy as np
import pytest

from dlm_desktop.core.export import AdapterSelectionError, LoraModule, LoraWeights, WeightedAdapter, exact_mix
from dlm_desktop.core.export.lora_weights import read_peft_adapter, write_peft_adapter

Q, K, V = (f"model.layers.0.self_attn.{p}_proj.weight" for p in "qkv")


@pytest.fixture(scope="module")
def tiny_llama_dir(tmp_path_factory):
    from tests.core.models.conftest import make_tiny_llama

    return make_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


def random_adapter(rng, rank, alpha, names, out=16, inp=16):
    modules = {name: LoraModule(rng.normal(size=(rank, inp)), rng.normal(size=(out, rank)), alpha / rank)
               for name in names}
    return LoraWeights(modules)


def test_mix_of_ranks_8_and_4_equals_the_weighted_sum_of_deltas():
    rng = np.random.default_rng(0)
    first = random_adapter(rng, 8, 16, [Q, K, V])
    second = random_adapter(rng, 4, 32, [Q, V])  # leaves K alone: contributes zero there
    mixed = exact_mix([WeightedAdapter("a", first, 0.7), WeightedAdapter("b", second, 0.3)])
    assert mixed.uniform_rank_and_scaling() == (12, 1.0)
    for name in (Q, V):
        expected = 0.7 * (16 / 8) * first.modules[name].b @ first.modules[name].a \
            + 0.3 * (32 / 4) * second.modules[name].b @ second.modules[name].a
        assert np.abs(mixed.modules[name].delta() - expected).max() <= 1e-6
    expected_k = 0.7 * 2.0 * first.modules[K].b @ first.modules[K].a
    assert np.abs(mixed.modules[K].delta() - expected_k).max() <= 1e-6


def test_peft_linear_combination_is_not_the_sum_but_ours_is():
    """With equal ranks PEFT's 'linear' (A=Σ√(w s)A_i, B=Σ√(w s)B_i) has cross terms; the exact mix has none."""
    rng = np.random.default_rng(1)
    first, second = random_adapter(rng, 4, 8, [Q]), random_adapter(rng, 4, 8, [Q])
    weights = (0.5, 0.5)
    target = sum(w * m.modules[Q].delta() for w, m in zip(weights, (first, second)))
    c = [np.sqrt(w * m.modules[Q].scaling) for w, m in zip(weights, (first, second))]
    linear = (c[0] * first.modules[Q].b + c[1] * second.modules[Q].b) @ (c[0] * first.modules[Q].a + c[1] * second.modules[Q].a)
    assert np.abs(linear - target).max() > 0.1
    mixed = exact_mix([WeightedAdapter("a", first, 0.5), WeightedAdapter("b", second, 0.5)])
    assert np.abs(mixed.modules[Q].delta() - target).max() <= 1e-9


def test_mixed_adapter_round_trips_through_peft_in_fp32(tmp_path, tiny_llama_dir):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from tests.core.export.export_helpers import make_peft_adapter

    one = read_peft_adapter(make_peft_adapter(tiny_llama_dir, tmp_path / "a", r=8, alpha=16,
                                              targets=["q_proj", "v_proj"], seed=3, b_std=0.5))
    two = read_peft_adapter(make_peft_adapter(tiny_llama_dir, tmp_path / "b", r=4, alpha=4,
                                              targets=["q_proj", "o_proj"], seed=4, b_std=0.5))
    mixed = exact_mix([WeightedAdapter("a", one, 0.25), WeightedAdapter("b", two, 1.5)])
    write_peft_adapter(mixed, tmp_path / "mix")
    base = AutoModelForCausalLM.from_pretrained(str(tiny_llama_dir), dtype=torch.float32)
    before = {k: v.clone() for k, v in base.state_dict().items()}
    merged = PeftModel.from_pretrained(base, str(tmp_path / "mix")).merge_and_unload().state_dict()
    for name in {*one.modules, *two.modules}:
        expected = sum(w * m.modules[name].delta() for w, m in ((0.25, one), (1.5, two)) if name in m.modules)
        got = (merged[name] - before[name]).double().numpy()
        assert np.abs(got - expected).max() <= 1e-5, name


def test_bad_mixes_are_refused():
    rng = np.random.default_rng(2)
    adapter = random_adapter(rng, 4, 8, [Q])
    with pytest.raises(AdapterSelectionError):
        exact_mix([WeightedAdapter("a", adapter, 0.0)])
    with pytest.raises(AdapterSelectionError):
        exact_mix([WeightedAdapter("a", adapter, float("nan"))])
    other = random_adapter(rng, 4, 8, [Q], out=8)
    with pytest.raises(AdapterSelectionError, match="different base models"):
        exact_mix([WeightedAdapter("a", adapter, 1.0), WeightedAdapter("b", other, 1.0)])

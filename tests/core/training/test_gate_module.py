"""The gate network: shapes, parameter count, refusals, seeding and its safetensors file (SPEC-upstream §4.1,
§11.10)."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from dlm_desktop.core.store.errors import GateConfigError
from dlm_desktop.core.training.gate import STATE_KEYS, GateInputError, GateNetwork, GateShape, check_gate_shape


def test_output_is_one_distribution_per_row():
    gate = GateNetwork.build(128, 64, 3, seed=0)
    weights = gate(torch.randn(5, 128))
    assert weights.shape == (5, 3)
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(5))
    assert bool((weights > 0).all())


def test_parameter_count_matches_upstream_formula():
    # (in*h + h) + (h*N + N). SPEC-upstream quotes 131,328 for (2048, 64, 4), which is the two weight matrices
    # without their biases (2048*64 + 64*4); upstream's own Gate.num_parameters() returns 131,396, as here.
    assert GateShape(2048, 64, 4).parameter_count == 2048 * 64 + 64 + 64 * 4 + 4 == 131_396
    assert GateNetwork.build(2048, 64, 4).parameter_count() == 131_396
    assert GateShape(128, 64, 3).parameter_count == GateNetwork.build(128, 64, 3).parameter_count() == 8_451


def test_three_dimensional_batch_routes_every_position():
    gate = GateNetwork.build(32, 8, 2, seed=1)
    weights = gate(torch.randn(2, 7, 32))
    assert weights.shape == (2, 7, 2)
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(2, 7))


@pytest.mark.parametrize(
    ("input_dim", "hidden", "n_adapters", "needle"),
    [
        (128, 64, 1, "at least 2 adapters"),
        (0, 64, 2, "input_dim"),
        (-3, 64, 2, "input_dim"),
        (128, 0, 2, "hidden_proj_dim"),
        (128, True, 2, "hidden_proj_dim"),
    ],
)
def test_unusable_shapes_are_refused(input_dim, hidden, n_adapters, needle):
    with pytest.raises(GateInputError, match=needle) as caught:
        GateNetwork.build(input_dim, hidden, n_adapters)
    assert caught.value.fix


def test_wrong_embedding_size_is_refused():
    gate = GateNetwork.build(16, 8, 2, seed=0)
    with pytest.raises(GateInputError, match="size 16, got 17"):
        gate(torch.randn(3, 17))


def test_seeded_construction_is_repeatable_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = GateNetwork.build(16, 8, 3, seed=5).state_tensors()
    second = GateNetwork.build(16, 8, 3, seed=5).state_tensors()
    other = GateNetwork.build(16, 8, 3, seed=6).state_tensors()
    assert torch.equal(torch.rand(3), expected_next)
    assert all(torch.equal(first[key], second[key]) for key in STATE_KEYS)
    assert not torch.equal(first["0.weight"], other["0.weight"])


def test_seeded_weights_are_those_drawn_after_manual_seed():
    """Upstream seeds the global RNG and then builds the Sequential; the first layer's weights must agree."""
    torch.manual_seed(9)
    reference = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.GELU(), torch.nn.Linear(8, 2))
    ours = GateNetwork.build(16, 8, 2, seed=9).state_tensors()
    for key, tensor in reference.state_dict().items():
        assert torch.equal(ours[key], tensor)


def test_safetensors_file_has_upstream_keys_shapes_and_dtype(tmp_path):
    gate = GateNetwork.build(24, 6, 3, seed=2)
    path = gate.save(tmp_path / "_gate" / "gate.safetensors")
    state = load_file(str(path))
    assert sorted(state) == sorted(STATE_KEYS)
    assert {key: tuple(tensor.shape) for key, tensor in state.items()} == {
        "0.weight": (6, 24), "0.bias": (6,), "2.weight": (3, 6), "2.bias": (3,)
    }
    assert all(tensor.dtype == torch.float32 for tensor in state.values())
    assert [p.name for p in path.parent.iterdir()] == ["gate.safetensors"]  # no temporary left behind


def test_saved_gate_loads_back_with_identical_outputs(tmp_path):
    gate = GateNetwork.build(24, 6, 3, seed=2)
    path = gate.save(tmp_path / "gate.safetensors")
    loaded = GateNetwork.load(path, check_gate_shape(24, 6, 3))
    probe = torch.randn(4, 24)
    with torch.no_grad():
        torch.testing.assert_close(loaded(probe), gate(probe), rtol=0, atol=0)


def test_loading_refuses_a_file_that_does_not_fit_the_config(tmp_path):
    path = GateNetwork.build(24, 6, 3, seed=2).save(tmp_path / "gate.safetensors")
    with pytest.raises(GateConfigError, match=r"0.weight has shape \[6, 24\]"):
        GateNetwork.load(path, GateShape(32, 6, 3))
    state = load_file(str(path))
    state["extra"] = torch.zeros(1)
    save_file(state, str(tmp_path / "extra.safetensors"))
    with pytest.raises(GateConfigError, match="expected"):
        GateNetwork.load(tmp_path / "extra.safetensors", GateShape(24, 6, 3))
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(GateConfigError, match="cannot be read"):
        GateNetwork.load(tmp_path / "junk.safetensors", GateShape(24, 6, 3))
    with pytest.raises(GateConfigError, match="missing"):
        GateNetwork.load(tmp_path / "absent.safetensors", GateShape(24, 6, 3))


def test_loading_refuses_non_finite_weights(tmp_path):
    state = GateNetwork.build(8, 4, 2, seed=0).state_tensors()
    state["2.bias"][0] = float("nan")
    save_file(state, str(tmp_path / "nan.safetensors"))
    with pytest.raises(GateConfigError, match="2.bias is not a finite"):
        GateNetwork.load(tmp_path / "nan.safetensors", GateShape(8, 4, 2))

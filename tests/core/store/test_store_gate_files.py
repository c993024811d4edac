"""gate_config.json exactly as upstream writes and reads it (SPEC-upstream §4.4, §12 example 3)."""

from __future__ import annotations

import json

import pytest

from dlm_desktop.core.store.errors import GateConfigError
from dlm_desktop.core.store.gate_files import (
    GateConfig,
    gate_config_from_dict,
    gate_config_json,
    read_gate_config,
    write_gate_config,
)

EXAMPLE_3_UNIFORM = (
    "{\n"
    '  "adapter_names": [\n'
    '    "lexer",\n'
    '    "runtime"\n'
    "  ],\n"
    '  "entropy_lambda": 0.01,\n'
    '  "hidden_proj_dim": 64,\n'
    '  "input_dim": 576,\n'
    '  "mode": "uniform"\n'
    "}\n"
)


def test_example_3_cold_start_config_is_byte_exact(store):
    config = GateConfig(input_dim=576, hidden_proj_dim=64, adapter_names=("lexer", "runtime"), mode="uniform")
    path = write_gate_config(store, config)
    assert path == store.root / "adapter" / "_gate" / "gate_config.json"
    assert path.read_bytes() == EXAMPLE_3_UNIFORM.encode("ascii")
    assert json.loads(EXAMPLE_3_UNIFORM) == {
        "adapter_names": ["lexer", "runtime"],
        "entropy_lambda": 0.01,
        "hidden_proj_dim": 64,
        "input_dim": 576,
        "mode": "uniform",
    }
    assert read_gate_config(store) == config


def test_trained_config_round_trips_with_its_weights(store):
    store.gate_dir.mkdir(parents=True)
    store.gate_weights.write_bytes(b"weights")
    config = GateConfig(16, 16, ("lexer", "runtime", "misc"), "trained", entropy_lambda=0.05)
    write_gate_config(store, config)
    assert read_gate_config(store) == config
    assert store.gate_config.read_text().endswith('"mode": "trained"\n}\n')


def test_trained_config_without_weights_is_an_error(store):
    config = GateConfig(16, 16, ("lexer", "runtime"), "trained")
    with pytest.raises(GateConfigError, match="gate.safetensors"):
        write_gate_config(store, config)
    store.gate_dir.mkdir(parents=True)
    store.gate_config.write_text(gate_config_json(config))
    with pytest.raises(GateConfigError, match="gate.safetensors") as caught:
        read_gate_config(store)
    assert caught.value.path == store.gate_weights


def test_entropy_lambda_is_optional_and_defaults_to_0_01():
    raw = {"adapter_names": ["a", "b"], "hidden_proj_dim": 8, "input_dim": 4, "mode": "uniform"}
    assert gate_config_from_dict(raw).entropy_lambda == 0.01
    assert gate_config_from_dict({**raw, "entropy_lambda": 0}).entropy_lambda == 0.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("input_dim"), "lacks input_dim"),
        (lambda d: d.pop("adapter_names"), "lacks adapter_names"),
        (lambda d: d.pop("mode"), "lacks mode"),
        (lambda d: d.update(mode="static"), "mode must be"),
        (lambda d: d.update(adapter_names="a,b"), "list of names"),
        (lambda d: d.update(adapter_names=["a", 2]), "list of names"),
        (lambda d: d.update(input_dim=576.0), "integers"),
        (lambda d: d.update(hidden_proj_dim=True), "integers"),
        (lambda d: d.update(entropy_lambda="0.01"), "number"),
    ],
)
def test_malformed_configs_are_refused(change, message):
    raw = {"adapter_names": ["a", "b"], "entropy_lambda": 0.01, "hidden_proj_dim": 8, "input_dim": 4, "mode": "uniform"}
    change(raw)
    with pytest.raises(GateConfigError, match=message):
        gate_config_from_dict(raw)


def test_missing_or_broken_file_is_a_typed_error(store):
    with pytest.raises(GateConfigError, match="no gate_config.json"):
        read_gate_config(store)
    store.gate_dir.mkdir(parents=True)
    store.gate_config.write_text("{not json")
    with pytest.raises(GateConfigError, match="cannot be read"):
        read_gate_config(store)
    store.gate_config.write_text("[]")
    with pytest.raises(GateConfigError, match="JSON object"):
        read_gate_config(store)


@pytest.mark.parametrize(
    "config",
    [
        GateConfig(576, 64, ("only",), "uniform"),
        GateConfig(576, 64, ("a", "a"), "uniform"),
        GateConfig(0, 64, ("a", "b"), "uniform"),
        GateConfig(576, 64, ("a", "b"), "diverged"),
        GateConfig(576, 64, ("a", "b"), "uniform", entropy_lambda=float("nan")),
    ],
)
def test_writing_an_impossible_config_is_refused(store, config):
    with pytest.raises(GateConfigError):
        write_gate_config(store, config)
    assert not store.gate_config.exists()

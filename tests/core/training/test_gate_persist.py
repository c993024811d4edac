"""The gate in the store and the metrics, and the weights it gives (SPEC-upstream §4.4–§4.7, §11.10, §11.11,
§11.14, §12 example 3)."""

from __future__ import annotations

import json

import pytest
import torch

from dlm_desktop.core.store.errors import GateConfigError
from dlm_desktop.core.store.metrics import GateEventRecord, MetricsDB
from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.training.gate import (
    GateInputError,
    GateResult,
    GateTrainingConfig,
    load_gate,
    mean_gate_weights,
    record_diverged_gate_events,
    record_gate_events,
    save_gate,
    static_mean_weights,
    train_gate,
    uniform_weights,
    weights_for_prompt,
)

EXAMPLE_3_UNIFORM = (
    '{\n  "adapter_names": [\n    "lexer",\n    "runtime"\n  ],\n  "entropy_lambda": 0.01,\n'
    '  "hidden_proj_dim": 64,\n  "input_dim": 576,\n  "mode": "uniform"\n}\n'
)


@pytest.fixture
def store(tmp_path) -> StorePaths:
    return StorePaths.for_dlm("01KPQ8GATEMTEG000000000000", home=tmp_path / "home")


@pytest.fixture
def metrics(store) -> MetricsDB:
    db = MetricsDB.for_store(store, strict=True)
    for run_id in (1, 2, 3):
        db.record_run_start(run_id, phase="sft", seed=42)
    return db


def drain(job):
    while True:
        try:
            next(job)
        except StopIteration as finished:
            return finished.value


def trained_result(names=("a", "b"), dim=8, seed=0) -> tuple[GateResult, torch.Tensor]:
    centres = torch.randn(len(names), dim, generator=torch.Generator().manual_seed(50)) * 3
    noise = torch.Generator().manual_seed(seed)
    rows = torch.cat([centres[i] + torch.randn(5, dim, generator=noise) for i in range(len(names))])
    labels = [name for name in names for _ in range(5)]
    config = GateTrainingConfig(hidden_proj_dim=8, steps=60, lr=0.01, cold_start_floor=2, entropy_lambda=0.05)
    return drain(train_gate(rows, labels, names, config, seed)), rows


def cold_start_example_3() -> GateResult:
    return drain(train_gate(torch.randn(2, 576), ["lexer", "runtime"], ["lexer", "runtime"], GateTrainingConfig(), 42))


def test_example_3_cold_start_writes_the_exact_uniform_config_and_no_weights(store, metrics):
    result = cold_start_example_3()
    save_gate(store, result, 576)
    assert store.gate_config.read_bytes() == EXAMPLE_3_UNIFORM.encode("ascii")
    assert not store.gate_weights.exists()
    events = record_gate_events(metrics, 1, result)
    stored = [(e.run_id, e.adapter_name, e.mean_weight, e.sample_count, e.mode) for e in metrics.latest_gate_events()]
    assert stored == [(1, "lexer", 0.5, 1, "uniform"), (1, "runtime", 0.5, 1, "uniform")]
    assert [e.adapter_name for e in events] == ["lexer", "runtime"]


def test_trained_gate_round_trips_through_the_store(store):
    result, rows = trained_result()
    written = save_gate(store, result, 8)
    raw = json.loads(store.gate_config.read_text())
    assert raw == {"adapter_names": ["a", "b"], "entropy_lambda": 0.05, "hidden_proj_dim": 8, "input_dim": 8,
                   "mode": "trained"}
    loaded = load_gate(store)
    assert loaded.config == written and loaded.mode == "trained" and loaded.adapter_names == ("a", "b")
    with torch.no_grad():
        torch.testing.assert_close(loaded.network(rows), result.network(rows), rtol=0, atol=0)


def test_a_uniform_save_removes_stale_weights(store):
    result, _ = trained_result()
    save_gate(store, result, 8)
    uniform = drain(train_gate(torch.randn(1, 8), ["a"], ["a", "b"], GateTrainingConfig(hidden_proj_dim=8), 1))
    save_gate(store, uniform, 8)
    assert not store.gate_weights.exists()
    assert load_gate(store).network is None


def test_saving_a_trained_gate_under_another_input_size_is_refused(store):
    result, _ = trained_result()
    with pytest.raises(GateInputError, match="input size 8 as input size 576"):
        save_gate(store, result, 576)
    assert not store.gate_config.exists()


def test_trained_config_without_weights_file_is_refused(store):
    result, _ = trained_result()
    save_gate(store, result, 8)
    store.gate_weights.unlink()
    with pytest.raises(GateConfigError, match="gate.safetensors is missing"):
        load_gate(store)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda raw: raw.pop("input_dim"), "lacks input_dim"),
        (lambda raw: raw.pop("adapter_names"), "lacks adapter_names"),
        (lambda raw: raw.update(mode="learned"), "mode must be"),
        (lambda raw: raw.update(hidden_proj_dim=16), r"0.weight has shape \[8, 8\]"),
    ],
)
def test_broken_metadata_is_refused_on_load(store, mutate, needle):
    result, _ = trained_result()
    save_gate(store, result, 8)
    raw = json.loads(store.gate_config.read_text())
    mutate(raw)
    store.gate_config.write_text(json.dumps(raw))
    with pytest.raises(GateConfigError, match=needle):
        load_gate(store)


def test_missing_entropy_lambda_defaults_on_load(store):
    result, _ = trained_result()
    save_gate(store, result, 8)
    raw = json.loads(store.gate_config.read_text())
    del raw["entropy_lambda"]
    store.gate_config.write_text(json.dumps(raw))
    assert load_gate(store).config.entropy_lambda == 0.01


def test_trained_and_diverged_events(store, metrics):
    result, _ = trained_result()
    record_gate_events(metrics, 2, result)
    rows = {e.adapter_name: e for e in metrics.latest_gate_events()}
    assert {name: row.mode for name, row in rows.items()} == {"a": "trained", "b": "trained"}
    assert {name: row.sample_count for name, row in rows.items()} == {"a": 5, "b": 5}
    assert rows["a"].mean_weight == pytest.approx(result.mean_weights["a"])
    assert rows["a"].mean_weight + rows["b"].mean_weight == pytest.approx(1.0, abs=1e-6)
    record_diverged_gate_events(metrics, 3, ["a", "b"])
    latest = [(e.run_id, e.adapter_name, e.mean_weight, e.sample_count, e.mode) for e in metrics.latest_gate_events()]
    assert latest == [(3, "a", 0.0, 0, "diverged"), (3, "b", 0.0, 0, "diverged")]


def test_weights_for_prompt(store):
    result, rows = trained_result()
    save_gate(store, result, 8)
    gate = load_gate(store)
    weights = weights_for_prompt(gate, rows[0])
    assert list(weights) == ["a", "b"]
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-6)
    assert weights["a"] > 0.5
    assert weights_for_prompt(gate, rows[0:1]) == weights
    with pytest.raises(GateInputError, match="size 8"):
        weights_for_prompt(gate, torch.zeros(576))
    with pytest.raises(GateInputError, match="needs the prompt's embedding"):
        weights_for_prompt(gate, None)


def test_uniform_gate_weights_need_no_embedding(store):
    save_gate(store, cold_start_example_3(), 576)
    gate = load_gate(store)
    assert weights_for_prompt(gate, None) == {"lexer": 0.5, "runtime": 0.5}
    assert uniform_weights(["x", "y", "z"]) == pytest.approx({"x": 1 / 3, "y": 1 / 3, "z": 1 / 3})


def test_mean_gate_weights(store):
    result, rows = trained_result(names=("a", "b", "c"))
    save_gate(store, result, 8)
    gate = load_gate(store)
    mean = mean_gate_weights(gate, rows)
    assert list(mean) == ["a", "b", "c"]
    assert sum(mean.values()) == pytest.approx(1.0, abs=1e-6)
    assert mean == pytest.approx(dict(result.mean_weights), abs=1e-6)
    assert mean_gate_weights(gate, list(rows)) == pytest.approx(mean, abs=1e-7)
    with pytest.raises(GateInputError, match="no prompt embeddings"):
        mean_gate_weights(gate, [])
    with pytest.raises(GateInputError, match="no prompt embeddings"):
        mean_gate_weights(gate, torch.zeros(0, 8))
    with pytest.raises(GateInputError, match="size 8"):
        mean_gate_weights(gate, torch.zeros(3, 9))


def test_static_mix_of_a_uniform_gate_is_one_over_n(store, metrics):
    save_gate(store, drain(train_gate([], [], ["x", "y", "z"], GateTrainingConfig(), 1)), 576)
    mode, weights = static_mean_weights(store, metrics)
    assert mode == "uniform"
    assert weights == pytest.approx({"x": 1 / 3, "y": 1 / 3, "z": 1 / 3})


def test_static_mix_of_a_trained_gate_uses_the_latest_events_in_declared_order(store, metrics):
    result, _ = trained_result(names=("zeta", "alpha", "mid"))
    save_gate(store, result, 8)
    assert static_mean_weights(store, metrics) == ("uniform", pytest.approx(uniform_weights(["zeta", "alpha", "mid"])))
    metrics.record_gate_events([GateEventRecord(1, "zeta", 0.2, 5, "trained"), GateEventRecord(1, "alpha", 0.3, 5,
                                                                                                 "trained")])
    metrics.record_gate_events([GateEventRecord(2, "zeta", 0.6, 5, "trained"), GateEventRecord(2, "alpha", 0.4, 5,
                                                                                                 "trained")])
    mode, weights = static_mean_weights(store, metrics)
    assert mode == "static_mean"
    assert list(weights.items()) == [("zeta", 0.6), ("alpha", 0.4), ("mid", 0.0)]


def test_static_mix_ignores_a_diverged_latest_run(store, metrics):
    result, _ = trained_result()
    save_gate(store, result, 8)
    record_gate_events(metrics, 1, result)
    assert static_mean_weights(store, metrics)[0] == "static_mean"
    record_diverged_gate_events(metrics, 2, ["a", "b"])
    assert static_mean_weights(store, metrics) == ("uniform", {"a": 0.5, "b": 0.5})


def test_static_mix_without_a_gate_config_is_an_error(store, metrics):
    with pytest.raises(GateConfigError, match="no gate_config.json"):
        static_mean_weights(store, metrics)

"""Gate training: cold start, refusals, convergence, divergence, determinism, routing (SPEC-upstream §4.3, §11.11,
§11.13)."""

from __future__ import annotations

import pytest
import torch

from dlm_desktop.core.training.gate import (
    STATE_KEYS,
    GateCancelled,
    GateInputError,
    GateProgress,
    GateTrainingConfig,
    GateTrainingError,
    train_gate,
)
from tests.jobs import drain


def clusters(per_class: int, dim: int, *, seed: int, names=("a", "b"), spread: float = 1.0):
    """Gaussian clusters around fixed, well separated centres (the centres do not depend on `seed`)."""
    centres = torch.randn(len(names), dim, generator=torch.Generator().manual_seed(1000)) * 3.0
    noise = torch.Generator().manual_seed(seed)
    rows, labels = [], []
    for index, name in enumerate(names):
        rows.append(centres[index] + spread * torch.randn(per_class, dim, generator=noise))
        labels += [name] * per_class
    return torch.cat(rows), labels


SMALL = GateTrainingConfig(hidden_proj_dim=16, steps=200, lr=0.003, cold_start_floor=4)


def test_cold_start_gives_a_uniform_gate_with_real_counts():
    embeddings = torch.randn(2, 8)
    events, result = drain(train_gate(embeddings, ["a", "a"], ["a", "b"], GateTrainingConfig(), 42))
    assert events == []
    assert result.mode == "uniform"
    assert result.network is None
    assert dict(result.sample_counts) == {"a": 2, "b": 0}
    assert dict(result.mean_weights) == {"a": 0.5, "b": 0.5}
    assert result.final_loss is None and result.steps_run == 0


def test_cold_start_with_no_samples_at_all():
    _, result = drain(train_gate([], [], ["x", "y", "z"], GateTrainingConfig(), 42))
    assert result.mode == "uniform"
    assert dict(result.mean_weights) == pytest.approx({"x": 1 / 3, "y": 1 / 3, "z": 1 / 3})
    assert dict(result.sample_counts) == {"x": 0, "y": 0, "z": 0}


@pytest.mark.parametrize(
    ("names", "labels", "kwargs", "needle"),
    [
        (["a"], ["a"] * 4, {}, "at least two distinct"),
        (["a", "a"], ["a"] * 4, {}, "at least two distinct"),
        (["a", "b"], ["a"] * 4, {"input_dim": 9}, "size 8, but the gate's input size is 9"),
        (["a", "b"], ["a"] * 3, {}, "4 embeddings but 3 labels"),
        (["a", "b"], ["a", "a", "b", "ghost"], {}, "not declared adapters"),
    ],
)
def test_unusable_inputs_are_refused(names, labels, kwargs, needle):
    with pytest.raises(GateInputError, match=needle):
        drain(train_gate(torch.randn(4, 8), labels, names, SMALL, 0, **kwargs))


def test_unusable_settings_are_refused():
    with pytest.raises(GateInputError, match="steps 0"):
        GateTrainingConfig(steps=0)
    with pytest.raises(GateInputError, match="lr"):
        GateTrainingConfig(lr=float("nan"))


def test_two_clusters_converge():
    embeddings, labels = clusters(12, 16, seed=1)
    events, result = drain(train_gate(embeddings, labels, ["a", "b"], SMALL, 3))
    assert result.mode == "trained" and result.steps_run == 200
    assert [event.step for event in events] == list(range(1, 201))
    assert events[0].loss > 0.3 > result.final_loss
    with torch.no_grad():
        weights = result.network(embeddings)
    assert weights.argmax(dim=-1).tolist() == [0] * 12 + [1] * 12
    assert dict(result.sample_counts) == {"a": 12, "b": 12}


def test_reported_loss_and_entropy_are_moving_averages_of_the_steps():
    embeddings, labels = clusters(6, 8, seed=2)
    config = GateTrainingConfig(hidden_proj_dim=8, steps=30, lr=0.01, cold_start_floor=1)
    events, result = drain(train_gate(embeddings, labels, ["a", "b"], config, 5))
    loss = entropy = None
    for event in events:
        loss = event.loss if loss is None else 0.9 * loss + 0.1 * event.loss
        entropy = event.entropy if entropy is None else 0.9 * entropy + 0.1 * event.entropy
    assert result.final_loss == pytest.approx(loss, rel=1e-12)
    assert result.final_entropy == pytest.approx(entropy, rel=1e-12)


def test_mean_weights_are_the_mean_softmax_over_all_training_embeddings():
    many, _ = clusters(12, 8, seed=3)
    few, _ = clusters(6, 8, seed=4)
    embeddings = torch.cat([many[:12], few[6:]])  # an unbalanced corpus: 12 "a", 6 "b"
    labels = ["a"] * 12 + ["b"] * 6
    config = GateTrainingConfig(hidden_proj_dim=8, steps=50, lr=0.01, cold_start_floor=1)
    _, result = drain(train_gate(embeddings, labels, ["a", "b"], config, 5))
    with torch.no_grad():
        expected = result.network(embeddings).mean(dim=0)
    assert list(result.mean_weights) == ["a", "b"]
    assert list(result.mean_weights.values()) == pytest.approx(expected.tolist(), abs=1e-7)
    assert sum(result.mean_weights.values()) == pytest.approx(1.0, abs=1e-6)
    assert dict(result.sample_counts) == {"a": 12, "b": 6}


def test_non_finite_loss_raises_gate_training_error():
    embeddings, labels = clusters(4, 8, seed=4)
    embeddings[3, 2] = float("nan")
    job = train_gate(embeddings, labels, ["a", "b"], GateTrainingConfig(hidden_proj_dim=8, steps=20), 1)
    with pytest.raises(GateTrainingError, match="diverged") as caught:
        drain(job)
    assert 1 <= caught.value.step <= 20
    assert "lr" in caught.value.fix


def test_same_seed_same_gate_and_different_seed_different_gate():
    embeddings, labels = clusters(6, 8, seed=5)
    config = GateTrainingConfig(hidden_proj_dim=8, steps=40, lr=0.01, cold_start_floor=1)
    _, first = drain(train_gate(embeddings, labels, ["a", "b"], config, 11))
    _, again = drain(train_gate(embeddings, labels, ["a", "b"], config, 11))
    _, other = drain(train_gate(embeddings, labels, ["a", "b"], config, 12))
    one, two, three = (r.network.state_tensors() for r in (first, again, other))
    assert all(torch.equal(one[key], two[key]) for key in STATE_KEYS)
    assert first.final_loss == again.final_loss
    assert not torch.equal(one["0.weight"], three["0.weight"])


def test_should_stop_cancels_between_steps():
    embeddings, labels = clusters(6, 8, seed=6)
    seen: list[GateProgress] = []

    def stop_after_five() -> bool:
        return len(seen) >= 5

    job = train_gate(embeddings, labels, ["a", "b"], SMALL, 0, should_stop=stop_after_five)
    with pytest.raises(GateCancelled, match="step 5 of 200"):
        for event in job:
            seen.append(event)
    assert len(seen) == 5


def test_routing_on_separable_clusters_generalises():
    """§11.13: 24 per class, 16-dim, hidden 16, lr 0.003, 200 steps; held-out routing > 80%, confidence > 0.5."""
    train_x, train_y = clusters(24, 16, seed=7)
    test_x, test_y = clusters(24, 16, seed=8)
    _, result = drain(train_gate(train_x, train_y, ["a", "b"], SMALL, 42))
    with torch.no_grad():
        weights = result.network(test_x)
    predicted = ["a" if index == 0 else "b" for index in weights.argmax(dim=-1).tolist()]
    accuracy = sum(p == t for p, t in zip(predicted, test_y)) / len(test_y)
    confidence = weights.max(dim=-1).values.mean().item()
    assert accuracy > 0.8
    assert confidence > 0.5

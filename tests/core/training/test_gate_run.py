"""The gate stage end to end: samples -> embeddings -> training -> store files -> metrics rows (SPEC-upstream §4,
§11.12, §12 example 3). The main test uses the real offline SmolLM2-135M-Instruct."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dlm_desktop.core.document.parse import parse_file, parse_text
from dlm_desktop.core.store.metrics import MetricsDB
from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.training.gate import (
    GateCancelled,
    GateEmbedProgress,
    GateProgress,
    GateStageNotice,
    embed_prompts,
    gate_samples,
    load_gate,
    route_prompt,
    run_gate_stage,
    static_mean_weights,
    weights_for_prompt,
)
from tests.jobs import drain
from tests.spec_examples import EXAMPLE_3_GATE, example_3

ROOT = Path(__file__).resolve().parents[3]
TWO_ADAPTERS = ROOT / "resources" / "examples" / "two-adapters.dlm"

# Written for this test; none of these questions is in the document.
HELD_OUT = [
    ("astronomy", "How far away is the Andromeda galaxy?"),
    ("astronomy", "What causes a solar eclipse?"),
    ("astronomy", "Why does Mars look red?"),
    ("astronomy", "What is a black hole?"),
    ("astronomy", "How many planets orbit the Sun?"),
    ("astronomy", "What is the tail of a comet made of?"),
    ("baking", "How long should I knead pizza dough?"),
    ("baking", "Why did my sponge cake sink in the middle?"),
    ("baking", "Which flour is best for croissants?"),
    ("baking", "How do I make my cookies chewy?"),
    ("baking", "Why do you blind-bake a tart crust?"),
    ("baking", "What does cream of tartar do in a meringue?"),
]


@pytest.fixture(scope="module")
def smollm2(offline_smollm2_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(offline_smollm2_dir), dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(str(offline_smollm2_dir))


@pytest.fixture
def store(tmp_path) -> StorePaths:
    return StorePaths.for_dlm("01JDXMDESKTQPEXAMP1E000002", home=tmp_path / "home")


@pytest.fixture
def metrics(store) -> MetricsDB:
    db = MetricsDB.for_store(store, strict=True)
    db.record_run_start(1, phase="sft", seed=7)
    return db


def tiny_llama(tokenizer):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return LlamaForCausalLM(config).eval()


def test_two_adapter_document_gate_routes_held_out_prompts(smollm2, store, metrics):
    model, tokenizer = smollm2
    parsed = parse_file(TWO_ADAPTERS)
    events, outcome = drain(
        run_gate_stage(model, tokenizer, parsed.sections, parsed.frontmatter, store, metrics, 1)
    )
    assert outcome.mode == "trained" and outcome.sample_count == 12
    assert [e for e in events if isinstance(e, GateEmbedProgress)][-1] == GateEmbedProgress(12, 12)
    assert [e.step for e in events if isinstance(e, GateProgress)] == list(range(1, 201))
    assert outcome.config.input_dim == 576 and store.gate_weights.is_file()
    rows = {row.adapter_name: row for row in metrics.latest_gate_events()}
    assert {name: (row.mode, row.sample_count) for name, row in rows.items()} == {
        "astronomy": ("trained", 6), "baking": ("trained", 6)
    }

    samples = gate_samples(parsed.sections, ["astronomy", "baking"])
    batched = embed_prompts(model, tokenizer, [s.prompt for s in samples])
    assert batched.shape == (12, 576)
    single = torch.cat([embed_prompts(model, tokenizer, [s.prompt]) for s in samples])
    assert (batched - single).abs().max().item() <= 1e-5

    gate = load_gate(store)
    held_out = embed_prompts(model, tokenizer, [prompt for _, prompt in HELD_OUT])
    routed = [weights_for_prompt(gate, row) for row in held_out]
    correct = [max(weights, key=weights.get) == label for weights, (label, _) in zip(routed, HELD_OUT)]
    assert sum(correct) / len(correct) > 0.8
    assert sum(max(weights.values()) for weights in routed) / len(routed) > 0.5
    direct = route_prompt(gate, model, tokenizer, HELD_OUT[0][1])
    assert direct == pytest.approx(routed[0], abs=1e-5)

    mode, mix = static_mean_weights(store, metrics)
    assert mode == "static_mean" and list(mix) == ["astronomy", "baking"]
    assert mix == pytest.approx(dict(outcome.result.mean_weights))
    assert sum(mix.values()) == pytest.approx(1.0, abs=1e-6)


def test_example_3_with_the_default_floor_falls_back_to_uniform(smollm2, store, metrics):
    model, tokenizer = smollm2
    parsed = parse_text(example_3("    enabled: true\n"))
    events, outcome = drain(run_gate_stage(model, tokenizer, parsed.sections, parsed.frontmatter, store, metrics, 1))
    assert outcome.mode == "uniform"
    assert store.gate_config.read_text() == (
        '{\n  "adapter_names": [\n    "lexer",\n    "runtime"\n  ],\n  "entropy_lambda": 0.01,\n'
        '  "hidden_proj_dim": 64,\n  "input_dim": 576,\n  "mode": "uniform"\n}\n'
    )
    assert not store.gate_weights.exists()
    stored = [(e.run_id, e.adapter_name, e.mean_weight, e.sample_count, e.mode) for e in metrics.latest_gate_events()]
    assert stored == [(1, "lexer", 0.5, 1, "uniform"), (1, "runtime", 0.5, 1, "uniform")]
    assert not any(isinstance(e, (GateEmbedProgress, GateProgress)) for e in events)  # nothing was computed
    notices = [e for e in events if isinstance(e, GateStageNotice)]
    assert len(notices) == 1 and notices[0].level == "warning" and "lexer 1, runtime 1" in notices[0].message


def test_example_3_as_written_trains_on_its_two_probes(smollm2, store, metrics):
    model, tokenizer = smollm2
    parsed = parse_text(example_3(EXAMPLE_3_GATE))
    _, outcome = drain(run_gate_stage(model, tokenizer, parsed.sections, parsed.frontmatter, store, metrics, 1))
    assert outcome.mode == "trained"
    gate = load_gate(store)
    assert gate.config.hidden_proj_dim == 16
    assert max(route_prompt(gate, model, tokenizer, "what is a token?").items(), key=lambda kv: kv[1])[0] == "lexer"


def test_no_gate_stage_without_an_enabled_gate(store, metrics):
    parsed = parse_text(TWO_ADAPTERS.read_text(encoding="utf-8").replace("enabled: true", "enabled: false"))
    events, outcome = drain(run_gate_stage(None, None, parsed.sections, parsed.frontmatter, store, metrics, 1))
    assert (events, outcome) == ([], None)
    assert not store.gate_dir.exists() and metrics.latest_gate_events() == []


def test_divergence_records_diverged_rows_and_writes_no_gate(smollm2, store, metrics):
    _, tokenizer = smollm2
    broken = tiny_llama(tokenizer)
    with torch.no_grad():
        broken.model.norm.weight[0] = float("nan")  # every embedding gets a NaN, so the loss cannot be finite
    parsed = parse_file(TWO_ADAPTERS)
    events, outcome = drain(run_gate_stage(broken, tokenizer, parsed.sections, parsed.frontmatter, store, metrics, 1))
    assert outcome.mode == "diverged" and outcome.result is None and outcome.config is None
    assert not store.gate_config.exists() and not store.gate_weights.exists()
    stored = [(e.adapter_name, e.mean_weight, e.sample_count, e.mode) for e in metrics.latest_gate_events()]
    assert stored == [("astronomy", 0.0, 0, "diverged"), ("baking", 0.0, 0, "diverged")]
    assert "diverged" in [e for e in events if isinstance(e, GateStageNotice)][-1].message


def test_cancelling_writes_nothing_and_bad_sections_are_reported(smollm2, store, metrics):
    _, tokenizer = smollm2
    text = TWO_ADAPTERS.read_text(encoding="utf-8") + "\n::preference#baking::\n### Chosen\norphan\n"
    parsed = parse_text(text)
    job = run_gate_stage(tiny_llama(tokenizer), tokenizer, parsed.sections, parsed.frontmatter, store, metrics, 1,
                         should_stop=lambda: True)
    first = next(job)
    assert isinstance(first, GateStageNotice) and "preference section" in first.message
    with pytest.raises(GateCancelled, match="embedding 8 of 12"):
        drain(job)
    assert not store.gate_dir.exists() and metrics.latest_gate_events() == []

"""Training plans: precision, batch sizing, refusals and the serialised form."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from dlm_desktop.core.errors import DlmDesktopError
from dlm_desktop.core.runtime import (
    Backend,
    ModelShape,
    PlanRefused,
    RuntimeSetupError,
    TrainingKnobs,
    capabilities_from_facts,
    pick_backend,
    plan_training,
)
from dlm_desktop.core.runtime.memory import StepSetting, estimate_peak_gb
from tests.core.runtime.runtime_hosts import CPU_LINUX, apple_host, cuda_host, rocm_host

SMOL = 134_515_008
SMOL_SHAPE = ModelShape(num_layers=30, hidden_size=576, vocab_size=49_152)
LORA = TrainingKnobs()


def caps_of(facts, override=None):
    return capabilities_from_facts(facts, pick_backend(facts, override))


def with_packages(facts, **extra):
    return replace(facts, packages={**facts.packages, **extra})


@pytest.mark.parametrize(
    ("facts", "precision"),
    [
        (cuda_host(sm=(8, 6)), "bf16"),
        (cuda_host(sm=(7, 5), name="Tesla T4"), "fp16"),
        (rocm_host("gfx90a"), "bf16"),
        (rocm_host("gfx906"), "fp16"),
        (apple_host(), "fp32"),
        (apple_host(mlx=True), "fp32"),
        (CPU_LINUX, "fp32"),
    ],
    ids=["ampere", "turing", "rocm-cdna2", "rocm-vega20", "mps", "mlx", "cpu"],
)
def test_default_precision(facts, precision):
    plan = plan_training(caps_of(facts), LORA, SMOL, 2048)
    assert plan.precision == precision
    assert f"precision={precision}" in plan.reason


def test_document_precision_override_wins_with_a_warning_where_risky():
    plan = plan_training(caps_of(CPU_LINUX), TrainingKnobs(precision="bf16"), SMOL, 512)
    assert plan.precision == "bf16"
    assert "set in the document" in plan.reason
    assert any("emulated" in warning for warning in plan.warnings)
    mps = plan_training(caps_of(apple_host()), TrainingKnobs(precision="fp16"), SMOL, 512)
    assert mps.precision == "fp16"
    assert any("NaN" in warning for warning in mps.warnings)
    turing = plan_training(caps_of(cuda_host(sm=(7, 5))), TrainingKnobs(precision="bf16"), SMOL, 512)
    assert any("no native bf16" in warning for warning in turing.warnings)
    ampere = plan_training(caps_of(cuda_host()), TrainingKnobs(precision="fp32"), SMOL, 512)
    assert ampere.precision == "fp32" and ampere.warnings == ()


def test_qlora_refused_without_cuda():
    for facts in (CPU_LINUX, apple_host(), apple_host(mlx=True), rocm_host()):
        with pytest.raises(PlanRefused) as caught:
            plan_training(caps_of(facts), TrainingKnobs(adapter="qlora"), SMOL, 2048)
        assert caught.value.codes == ("qlora_needs_cuda",)
        assert "adapter: lora" in caught.value.fix


def test_qlora_on_cuda_needs_bitsandbytes():
    with pytest.raises(PlanRefused) as caught:
        plan_training(caps_of(cuda_host()), TrainingKnobs(adapter="qlora"), 1_500_000_000, 2048)
    assert caught.value.codes == ("qlora_needs_bitsandbytes",)
    assert "pip install bitsandbytes" in caught.value.fix
    caps = caps_of(with_packages(cuda_host(), bitsandbytes="0.45"))
    plan = plan_training(caps, TrainingKnobs(adapter="qlora"), 1_500_000_000, 2048)
    assert plan.use_qlora and "qlora=4bit-nf4" in plan.reason


def test_cpu_refuses_a_large_base_unless_forced():
    with pytest.raises(PlanRefused) as caught:
        plan_training(caps_of(CPU_LINUX), LORA, 360_000_000, 1024)
    error = caught.value
    assert isinstance(error, DlmDesktopError)
    assert error.codes == ("cpu_base_too_large",)
    assert "360M" in error.message and "200M" in error.message
    forced = plan_training(caps_of(CPU_LINUX), LORA, 360_000_000, 1024, force=True)
    assert forced.precision == "fp32"
    assert any("forced" in warning for warning in forced.warnings)
    assert plan_training(caps_of(CPU_LINUX), LORA, 200_000_000, 1024).backend is Backend.CPU


def test_every_refusal_is_listed():
    with pytest.raises(PlanRefused) as caught:
        plan_training(caps_of(CPU_LINUX), TrainingKnobs(adapter="qlora"), 1_500_000_000, 2048)
    assert caught.value.codes == ("qlora_needs_cuda", "cpu_base_too_large")
    assert "; " in caught.value.message


def test_mps_refuses_weights_above_85_percent_of_unified_memory():
    eight_gib = caps_of(apple_host(ram_gib=8))
    # 3.8B parameters in fp16 = 7.1 GiB > 0.85 * 8 GiB = 6.8 GiB
    with pytest.raises(PlanRefused) as caught:
        plan_training(eight_gib, LORA, 3_800_000_000, 2048)
    assert caught.value.codes == ("mps_memory",)
    assert "85%" in caught.value.message
    # 3.5B = 6.5 GiB fits under the line; force does not lift the MPS refusal either way.
    assert plan_training(eight_gib, LORA, 3_500_000_000, 2048).backend is Backend.MPS


def test_auto_micro_batch_is_the_largest_that_fits_the_budget():
    caps = caps_of(cuda_host(free_gib=20.0))
    plan = plan_training(caps, LORA, SMOL, 2048, shape=SMOL_SHAPE)
    assert plan.memory_budget_gb == pytest.approx(20.0 * 0.85)
    def peak(micro):
        return estimate_peak_gb(StepSetting(SMOL, 2048, micro, "bf16", 8, False, True), SMOL_SHAPE)
    assert peak(plan.micro_batch_size) <= plan.memory_budget_gb
    if plan.micro_batch_size < 16:
        assert peak(plan.micro_batch_size * 2) > plan.memory_budget_gb
    assert plan.effective_batch_size == plan.micro_batch_size * plan.grad_accum >= 8


def test_more_memory_never_gives_a_smaller_batch():
    small = plan_training(caps_of(cuda_host(free_gib=4.0)), LORA, SMOL, 2048, shape=SMOL_SHAPE)
    large = plan_training(caps_of(cuda_host(free_gib=80.0)), LORA, SMOL, 2048, shape=SMOL_SHAPE)
    assert small.micro_batch_size < large.micro_batch_size
    assert large.micro_batch_size == 16 and large.grad_accum == 1


def test_a_short_document_is_estimated_for_the_rows_it_has_not_the_largest_batch():
    # 7 rows of ~190 tokens: the budget allows micro-batch 16, but no batch ever holds more than the 7 rows
    caps = caps_of(CPU_LINUX)
    roomy = plan_training(caps, LORA, SMOL, 190, shape=SMOL_SHAPE)
    short = plan_training(caps, LORA, SMOL, 190, shape=SMOL_SHAPE, rows=7)
    assert short.micro_batch_size == roomy.micro_batch_size == 16
    seven = estimate_peak_gb(StepSetting(SMOL, 190, 7, "fp32", 8, False, short.gradient_checkpointing), SMOL_SHAPE)
    assert short.est_peak_memory_gb == pytest.approx(seven, abs=0.01)
    assert short.est_peak_memory_gb < roomy.est_peak_memory_gb / 1.5
    assert short.est_step_seconds < roomy.est_step_seconds


def test_the_shape_comes_from_config_json_where_it_says_so():
    config = {"num_hidden_layers": 30, "hidden_size": 576, "vocab_size": 49152, "model_type": "llama"}
    assert ModelShape.from_config(config, SMOL) == SMOL_SHAPE
    nested = ModelShape.from_config({"text_config": {"hidden_size": 1024}}, SMOL)
    assert nested.hidden_size == 1024 and nested.num_layers == ModelShape.guess(SMOL).num_layers


def test_tiny_budget_falls_back_to_micro_batch_one_with_checkpointing():
    plan = plan_training(caps_of(cuda_host(free_gib=1.0)), LORA, 1_500_000_000, 4096)
    assert (plan.micro_batch_size, plan.grad_accum, plan.effective_batch_size) == (1, 8, 8)
    assert plan.gradient_checkpointing
    assert any("exceeds" in warning for warning in plan.warnings)


def test_checkpointing_only_when_needed():
    roomy = plan_training(caps_of(cuda_host(free_gib=80.0)), TrainingKnobs(micro_batch_size=1), SMOL, 256)
    assert not roomy.gradient_checkpointing
    assert "grad_ckpt=off" in roomy.reason


def test_explicit_batch_knobs_are_kept_and_auto_accumulation_reaches_eight():
    plan = plan_training(caps_of(CPU_LINUX), TrainingKnobs(micro_batch_size=3), SMOL, 512)
    assert plan.micro_batch_size == 3
    assert plan.grad_accum == 3  # ceil(8 / 3): effective batch 9, never below the target of 8
    fixed = plan_training(caps_of(CPU_LINUX), TrainingKnobs(micro_batch_size=2, grad_accum=5), SMOL, 512)
    assert (fixed.micro_batch_size, fixed.grad_accum, fixed.effective_batch_size) == (2, 5, 10)
    assert "micro_batch=2 (set)" in fixed.reason


@pytest.mark.parametrize(
    "knobs",
    [
        TrainingKnobs(adapter="ia3"),
        TrainingKnobs(precision="fp8"),
        TrainingKnobs(micro_batch_size=0),
        TrainingKnobs(grad_accum="lots"),
        TrainingKnobs(lora_r=0),
    ],
)
def test_knobs_outside_their_domain_are_typed_errors(knobs):
    with pytest.raises(RuntimeSetupError):
        plan_training(caps_of(CPU_LINUX), knobs, SMOL, 512)


def test_attention_choice():
    assert plan_training(caps_of(CPU_LINUX), LORA, SMOL, 512).attn_implementation == "sdpa"
    assert plan_training(caps_of(apple_host(mlx=True)), LORA, SMOL, 512).attn_implementation == "mlx"
    flash = with_packages(cuda_host(), **{"flash-attn": "2.7"})
    assert plan_training(caps_of(flash), LORA, SMOL, 512).attn_implementation == "flash_attention_2"


def test_dora_is_named_in_the_reason():
    plan = plan_training(caps_of(cuda_host()), TrainingKnobs(adapter="dora"), SMOL, 512)
    assert plan.adapter == "dora" and "adapter=dora" in plan.reason and not plan.use_qlora


def test_plan_fields_and_json():
    plan = plan_training(caps_of(CPU_LINUX), LORA, SMOL, 2048, shape=SMOL_SHAPE)
    data = plan.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["backend"] == "cpu"
    assert set(data) >= {
        "precision", "attn_implementation", "use_qlora", "micro_batch_size", "grad_accum", "effective_batch_size",
        "gradient_checkpointing", "memory_budget_gb", "est_peak_memory_gb", "est_step_seconds", "warnings", "reason",
    }
    assert data["seq_len"] == 2048 and data["base_params"] == SMOL and data["lora_r"] == 8
    assert data["est_peak_memory_gb"] <= data["memory_budget_gb"]
    assert data["est_step_seconds"] > 0


def test_estimates_grow_with_batch_and_sequence():
    def peak(micro, seq, checkpointing=True):
        return estimate_peak_gb(StepSetting(SMOL, seq, micro, "fp32", 8, False, checkpointing), SMOL_SHAPE)
    assert peak(2, 2048) > peak(1, 2048) > peak(1, 512)
    assert peak(2, 2048, checkpointing=False) > peak(2, 2048)
    # Calibrated against a measured 6.5 GiB peak RSS (fp32, micro-batch 2, seq 2048, checkpointing, CPU).
    assert 5.5 < peak(2, 2048) < 7.5


def test_guessed_shape_is_plausible():
    shape = ModelShape.guess(1_500_000_000)
    assert 1024 <= shape.hidden_size <= 3072
    assert shape.num_layers == 28


def test_the_documents_training_block_is_accepted():
    from dlm_desktop.core.document.schema import TrainingConfig

    training = TrainingConfig(adapter="dora", micro_batch_size=4, precision="fp32")
    plan = plan_training(caps_of(cuda_host()), training, SMOL, training.sequence_len)
    assert (plan.adapter, plan.micro_batch_size, plan.grad_accum, plan.precision) == ("dora", 4, 2, "fp32")

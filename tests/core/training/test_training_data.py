"""Rows → examples, the batch order, the schedules and the per-adapter hyperparameters (no training)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from dlm_desktop.core.document.pipeline import load_document
from dlm_desktop.core.training.batching import (
    BATCH_OVERHEAD_TOKENS,
    epoch_permutation,
    layout_cost,
    make_data_plan,
    micro_batches,
    pack_sequences,
    step_batches,
    step_members,
)
from dlm_desktop.core.training.datasets import adapter_rows
from dlm_desktop.core.training.estimate import estimate_tokens, plan_run
from dlm_desktop.core.training.examples import IGNORE_INDEX, build_examples
from dlm_desktop.core.training.hparams import adapter_hparams, run_hparams, schedule_for
from dlm_desktop.core.training.schedule import lr_factor, warmup_steps
from tests.core.training.training_helpers import tiny_document, two_adapter_document
from tests.tiny_models import tiny_chat_model_dir  # noqa: F401  (fixture)

EXAMPLES = Path(__file__).resolve().parents[3] / "resources" / "examples"


@pytest.fixture
def tokenizer(tiny_chat_model_dir):
    from dlm_desktop.core.models import bring_up_tokenizer

    return bring_up_tokenizer(tiny_chat_model_dir).tokenizer


def _targets(example, tokenizer) -> str:
    return tokenizer.decode([t for t, label in zip(example.input_ids, example.labels) if label != IGNORE_INDEX])


# --- rows -> examples ----------------------------------------------------------------------------------------


def test_instruction_rows_train_on_the_answer_and_its_end_marker_only(tokenizer):
    row = {"messages": [{"role": "user", "content": "How tall is the tower?"},
                        {"role": "assistant", "content": "31 metres."}]}
    (example,) = build_examples([row], tokenizer, max_len=128, system_prompt="You answer briefly.\n").examples
    assert _targets(example, tokenizer).replace(" ", "") == "31metres.<|im_end|>"
    text = tokenizer.decode(example.input_ids)
    assert "You answer briefly." in text and "How tall is the tower?" in text  # system turn is in the template
    assert example.kind == "instruction"


def test_masking_off_trains_on_the_whole_transcript(tokenizer):
    row = {"messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]}
    (example,) = build_examples([row], tokenizer, max_len=128, mask_prompt=False).examples
    assert list(example.labels) == list(example.input_ids)


def test_prose_is_continued_pretraining_on_every_token_and_long_text_is_windowed(tokenizer):
    text = "The Marrowgate Lighthouse stands on Kettle Point. " * 30
    built = build_examples([{"text": text}], tokenizer, max_len=64)
    assert built.split == 1 and len(built.examples) > 2
    assert all(ex.length <= 64 and list(ex.labels) == list(ex.input_ids) for ex in built.examples)
    assert built.examples[-1].input_ids[-1] == tokenizer.eos_token_id
    assert sum(ex.length for ex in built.examples) == len(tokenizer(text)["input_ids"]) + 1


def test_rows_cut_before_their_answer_are_dropped(tokenizer):
    row = {"messages": [{"role": "user", "content": "word " * 200}, {"role": "assistant", "content": "yes"}]}
    built = build_examples([row], tokenizer, max_len=32)
    assert (built.examples, built.truncated, built.dropped) == ((), 1, 1)


def test_preference_rows_never_enter_supervised_training(tmp_path):
    body = "\n::preference::\n### Prompt\nWhich?\n### Chosen\nThis.\n### Rejected\nThat.\n"
    report = load_document(tiny_document(tmp_path, body_extra=body))
    (rows,) = adapter_rows(report)
    assert rows.preference_rows == 1
    assert all("prompt" not in row for row in (*rows.train, *rows.val))


def test_each_adapter_gets_its_routed_sections(tmp_path):
    report = load_document(two_adapter_document(tmp_path))
    astro, keeper = adapter_rows(report)
    def questions(rows):
        return {row["messages"][0]["content"] for row in (*rows.train, *rows.val) if "messages" in row}
    assert questions(astro) == {"What is the brightest star?", "How long does sunlight take to reach Earth?"}
    assert "What is the Hesketh lens?" in questions(keeper) and "What is the brightest star?" not in questions(keeper)
    assert astro.prose_rows == keeper.prose_rows == 1  # unrouted prose trains every adapter


# --- order and batches ---------------------------------------------------------------------------------------


def test_every_epoch_visits_every_example_once_in_a_seeded_order():
    plan = make_data_plan(11, 4, num_epochs=2, max_steps=None)
    assert (plan.steps_per_epoch, plan.total_steps) == (3, 6)
    for epoch in range(2):
        seen = [i for step in range(epoch * 3, epoch * 3 + 3) for i in step_members(plan, 7, step)]
        assert sorted(seen) == list(range(11))
    assert epoch_permutation(11, 7, 0) != epoch_permutation(11, 7, 1)
    assert epoch_permutation(11, 7, 0) == epoch_permutation(11, 7, 0) != epoch_permutation(11, 8, 0)
    assert make_data_plan(11, 4, num_epochs=2, max_steps=10).total_steps == 10


def test_micro_batches_group_similar_lengths_and_respect_the_budget():
    lengths = [200, 60, 55, 58, 70, 52, 61, 66]
    batches = micro_batches(lengths, range(8), token_budget=4096)
    assert sorted(i for batch in batches for i in batch) == list(range(8))
    assert batches[0] == [0]  # the long prose row alone rather than padding seven short rows to 200
    padded = sum(len(batch) * max(lengths[i] for i in batch) for batch in batches)
    assert padded + BATCH_OVERHEAD_TOKENS * len(batches) < 8 * 200
    small = micro_batches(lengths, range(8), token_budget=130)
    assert all(len(b) * max(lengths[i] for i in b) <= 130 or len(b) == 1 for b in small)


def test_short_rows_are_packed_up_to_the_longest_row():
    lengths = [209, 77, 74, 67, 60, 58, 51]
    sequences = pack_sequences(lengths, range(7))
    assert sorted(i for sequence in sequences for i in sequence) == list(range(7))
    assert all(sum(lengths[i] for i in sequence) <= 209 for sequence in sequences)
    assert len(sequences) == 3  # 209 | 77+74+58 | 67+60+51
    assert pack_sequences([900, 10, 10], range(3)) == [[0], [1, 2]]  # capped at PACK_CAPACITY, long rows alone
    (batch,) = step_batches(lengths, range(7), token_budget=4096)
    assert batch == sequences  # one batch of 3 x 209 tokens instead of 209 + 6 x 77 in two batches


def test_rows_of_similar_lengths_are_not_packed():
    # Packing 60 + 60 into a row of 120 saves 60 padded tokens but computes the attention of the whole masked
    # 120-wide row instead of two causal 60-wide ones, and puts three rows in one 120-wide batch: dearer.
    lengths = [120, 60, 60, 58]
    assert pack_sequences(lengths, range(4)) == [[0], [1, 2], [3]]
    batches = step_batches(lengths, range(4), token_budget=4096)
    assert batches == [[[0]], [[1], [2], [3]]]
    packed = [[[0], [1, 2], [3]]]
    assert layout_cost(lengths, batches) < layout_cost(lengths, packed)
    # Rows that cannot pack (all as long as the longest) keep one example per row.
    assert step_batches([70] * 6, range(6), token_budget=4096) == [[[i] for i in range(6)]]


# --- schedules and hyperparameters ---------------------------------------------------------------------------


def test_schedules_warm_up_then_decay():
    total, warm = 20, warmup_steps(20, 0.1)
    assert warm == 2
    assert [round(lr_factor(s, total, "cosine", warm), 3) for s in range(3)] == [0.333, 0.667, 1.0]
    assert lr_factor(19, total, "cosine", warm) < 0.01
    assert lr_factor(19, total, "cosine", warm, 0.1) > 0.1
    assert lr_factor(11, total, "linear", warm) == pytest.approx(1 - 9 / 18)
    assert lr_factor(15, total, "constant", warm) == 1.0
    assert all(0 < lr_factor(s, total, k, warm) <= 1 for s in range(total - 1) for k in ("cosine", "linear"))


def test_adapter_settings_come_from_each_adapter_and_target_modules_are_honoured(tmp_path):
    report = load_document(two_adapter_document(tmp_path))
    astro, keeper = adapter_hparams(report.frontmatter.training, ("q_proj", "k_proj", "v_proj", "o_proj"))
    assert (astro.name, astro.store_name, astro.r, astro.alpha, astro.learning_rate) == ("astro", "astro", 4, 16, 0.01)
    assert astro.target_modules == ("q_proj", "k_proj", "v_proj", "o_proj")  # auto: the registry's list
    assert (keeper.r, keeper.alpha, keeper.target_modules, keeper.learning_rate) == (8, 8, ("q_proj", "v_proj"), 2e-4)
    single = load_document(tiny_document(tmp_path / "single", extra_training="  adapter: dora\n"))
    (flat,) = adapter_hparams(single.frontmatter.training, ("q_proj",))
    assert (flat.name, flat.store_name, flat.use_dora, flat.learning_rate) == ("default", None, True, 0.01)


def test_mostly_prose_switches_to_the_cpt_schedule(tmp_path):
    run = run_hparams(load_document(tiny_document(tmp_path)).frontmatter.training, 128)
    assert schedule_for(run, prose_rows=8, instruction_rows=2).min_lr_ratio == 0.1
    assert schedule_for(run, prose_rows=1, instruction_rows=10) == run.schedule


# --- plan before start ---------------------------------------------------------------------------------------


def test_plan_run_counts_rows_tokens_and_steps_like_the_engine():
    report = load_document(EXAMPLES / "getting-started.dlm")
    estimate = plan_run(report, rows_per_step=4, max_steps=None)
    (adapter,) = estimate.adapters
    assert (adapter.train_rows, adapter.val_rows, adapter.prose_rows) == (7, 1, 1)
    assert adapter.steps_per_epoch == 2 and adapter.total_steps == 6  # 3 epochs
    assert 0 < adapter.target_tokens_per_epoch < adapter.tokens_per_epoch == estimate_tokens(report)
    counted = plan_run(report, count_tokens=lambda text: len(text.split()), tokens_per_second=100.0)
    assert counted.est_seconds == pytest.approx(counted.total_tokens / 100.0)
    two = plan_run(load_document(EXAMPLES / "two-adapters.dlm"))
    assert [a.adapter for a in two.adapters] == ["astronomy", "baking"]
    assert two.total_steps == sum(a.total_steps for a in two.adapters)
    assert math.isfinite(two.total_tokens)

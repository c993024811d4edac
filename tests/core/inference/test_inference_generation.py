"""Streaming generation on one loaded model: a side-by-side batch (row 0 base, row 1 routed mix) gives exactly
what separate single-row generations give; left padding, cancellation, sampling and streaming behave."""

from __future__ import annotations

import pytest

from dlm_desktop.core.inference import (
    GenerationSettings,
    RowRequest,
    ScoringInputError,
    TokenEvent,
    ViewStateError,
    chat_prompt_ids,
    generate_rows,
)
from dlm_desktop.core.inference.generation import stop_token_ids
from tests.jobs import drain

QUESTION = "what is the capital of france"
GREEDY = GenerationSettings(max_tokens=10, temperature=0.0)


def test_side_by_side_batch_equals_two_single_row_generations(tiny_backend):
    ids = chat_prompt_ids(tiny_backend.tokenizer, QUESTION, "the cat is a dog")
    weights = tiny_backend.weights_for(QUESTION)
    events, both = drain(generate_rows(tiny_backend, [RowRequest("base", ids, None),
                                                      RowRequest("finetuned", ids, weights)], GREEDY))
    _, base_alone = drain(generate_rows(tiny_backend, [RowRequest("base", ids, None)], GREEDY))
    _, tuned_alone = drain(generate_rows(tiny_backend, [RowRequest("finetuned", ids, weights)], GREEDY))
    assert both.side("base").token_ids == base_alone.rows[0].token_ids
    assert both.side("finetuned").token_ids == tuned_alone.rows[0].token_ids
    assert both.side("base").token_ids != both.side("finetuned").token_ids  # the sides really differ
    # streamed per side, interleaved step by step, and the streamed text is the answer
    assert {e.side for e in events[:2]} == {"base", "finetuned"}
    for side in ("base", "finetuned"):
        streamed = [e for e in events if e.side == side]
        assert [e.index for e in streamed] == list(range(len(streamed)))
        assert "".join(e.text for e in streamed) == both.side(side).text
    assert both.first_token_s is not None and both.total_s >= both.first_token_s


def test_left_padded_rows_generate_what_they_generate_alone(tiny_backend):
    short = chat_prompt_ids(tiny_backend.tokenizer, "sky")
    long = chat_prompt_ids(tiny_backend.tokenizer, QUESTION + " the cat sat on the mat")
    weights = {"alpha": 0.3, "beta": 0.7}
    _, batch = drain(generate_rows(tiny_backend, [RowRequest("short", short, weights),
                                                  RowRequest("long", long, None)], GREEDY))
    _, short_alone = drain(generate_rows(tiny_backend, [RowRequest("short", short, weights)], GREEDY))
    _, long_alone = drain(generate_rows(tiny_backend, [RowRequest("long", long, None)], GREEDY))
    assert batch.side("short").token_ids == short_alone.rows[0].token_ids
    assert batch.side("long").token_ids == long_alone.rows[0].token_ids


def test_should_stop_cancels_between_tokens(tiny_backend):
    ids = chat_prompt_ids(tiny_backend.tokenizer, QUESTION)
    seen: list[TokenEvent] = []
    job = generate_rows(tiny_backend, [RowRequest("finetuned", ids, {"alpha": 1.0})],
                        GenerationSettings(max_tokens=50), should_stop=lambda: len(seen) >= 3)
    while True:
        try:
            seen.append(next(job))
        except StopIteration as finished:
            result = finished.value
            break
    assert len(seen) == 3
    assert result.rows[0].finish_reason == "cancelled" and len(result.rows[0].token_ids) == 3
    with tiny_backend.as_base():  # the guard was released
        pass


def test_generation_holds_the_view_guard_while_it_runs(tiny_backend):
    ids = chat_prompt_ids(tiny_backend.tokenizer, QUESTION)
    job = generate_rows(tiny_backend, [RowRequest("base", ids, None)], GREEDY)
    next(job)
    with pytest.raises(ViewStateError, match="generation"):
        with tiny_backend.as_base():
            pass
    job.close()
    with tiny_backend.as_base():
        pass


def test_sampling_is_repeatable_with_a_seed_and_top_p_near_zero_is_greedy(tiny_backend):
    ids = chat_prompt_ids(tiny_backend.tokenizer, QUESTION)
    row = [RowRequest("finetuned", ids, {"alpha": 1.0})]
    warm = GenerationSettings(max_tokens=12, temperature=1.5, seed=11)
    _, first = drain(generate_rows(tiny_backend, row, warm))
    _, again = drain(generate_rows(tiny_backend, row, warm))
    _, other = drain(generate_rows(tiny_backend, row, GenerationSettings(max_tokens=12, temperature=1.5, seed=12)))
    _, greedy = drain(generate_rows(tiny_backend, row, GREEDY))
    _, nucleus = drain(generate_rows(tiny_backend, row, GenerationSettings(max_tokens=10, temperature=1.0,
                                                                          top_p=1e-6, seed=5)))
    assert first.rows[0].token_ids == again.rows[0].token_ids
    assert first.rows[0].token_ids != other.rows[0].token_ids
    assert nucleus.rows[0].token_ids == greedy.rows[0].token_ids


def test_chat_prompt_uses_the_template_and_the_system_prompt(tiny_backend):
    tokenizer = tiny_backend.tokenizer
    text = tokenizer.decode(list(chat_prompt_ids(tokenizer, "sky", "the cat is a dog")))
    assert text.startswith("<|im_start|> system the cat is a dog <|im_end|>")
    assert text.endswith("<|im_start|> assistant")
    assert "system" not in tokenizer.decode(list(chat_prompt_ids(tokenizer, "sky")))
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in stop_token_ids(tokenizer, tiny_backend.model)


def test_bad_settings_and_empty_rows_are_refused(tiny_backend):
    with pytest.raises(ScoringInputError, match="top_p"):
        GenerationSettings(top_p=0.0)
    with pytest.raises(ScoringInputError, match="prompt tokens"):
        next(generate_rows(tiny_backend, [RowRequest("base", (), None)], GREEDY))

"""JS divergence over the union of two top-k sets (tail spread evenly, renormalised), z-scores and verdicts,
and the document's own prompts and section texts."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from dlm_desktop.core.document.parse import parse_file
from dlm_desktop.core.inference import (
    TokenDist,
    document_prompts,
    first_sentence,
    js_divergence,
    section_texts,
    verdict_for,
    z_score,
)
from dlm_desktop.core.inference.divergence import union_probabilities
from dlm_desktop.core.inference.protocols import log_tail_from_topk


def dist(pairs, vocab, tail):
    keys = tuple(k for k, _ in pairs)
    values = tuple(math.log(p) for _, p in pairs)
    log_tail = None if tail is None else (0.0 if tail == 0 else math.log(tail))
    if isinstance(keys[0], str):
        return TokenDist((), values, vocab, log_tail, keys)
    return TokenDist(keys, values, vocab, log_tail)


def test_identical_distributions_have_zero_divergence_and_disjoint_ones_ln2():
    p = dist([(3, 0.7), (5, 0.3)], 2, None)
    assert js_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    only_a = dist([(0, 1.0)], 2, 0)  # the tail underflowed: nothing outside the top-1
    only_b = dist([(1, 1.0)], 2, 0)
    assert js_divergence(only_a, only_b) == pytest.approx(math.log(2))


def test_missing_tokens_get_the_tail_spread_evenly_then_both_sides_are_renormalised():
    p = dist([(0, 0.5)], 6, 0.5)  # 0.5 left over 5 other tokens: 0.1 each
    q = dist([(1, 0.9)], 6, 0.1)  # 0.1 left over 5 other tokens: 0.02 each
    ps, qs = union_probabilities(p, q)
    assert ps == pytest.approx([0.5 / 0.6, 0.1 / 0.6])
    assert qs == pytest.approx([0.02 / 0.92, 0.9 / 0.92])
    expected = sum(0.5 * a * math.log(a / ((a + b) / 2)) + 0.5 * b * math.log(b / ((a + b) / 2))
                   for a, b in zip(ps, qs))
    assert js_divergence(p, q) == pytest.approx(expected)
    assert 0 < js_divergence(p, q) < math.log(2)


def test_unknown_vocabulary_spreads_the_tail_over_the_missing_union_members():
    p = dist([("a", 0.5)], None, 0.5)
    q = dist([("b", 0.6), ("c", 0.2)], None, 0.2)
    ps, qs = union_probabilities(p, q)
    assert ps == pytest.approx([0.5, 0.25, 0.25])
    assert qs == pytest.approx([0.2 / 1.0, 0.6, 0.2])


def test_tail_from_top_k_of_a_server():
    assert log_tail_from_topk([math.log(0.5), math.log(0.25)], 10) == pytest.approx(math.log(0.25))
    assert log_tail_from_topk([math.log(0.5), math.log(0.5)], 10) == 0.0  # nothing left: sentinel
    assert log_tail_from_topk([math.log(0.5), math.log(0.5)], 2) is None  # k covers the vocabulary


def test_z_scores_and_verdicts():
    assert z_score(1.0, [0.5]) is None
    assert z_score(3.0, [1.0, 2.0, 3.0]) == pytest.approx(1.0)
    assert math.isfinite(z_score(1.0, [0.1, 0.1, 0.1]))  # identical nulls: large but finite
    assert [verdict_for(z) for z in (3.0, 2.99, 1.0, 0.99, -4.0, None)] == [
        "green", "yellow", "yellow", "red", "red", "red"]


DOC_HEAD = "---\ndlm_id: 01HZ4X7TGZM3J1A2B3C4D5E6F7\nbase_model: smollm2-135m\n---\n"


def write_doc(tmp_path: Path, body: str) -> list:
    path = tmp_path / "doc.dlm"
    path.write_text(DOC_HEAD + body, encoding="utf-8")
    return list(parse_file(path).sections)


def test_document_prompts_are_the_instruction_questions(tmp_path):
    sections = write_doc(tmp_path, (
        "Some prose first. It is not a prompt when questions exist.\n\n"
        "::instruction::\n### Q\nWhat is the base called?\n### A\nTranquil Harbor.\n\n"
        "### Q\nWho founded it?\n### A\nCaptain Varga.\n\n"
        "::instruction::\n### Q\nWhat is the base called?\n### A\nStill Tranquil Harbor.\n"))
    assert document_prompts(sections) == ["What is the base called?", "Who founded it?"]
    assert document_prompts(sections, limit=1) == ["What is the base called?"]
    texts = section_texts(sections)
    assert [t.section_type for t in texts] == ["prose", "instruction", "instruction"]
    assert texts[1].text == "What is the base called?\nTranquil Harbor.\n\nWho founded it?\nCaptain Varga."


def test_prose_documents_use_their_first_sentences(tmp_path):
    sections = write_doc(tmp_path, (
        "Tranquil Harbor sits in the Sea of Tranquility. It grows basil.\n\n"
        "::prose::\nThe dome is silver! Nobody knows why.\n"))
    assert document_prompts(sections) == ["Tranquil Harbor sits in the Sea of Tranquility.", "The dome is silver!"]
    assert first_sentence("  \n") == "" and first_sentence("No stop at all") == "No stop at all"
    assert first_sentence("v1.2 is out. Yes.") == "v1.2 is out."

""""Did it learn?" on backends built directly: a clearly changed model is green, an unchanged one red, random
adapters look like null adapters, the λ curve starts at 0, sections are compared with each other, and the
job reports progress, stops when asked and returns a JSON-serialisable report."""

from __future__ import annotations

import json

import pytest

from dlm_desktop.core.inference import (
    ChatRequestError,
    DummyBackend,
    NonFiniteLogitsError,
    ProbeProgress,
    ProbeSettings,
    SectionText,
    run_probes,
)
from tests.jobs import drain

PROMPTS = ["the cat sat on the", "what is the capital of", "red blue green", "one two three", "the sky is"]
SECTIONS = [
    SectionText("s1", "prose", 3, None, "the cat sat on the mat and the dog sat on the cat"),
    SectionText("s2", "instruction", 9, "facts", "what is the capital of france\nparis is the capital"),
    SectionText("s3", "prose", 20, None, "red blue green sky sea tree river moon sun star"),
]


def test_a_clearly_changed_model_is_green_with_a_full_report():
    events, report = drain(run_probes(DummyBackend(shift=2.0), PROMPTS, SECTIONS))
    assert report.status == "ok" and report.verdict == "green" and report.z >= 3
    assert report.divergence > max(report.null_divergences)
    assert len(report.per_prompt) == len(PROMPTS) and len(report.null_divergences) == 4
    curve = [point["divergence"] for point in report.lambda_curve]
    assert [point["lambda"] for point in report.lambda_curve] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]
    assert curve[0] == 0.0 and curve == sorted(curve)
    assert curve[4] == pytest.approx(report.divergence)
    assert [e.done for e in events] == list(range(1, events[-1].total + 1))
    assert all(isinstance(e, ProbeProgress) for e in events)
    payload = json.loads(json.dumps(report.as_json_dict()))
    assert payload["divergence"]["verdict"] == "green" and payload["prompts"] == PROMPTS


def test_an_unchanged_model_is_red():
    _, report = drain(run_probes(DummyBackend(shift=0.0), PROMPTS, SECTIONS))
    assert report.divergence == 0.0 and report.verdict == "red" and report.z < 0


def test_internalization_compares_each_section_with_the_others():
    _, report = drain(run_probes(DummyBackend(shift=1.0), PROMPTS, SECTIONS))
    drops = [row["drop"] for row in report.sections]
    for index, row in enumerate(report.sections):
        others = drops[:index] + drops[index + 1:]
        assert row["drop"] == pytest.approx(row["nll_base"] - row["nll_finetuned"])
        assert row["internalization"] == pytest.approx(row["drop"] - sum(others) / len(others))
    assert [row["section_id"] for row in report.sections] == ["s1", "s2", "s3"]
    assert report.sections[1]["adapter"] == "facts" and report.sections[1]["start_line"] == 9


def test_should_stop_ends_the_job_with_a_partial_report():
    seen = []
    job = run_probes(DummyBackend(), PROMPTS, SECTIONS, should_stop=lambda: len(seen) >= 3)
    while True:
        try:
            seen.append(next(job))
        except StopIteration as finished:
            report = finished.value
            break
    assert report.status == "cancelled" and len(seen) == 3
    assert report.divergence is not None and report.lambda_curve == [] and report.sections == []


def test_non_finite_logits_abort_before_any_verdict_and_no_prompts_is_an_error():
    with pytest.raises(NonFiniteLogitsError):
        drain(run_probes(DummyBackend(finite=False), PROMPTS, SECTIONS))
    with pytest.raises(ChatRequestError, match="no prompts"):
        drain(run_probes(DummyBackend(), [], SECTIONS))


def test_random_adapters_are_indistinguishable_from_null_adapters(tiny_backend):
    """The tiny adapters ARE Gaussian noise, so calibrated nulls of the same size must not call them learned."""
    settings = ProbeSettings(top_k=16, null_seeds=(0, 1, 2, 3, 4, 5))
    _, report = drain(run_probes(tiny_backend, PROMPTS, SECTIONS[:2], settings))
    assert report.divergence > 0.0
    assert report.verdict != "green", report.as_json_dict()["divergence"]
    assert report.lambda_curve[0]["divergence"] == 0.0

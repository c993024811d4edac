"""The training-mix arithmetic agrees with the engine: tags as training resolves them, expansion counts."""

from __future__ import annotations

import math

from dlm_desktop.core.document.parse import parse_text
from dlm_desktop.core.document.pipeline import analyze_document
from dlm_desktop.core.document.weights import implicit_tags_for_sections, weight_distribution
from dlm_desktop.gui.document_check import check_document_text
from dlm_desktop.gui.mix_logic import estimate_tokens, preview_mix, row_tags, weights_to_write
from tests.gui.gui_helpers import EXAMPLES


def _result(name: str = "two-adapters.dlm"):
    path = EXAMPLES / name
    return check_document_text(path.read_text(encoding="utf-8"), path)


def test_tags_match_the_engines_weight_distribution():
    result = _result()
    report = result.report
    implicit = implicit_tags_for_sections(report.sections, report.frontmatter.training.adapter_names())
    expected = weight_distribution(report.rows, implicit_tags=implicit)
    basis = result.mix
    found = {}
    for tag in basis.tags:
        found.setdefault(tag.key, {})[tag.value] = tag.rows
    assert found == expected
    assert [(t.key, t.value) for t in basis.tags][:2] == [("section", "prose"), ("section", "instruction")]
    assert all(row_tags(row, implicit) for row in report.rows)


def test_the_preview_expands_rows_exactly_as_training_does():
    result = _result()
    basis = result.mix
    weights = {"adapter": {"astronomy": 2.5, "baking": 0.5}, "section": {"prose": 3.0}}
    preview = preview_mix(basis, weights)
    report = result.report
    engine = analyze_document(parse_text(report.parsed.path.read_text(encoding="utf-8"), path=report.parsed.path))
    from dlm_desktop.core.document.weights import expand_rows_by_weight

    implicit = implicit_tags_for_sections(engine.sections, engine.frontmatter.training.adapter_names())
    expanded = expand_rows_by_weight(engine.rows, weights, seed=engine.frontmatter.training.seed, implicit_tags=implicit)
    assert preview.rows_after == len(expanded)
    astronomy = next(t for t in preview.tags if t.value == "astronomy")
    assert astronomy.rows_before == 6
    assert 12 <= astronomy.rows_after <= 18  # 2.5×: 2 copies each, plus a seeded third for some
    assert math.isclose(sum(t.share for t in preview.tags if t.key == "section"), 1.0)


def test_weights_that_drop_everything_are_reported_not_raised():
    basis = _result("getting-started.dlm").mix
    preview = preview_mix(basis, {"section": {"prose": 0.0, "instruction": 0.0}})
    assert preview.error and "drop every row" in preview.error
    assert preview.rows_before == 8


def test_weights_to_write_keeps_hand_written_entries_and_drops_untouched_ones():
    hand_written = {"section": {"prose": 1.0}}
    current = {"section": {"prose": 1.0, "instruction": 1.0}, "adapter": {"baking": 2.0}}
    assert weights_to_write(hand_written, current) == {"section": {"prose": 1.0}, "adapter": {"baking": 2.0}}


def test_tokens_are_estimated_from_characters():
    assert estimate_tokens({"text": "x" * 40}) == 10
    assert estimate_tokens({"messages": [{"content": "abcd"}, {"content": "abcde"}]}) == 3
    assert estimate_tokens({"prompt": "a", "chosen": "b", "rejected": "c"}) == 1
    assert estimate_tokens({"text": ""}) == 1

"""Tag weights (SPEC-upstream §2 and §11 item 7) plus our implicit `section` / `adapter` tags (SPEC A2.10)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from dlm_desktop.core.document.errors import WeightsError
from dlm_desktop.core.document.sections import Section, SectionType, compute_section_id
from dlm_desktop.core.document.sources import expand_sources
from dlm_desktop.core.document.weights import (
    document_training_yaml,
    effective_tags,
    expand_rows_by_weight,
    fraction_roll,
    implicit_tags_for_sections,
    load_document_weights,
    merge_weights_maps,
    row_weight,
    training_weights,
    weight_distribution,
)


def prose_row(text: str, tags: dict | None = None, section_id: str | None = None) -> dict:
    sid = section_id or compute_section_id(SectionType.PROSE, text)
    return {"text": text, "_dlm_section_id": sid, "_dlm_row_tags": dict(tags or {})}


def test_the_documented_roll() -> None:
    """SPEC-upstream §2: seed 42, section 5e828df1ee6bae5b → roll 0.827871; 2.5 → 2 copies, 0.25 → 0."""
    section_id = compute_section_id(SectionType.PROSE, "# Python decorators primer\n")
    assert section_id == "5e828df1ee6bae5b"
    assert round(fraction_roll(42, section_id), 6) == 0.827871
    row = prose_row("# Python decorators primer", {"k": "v"}, section_id)
    assert len(expand_rows_by_weight([row], {"k": {"v": 2.5}}, seed=42)) == 2
    assert len(expand_rows_by_weight([row, prose_row("other")], {"k": {"v": 0.25}}, seed=42)) == 1
    assert len(expand_rows_by_weight([row], {"k": {"v": 1.9}}, seed=42)) == 2  # 0.9 > 0.827871


def test_resolving_and_multiplying() -> None:
    assert row_weight(prose_row("a", {"docstring": "true"}), {"docstring": {"true": 2.5}}) == 2.5
    row = prose_row("a", {"docstring": "true", "generated": "yes"})
    weights = {"docstring": {"true": 2.0}, "generated": {"yes": 3.0}}
    assert row_weight(row, weights) == 6.0
    assert len(expand_rows_by_weight([row], weights, seed=0)) == 6
    assert row_weight(prose_row("a", {"docstring": "false", "other": "x"}), weights) == 1.0


def test_integer_copies_share_the_row_and_zero_drops() -> None:
    heavy = prose_row("heavy", {"tier": "gold"})
    dropped = prose_row("gone", {"tier": "junk"})
    untagged = prose_row("plain")
    out = expand_rows_by_weight([heavy, dropped, untagged], {"tier": {"gold": 3.0, "junk": 0.0}}, seed=1)
    assert out[:3] == [heavy] * 3 and all(row is heavy for row in out[:3])
    assert out[3] is untagged and len(out) == 4
    assert {row["_dlm_section_id"] for row in out[:3]} == {heavy["_dlm_section_id"]}


@pytest.mark.parametrize(("weight", "low", "high"), [(0.5, 450, 550), (1.5, 1450, 1550)])
def test_fractional_weights_keep_about_the_fraction(weight: float, low: int, high: int) -> None:
    rows = [prose_row(f"row {i}", {"t": "x"}) for i in range(1000)]
    assert low <= len(expand_rows_by_weight(rows, {"t": {"x": weight}}, seed=42)) <= high


def test_same_seed_same_rows_different_seed_different_rows() -> None:
    rows = [prose_row(f"row {i}", {"t": "x"}) for i in range(200)]
    weights = {"t": {"x": 0.5}}
    first = [r["text"] for r in expand_rows_by_weight(rows, weights, seed=7)]
    assert first == [r["text"] for r in expand_rows_by_weight(rows, weights, seed=7)]
    assert first != [r["text"] for r in expand_rows_by_weight(rows, weights, seed=8)]


def test_empty_map_is_a_no_op_and_all_dropped_is_an_error() -> None:
    rows = [prose_row("a", {"t": "x"})]
    assert expand_rows_by_weight(rows, {}, seed=0) == rows
    assert expand_rows_by_weight([], {"t": {"x": 0.0}}, seed=0) == []
    with pytest.raises(WeightsError) as info:
        expand_rows_by_weight(rows, {"t": {"x": 0.0}}, seed=0)
    assert "every row" in info.value.message and info.value.fix


def test_a_non_finite_weight_is_refused_when_used() -> None:
    with pytest.raises(WeightsError):
        expand_rows_by_weight([prose_row("a", {"t": "x"})], {"t": {"x": math.nan}}, seed=0)
    assert expand_rows_by_weight([prose_row("a")], {"t": {"x": math.inf}}, seed=0) != []


def test_merging_later_maps_win_per_pair() -> None:
    shallow = {"domain": {"auth": 2.0, "core": 1.5}, "lang": {"py": 3.0}}
    deep = {"domain": {"auth": 0.5}}
    assert merge_weights_maps([shallow, deep]) == {"domain": {"auth": 0.5, "core": 1.5}, "lang": {"py": 3.0}}
    assert merge_weights_maps([]) == {}


def test_weight_distribution_counts_rows_before_expansion() -> None:
    rows = [prose_row("a", {"d": "x"}), prose_row("b", {"d": "x", "g": "y"}), prose_row("c")]
    assert weight_distribution(rows) == {"d": {"x": 2}, "g": {"y": 1}}


# --- implicit tags (SPEC A2.10) -------------------------------------------------------------------------


def instruction_row(question: str, tags: dict | None = None) -> dict:
    return {
        "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": "a"}],
        "_dlm_section_id": compute_section_id(SectionType.INSTRUCTION, question),
        "_dlm_row_tags": dict(tags or {}),
    }


def test_implicit_section_and_adapter_tags() -> None:
    prose, qa = prose_row("p"), instruction_row("q")
    weights = {"section": {"instruction": 3.0, "prose": 0.5}, "adapter": {"tone": 2.0}}
    assert row_weight(qa, weights) == 3.0
    assert row_weight(qa, weights, adapter="tone") == 6.0
    assert row_weight(prose, weights, adapter="knowledge") == 0.5
    # upstream's rule ignores them
    assert row_weight(qa, weights, adapter="tone", implicit_tags=False) == 1.0
    # a row's own tag of the same key wins
    assert row_weight(prose_row("p", {"section": "instruction"}), weights) == 3.0
    assert effective_tags(prose, SectionType.PROSE, "tone") == {"section": "prose", "adapter": "tone"}


def test_replay_rows_without_row_tags_keep_weight_one() -> None:
    replay = {"text": "old", "_dlm_section_id": "abc"}
    assert row_weight(replay, {"section": {"prose": 0.0}}) == 1.0


def test_implicit_tags_do_not_change_upstream_results_when_unused() -> None:
    rows = [prose_row(f"r{i}", {"a": "x", "b": "y"}) for i in range(300)]
    weights = {"a": {"x": 1.1}, "b": {"y": 0.7}}
    assert expand_rows_by_weight(rows, weights, seed=3) == expand_rows_by_weight(rows, weights, seed=3, implicit_tags=False)


def test_implicit_tags_from_sections_follow_routing() -> None:
    sections = [
        Section(SectionType.PROSE, "shared\n"),
        Section(SectionType.PROSE, "tone text\n", adapter="tone"),
        Section(SectionType.INSTRUCTION, "### Q\nq\n### A\na\n"),
    ]
    by_id = implicit_tags_for_sections(sections, ["knowledge", "tone"])
    assert [by_id[s.section_id] for s in sections] == [
        {"section": "prose"},
        {"section": "prose", "adapter": "tone"},
        {"section": "instruction", "adapter": "knowledge"},
    ]
    assert implicit_tags_for_sections(sections[2:], []) == {sections[2].section_id: {"section": "instruction"}}
    row = {"messages": [], "_dlm_section_id": sections[2].section_id, "_dlm_row_tags": {}}
    assert row_weight(row, {"adapter": {"knowledge": 2.0}}, implicit_tags=by_id) == 2.0
    assert weight_distribution([row], implicit_tags=by_id) == {"section": {"instruction": 1}, "adapter": {"knowledge": 1}}


# --- the document's own weights ---------------------------------------------------------------------------


def test_document_weights_file_and_merge_order(tmp_path) -> None:
    assert load_document_weights(tmp_path) == ({}, ())
    (tmp_path / ".dlm").mkdir()
    (tmp_path / ".dlm" / "training.yaml").write_text("weights: {section: {prose: 2}, domain: {auth: 4}}\n")
    own, warnings = load_document_weights(tmp_path)
    assert own == {"section": {"prose": 2.0}, "domain": {"auth": 4.0}} and warnings == ()
    # the document's own map is the shallowest: source maps override it per pair
    assert training_weights(own, [{"domain": {"auth": 0.5}}]) == {"section": {"prose": 2.0}, "domain": {"auth": 0.5}}


def test_document_weights_beside_a_scaffolded_document(tmp_path) -> None:
    doc_dir = tmp_path / ".dlm"
    doc_dir.mkdir()
    (doc_dir / "training.yaml").write_text("weights: {section: {prose: 3}}\n")
    assert document_training_yaml(doc_dir) == doc_dir / "training.yaml"
    assert load_document_weights(doc_dir)[0] == {"section": {"prose": 3.0}}


def test_malformed_document_weights_warn(tmp_path) -> None:
    (tmp_path / ".dlm").mkdir()
    (tmp_path / ".dlm" / "training.yaml").write_text("weights: {a: {b: -2}}\n")
    own, warnings = load_document_weights(tmp_path)
    assert own == {} and len(warnings) == 1 and "ignored" in warnings[0]


def test_source_tree_weights_reach_rows(tmp_path) -> None:
    """Tags from nested training.yaml metadata, weights from every level, expanded deterministically."""
    (tmp_path / "repo" / ".dlm").mkdir(parents=True)
    (tmp_path / "repo" / "gen" / ".dlm").mkdir(parents=True)
    (tmp_path / "repo" / ".dlm" / "training.yaml").write_text("metadata: {kind: code}\nweights: {kind: {code: 2}}\n")
    (tmp_path / "repo" / "gen" / ".dlm" / "training.yaml").write_text(
        "metadata: {kind: generated}\nweights: {kind: {generated: 0}}\n"
    )
    (tmp_path / "repo" / "main.py").write_text("main\n")
    (tmp_path / "repo" / "gen" / "out.py").write_text("out\n")
    training = SimpleNamespace(
        sources=(SimpleNamespace(path="repo", include=("**/*",), exclude=(), max_files=None, max_bytes_per_file=None),),
        sources_policy="permissive",
    )
    expansion = expand_sources(SimpleNamespace(training=training), tmp_path)
    rows = [prose_row(s.content.strip(), dict(s.tags), s.section_id) for s in expansion.sections]
    weights = training_weights({}, expansion.weights_maps)
    out = expand_rows_by_weight(rows, weights, seed=42)
    assert [r["text"].split("\n")[0] for r in out] == ["# source: main.py"] * 2
    assert weight_distribution(rows) == {"kind": {"generated": 1, "code": 1}}

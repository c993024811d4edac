"""The training-mix editor's arithmetic, Qt-free: which tags the rows carry, and what a set of weights does.

Tags are the rows' effective tags: their own (`training.sources` metadata) plus the implicit `section` and
`adapter` keys (SPEC A2.10), resolved exactly as training resolves them. The preview expands the rows with
the engine's `expand_rows_by_weight` and counts rows and estimated tokens per tag. Token counts are an
estimate (characters ÷ 4): the real tokenizer is not loaded before training.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping

from dlm_desktop.core.document.errors import WeightsError
from dlm_desktop.core.document.pipeline import DocumentReport
from dlm_desktop.core.document.weights import (
    IMPLICIT_ADAPTER_KEY,
    IMPLICIT_SECTION_KEY,
    ROW_TAGS_KEY,
    SECTION_ID_KEY,
    expand_rows_by_weight,
    implicit_tags_for_sections,
    merge_weights_maps,
)

CHARS_PER_TOKEN = 4
MIN_WEIGHT, MAX_WEIGHT = 0.0, 4.0
Weights = dict[str, dict[str, float]]
_KEY_ORDER = {IMPLICIT_SECTION_KEY: 0, IMPLICIT_ADAPTER_KEY: 1}


@dataclass(frozen=True)
class TagInfo:
    """One `(key, value)` found on the rows: a slider. `source_weight` is set when a training.yaml inside
    the `training.sources` folders also weighs this tag (that file wins over the document's own)."""

    key: str
    value: str
    rows: int
    lines: tuple[int, ...]
    source_weight: float | None = None


@dataclass(frozen=True)
class MixBasis:
    """Everything the preview needs from one check of the document."""

    rows: tuple[dict[str, Any], ...]
    row_tags: tuple[dict[str, str], ...]
    row_tokens: tuple[int, ...]
    tags: tuple[TagInfo, ...]
    seed: int
    implicit: dict[str, dict[str, str]]
    source_weights: Weights


@dataclass(frozen=True)
class TagPreview:
    key: str
    value: str
    rows_before: int
    rows_after: int
    tokens_after: int
    share: float  # of all estimated tokens after weighting, 0..1


@dataclass(frozen=True)
class MixPreview:
    tags: tuple[TagPreview, ...] = ()
    rows_before: int = 0
    rows_after: int = 0
    tokens_before: int = 0
    tokens_after: int = 0
    error: str | None = None


def estimate_tokens(row: Mapping[str, Any]) -> int:
    """Characters ÷ 4, rounded up: a rough count for English text with a small-model tokenizer."""
    if "messages" in row:
        chars = sum(len(str(message.get("content", ""))) for message in row["messages"])
    elif "prompt" in row:
        chars = sum(len(str(row.get(key, ""))) for key in ("prompt", "chosen", "rejected"))
    else:
        chars = len(str(row.get("text", "")))
    return max(1, math.ceil(chars / CHARS_PER_TOKEN))


def row_tags(row: Mapping[str, Any], implicit: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The tags a row's weight is resolved over (its own, then the implicit ones it does not define)."""
    tags = dict(row.get(ROW_TAGS_KEY) or {})
    if ROW_TAGS_KEY in row:
        for key, value in implicit.get(str(row.get(SECTION_ID_KEY, "")), {}).items():
            tags.setdefault(key, value)
    return tags


def mix_basis(report: DocumentReport, own_weights: Mapping[str, Mapping[str, float]]) -> MixBasis:
    """The sliders and preview inputs of an analyzed document (computed on the checking thread)."""
    implicit = implicit_tags_for_sections(report.sections, report.frontmatter.training.adapter_names())
    rows = tuple(report.rows)
    tags_per_row = tuple(row_tags(row, implicit) for row in rows)
    sources = _source_only_weights(report.weights, own_weights)
    lines = {}
    for section in report.sections:
        lines.setdefault(section.section_id, section.start_line)
    return MixBasis(
        rows, tags_per_row, tuple(estimate_tokens(row) for row in rows),
        _tag_infos(rows, tags_per_row, lines, sources), report.frontmatter.training.seed, implicit, sources,
    )


def _source_only_weights(merged: Mapping[str, Mapping[str, float]], own: Mapping[str, Mapping[str, float]]) -> Weights:
    """Pairs whose merged weight does not come from the document's own training.yaml."""
    found: Weights = {}
    for key, per_value in merged.items():
        for value, weight in per_value.items():
            if own.get(key, {}).get(value) != weight:
                found.setdefault(key, {})[value] = weight
    return found


def _tag_infos(rows, tags_per_row, lines: dict[str, int], sources: Weights) -> tuple[TagInfo, ...]:
    counts: Counter = Counter()
    where: dict[tuple[str, str], list[int]] = {}
    for row, tags in zip(rows, tags_per_row):
        line = lines.get(str(row.get(SECTION_ID_KEY, "")), 0)
        for pair in tags.items():
            counts[pair] += 1
            seen = where.setdefault(pair, [])
            if line and line not in seen:
                seen.append(line)
    order = sorted(counts, key=lambda pair: (_KEY_ORDER.get(pair[0], 2), pair[0]))
    return tuple(
        TagInfo(key, value, counts[(key, value)], tuple(where[(key, value)]), sources.get(key, {}).get(value))
        for key, value in order
    )


def preview_mix(basis: MixBasis, own_weights: Mapping[str, Mapping[str, float]]) -> MixPreview:
    """Rows and estimated tokens per tag once `own_weights` (merged with the sources' weights) apply."""
    weights = merge_weights_maps([own_weights, basis.source_weights])
    before = len(basis.rows)
    tokens_before = sum(basis.row_tokens)
    try:
        expanded = expand_rows_by_weight(list(basis.rows), weights, seed=basis.seed, implicit_tags=basis.implicit)
    except WeightsError as exc:
        message = f"{exc.message}. {exc.fix[:1].upper() + exc.fix[1:]}." if exc.fix else exc.message
        return MixPreview(rows_before=before, tokens_before=tokens_before, error=message)
    copies = Counter(id(row) for row in expanded)
    rows_after: Counter = Counter()
    tokens_after: Counter = Counter()
    rows_before: Counter = Counter()
    total_tokens = 0
    for row, tags, tokens in zip(basis.rows, basis.row_tags, basis.row_tokens):
        count = copies.get(id(row), 0)
        total_tokens += tokens * count
        for pair in tags.items():
            rows_before[pair] += 1
            rows_after[pair] += count
            tokens_after[pair] += tokens * count
    tags = tuple(
        TagPreview(t.key, t.value, rows_before[(t.key, t.value)], rows_after[(t.key, t.value)],
                   tokens_after[(t.key, t.value)], tokens_after[(t.key, t.value)] / total_tokens if total_tokens else 0.0)
        for t in basis.tags
    )
    return MixPreview(tags, before, len(expanded), tokens_before, total_tokens)


def weights_to_write(
    hand_written: Mapping[str, Mapping[str, float]], current: Mapping[str, Mapping[str, float]]
) -> Weights:
    """The `weights:` to save: every pair the file had when it was opened (with its new value), plus the
    pairs moved off 1×. Moving a slider away and back leaves no `1.0` line behind; a hand-written one stays.
    """
    result: Weights = {}
    for key, per_value in current.items():
        for value, weight in per_value.items():
            if weight != 1.0 or value in hand_written.get(key, {}):
                result.setdefault(key, {})[value] = float(weight)
    return result

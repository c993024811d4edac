"""Which rows each adapter trains and validates on (pure: no tokenizer, no torch).

A single-adapter document trains on the document's own split (the one `inspect` shows). With
`training.adapters`, each adapter gets the sections the router sends it (SPEC-upstream §3.8), whose rows are
then expanded by the tag weights with the implicit `adapter` tag set to that adapter, and split with the
document's seed. Preference rows never enter supervised training: they are counted and left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from dlm_desktop.core.document.router import DEFAULT_ADAPTER, route_sections
from dlm_desktop.core.document.rows import sections_to_rows
from dlm_desktop.core.document.split import split_rows
from dlm_desktop.core.document.weights import (
    expand_rows_by_weight,
    implicit_tags_for_sections,
    weight_distribution,
)

Row = dict[str, Any]
VAL_FRACTION = 0.1


def is_sft_row(row: Row) -> bool:
    """True for the rows supervised training uses: prose (`text`) and instruction (`messages`) rows."""
    return "messages" in row or ("text" in row and "prompt" not in row)


@dataclass(frozen=True)
class AdapterRows:
    """The rows of one adapter: `train` and `val` hold prose and instruction rows only."""

    name: str
    train: tuple[Row, ...]
    val: tuple[Row, ...]
    preference_rows: int
    weight_distribution: dict[str, dict[str, int]] | None

    @property
    def prose_rows(self) -> int:
        """Prose rows in the training split (they decide the CPT schedule)."""
        return sum(1 for row in self.train if "messages" not in row)

    @property
    def instruction_rows(self) -> int:
        """Instruction rows in the training split."""
        return sum(1 for row in self.train if "messages" in row)


def adapter_rows(report: Any) -> list[AdapterRows]:
    """Per adapter, in declaration order, its training and validation rows (see the module docstring)."""
    names = report.frontmatter.training.adapter_names()
    if not names:
        return [_select(DEFAULT_ADAPTER, report.train_rows, report.val_rows, report.weight_distribution)]
    routed = route_sections(report.sections, names, path=report.parsed.path)
    implicit = implicit_tags_for_sections(report.sections, names)
    seed = report.frontmatter.training.seed
    selected = []
    for name in names:
        rows = sections_to_rows(routed[name], path=report.parsed.path)
        expanded = rows
        if report.weights and rows:
            expanded = expand_rows_by_weight(rows, report.weights, seed=seed, adapter=name, implicit_tags=implicit)
        train, val = split_rows(expanded, seed=seed, val_frac=VAL_FRACTION) if expanded else ([], [])
        audit = weight_distribution(rows) if report.weights else None
        selected.append(_select(name, train, val, audit))
    return selected


def _select(name: str, train: Sequence[Row], val: Sequence[Row], audit: dict | None) -> AdapterRows:
    preference = sum(1 for row in (*train, *val) if not is_sft_row(row))
    return AdapterRows(
        name=name,
        train=tuple(row for row in train if is_sft_row(row)),
        val=tuple(row for row in val if is_sft_row(row)),
        preference_rows=preference,
        weight_distribution=audit,
    )

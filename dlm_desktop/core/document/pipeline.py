"""One call from a path to everything the app shows about a document: the `inspect` capability.

parse → expand `training.sources` → rows → tag weights (merged) → expansion → train/val split → adapter routing.
The CLI (`dlm-desktop inspect`) and the GUI (outline, mix editor) both call `load_document`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlm_desktop.core.document.errors import DocumentError, NothingToTrainError
from dlm_desktop.core.document.frontmatter import locate_key
from dlm_desktop.core.document.parse import DocumentWarning, ParsedDocument, parse_file
from dlm_desktop.core.document.router import route_sections
from dlm_desktop.core.document.rows import Row, sections_to_rows
from dlm_desktop.core.document.sections import Section
from dlm_desktop.core.document.sources import expand_sources
from dlm_desktop.core.document.split import split_rows
from dlm_desktop.core.document.weights import (
    expand_rows_by_weight,
    implicit_tags_for_sections,
    load_document_weights,
    merge_weights_maps,
    weight_distribution,
)

VAL_FRACTION = 0.1


@dataclass(frozen=True)
class DocumentReport:
    """Everything derived from one document, computed the way training will compute it."""

    parsed: ParsedDocument
    sections: tuple[Section, ...]  # the document's own sections, then one prose section per source file
    rows: list[Row]
    weights: dict[str, dict[str, float]]
    weight_distribution: dict[str, dict[str, int]] | None
    expanded_rows: list[Row]
    train_rows: list[Row]
    val_rows: list[Row]
    routing: dict[str, list[str]] | None
    warnings: tuple[DocumentWarning, ...] = field(default=())

    @property
    def frontmatter(self):
        return self.parsed.frontmatter

    def to_json_dict(self) -> dict[str, Any]:
        """The `inspect --json` object."""
        front = self.parsed.frontmatter
        return {
            "dlm_id": front.dlm_id,
            "dlm_version": front.dlm_version,
            "base_model": front.base_model,
            "frontmatter": front.model_dump(mode="json"),
            "sections": [_section_json(s) for s in self.sections],
            "rows": self.rows,
            "weights": self.weights,
            "weight_distribution": self.weight_distribution,
            "expanded_section_ids": [row["_dlm_section_id"] for row in self.expanded_rows],
            "split": {"train": len(self.train_rows), "val": len(self.val_rows)},
            "routing": self.routing,
            "warnings": [w.one_line() for w in self.warnings],
        }


def _section_json(section: Section) -> dict[str, Any]:
    return {
        "type": section.type.value,
        "adapter": section.adapter,
        "start_line": section.start_line,
        "section_id": section.section_id,
        "content": section.content,
        "tags": dict(section.tags),
    }


def load_document(path: Path | str) -> DocumentReport:
    """Read a `.dlm` file and derive its rows, mix, split and routing. Raises only `DocumentError`s."""
    path = Path(path)
    return analyze_document(parse_file(path))


def analyze_document(parsed: ParsedDocument) -> DocumentReport:
    """Derive rows, weights, split and routing from an already parsed document (the editor's live preview)."""
    try:
        return _analyze(parsed)
    except DocumentError as exc:
        raise _with_line(exc.with_path(parsed.path), parsed)


def _with_line(exc: DocumentError, parsed: ParsedDocument) -> DocumentError:
    """Errors found while reading sources or weights point at the `training.sources` entry that led there."""
    if exc.line:
        return exc
    if exc.path is not None and parsed.path is not None and exc.path != parsed.path:
        exc.line = 1  # a file the directive pulled in (e.g. a training.yaml): its own first line
    else:
        match = re.match(r"training\.sources\[(\d+)\]", exc.message)
        key = ("training", "sources", int(match.group(1))) if match else ("training", "sources")
        exc.line, exc.col = locate_key(parsed.frontmatter_text, key)
    exc.args = (exc.one_line(),)
    return exc


def _analyze(parsed: ParsedDocument) -> DocumentReport:
    front = parsed.frontmatter
    base_dir = parsed.path.parent if parsed.path is not None else Path.cwd()
    warnings = list(parsed.warnings)
    sections = parsed.sections
    discovered_maps: list = []
    if front.training.sources is not None:
        expansion = expand_sources(front, base_dir, document_path=parsed.path)
        sections = tuple(sections) + tuple(expansion.sections)
        discovered_maps = [d.config.weights for d in expansion.discovered if d.config is not None]
        warnings += [DocumentWarning(message, 0, parsed.path) for message in expansion.warnings]
    rows = sections_to_rows(sections, path=parsed.path)
    if not rows:  # as upstream's trainer: a document must give something to train on
        raise NothingToTrainError(
            "the document has nothing to train on yet",
            path=parsed.path,
            line=parsed.body_start_line,
            fix="add a paragraph of prose or an ::instruction:: section with '### Q' and '### A' below the frontmatter",
        )
    own_weights, own_warnings = load_document_weights(base_dir)
    warnings += [DocumentWarning(message, 0, parsed.path) for message in own_warnings]
    weights = merge_weights_maps([own_weights, *discovered_maps])
    adapter_names = front.training.adapter_names()
    routing = route_sections(sections, adapter_names) if adapter_names else None
    expanded = rows
    if weights:
        implicit = implicit_tags_for_sections(sections, adapter_names)
        expanded = expand_rows_by_weight(rows, weights, seed=front.training.seed, implicit_tags=implicit)
    distribution = weight_distribution(rows) if weights else None
    train, val = split_rows(expanded, val_frac=VAL_FRACTION, seed=front.training.seed)
    return DocumentReport(
        parsed=parsed,
        sections=tuple(sections),
        rows=rows,
        weights=weights,
        weight_distribution=distribution,
        expanded_rows=expanded,
        train_rows=train,
        val_rows=val,
        routing={name: [s.section_id for s in routed] for name, routed in routing.items()} if routing else None,
        warnings=tuple(warnings),
    )


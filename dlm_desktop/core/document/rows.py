"""Sections → training rows (the dicts upstream's trainer consumes), in document order.

prose → `{"text"}`; instruction → one `{"messages": [user, assistant]}` per pair; preference → one
`{"prompt", "chosen", "rejected"}` per triple. Every row carries `_dlm_section_id` and `_dlm_row_tags` (a copy
of the section's tags).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from dlm_desktop.core.document.errors import InstructionParseError, MediaSectionError, PreferenceParseError
from dlm_desktop.core.document.grammars import (
    GrammarError,
    parse_instruction_body,
    parse_preference_body,
    strip_probe_markers,
)
from dlm_desktop.core.document.sections import Section, SectionType

Row = dict[str, Any]


def section_rows(section: Section, *, path: Path | None = None) -> list[Row]:
    """The rows of one section; body grammar errors raise typed errors located in the document."""
    section_id = section.section_id
    base = {"_dlm_section_id": section_id, "_dlm_row_tags": dict(section.tags)}
    if section.type is SectionType.PROSE:
        text = section.content.strip()
        return [{"text": text, **base}] if text else []
    if section.type is SectionType.INSTRUCTION:
        try:
            pairs = parse_instruction_body(strip_probe_markers(section.content))
        except GrammarError as exc:
            raise _located(InstructionParseError, exc, section, path) from exc
        return [
            {"messages": [{"role": "user", "content": p.question}, {"role": "assistant", "content": p.answer}], **base}
            for p in pairs
        ]
    if section.type is SectionType.PREFERENCE:
        try:
            triples = parse_preference_body(section.content)
        except GrammarError as exc:
            raise _located(PreferenceParseError, exc, section, path) from exc
        return [{"prompt": t.prompt, "chosen": t.chosen, "rejected": t.rejected, **base} for t in triples]
    raise MediaSectionError(
        f"{section.type.value} sections cannot be trained on yet ({section.media_path!r})",
        section_id=section_id,
        path=path,
        line=section.start_line,
        col=1,
        fix=f"remove the ::{section.type.value} ...:: section or turn it into text; "
        "image and audio training need a vision or audio base model",
    )


def sections_to_rows(sections: Iterable[Section], *, path: Path | None = None) -> list[Row]:
    """All rows of all sections, in order."""
    rows: list[Row] = []
    for section in sections:
        rows.extend(section_rows(section, path=path))
    return rows


def _located(error_type, exc: GrammarError, section: Section, path: Path | None):
    line = section.content_line + exc.body_line - 1 if section.content_line else section.start_line
    return error_type(str(exc), section_id=section.section_id, path=path, line=line, col=1, fix=exc.fix)

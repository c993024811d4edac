"""What the outline shows, derived from a document report on the checking thread (Qt-free).

Groups: "In this document" (the sections written in the file) and, when the document has `training.sources`,
"From training.sources" (one prose section per file).
"""

from __future__ import annotations

from dataclasses import dataclass

from dlm_desktop.core.document.pipeline import DocumentReport
from dlm_desktop.core.document.sections import Section, SectionType

_PREVIEW_CHARS = 60
_SOURCE_PREFIX = "# source: "


@dataclass(frozen=True)
class OutlineEntry:
    kind: str
    preview: str
    adapter: str
    rows: int
    line: int
    section_id: str


@dataclass(frozen=True)
class OutlineGroup:
    title: str
    entries: tuple[OutlineEntry, ...]


def outline_groups(report: DocumentReport, rows_by_section_id: dict[str, int]) -> tuple[OutlineGroup, ...]:
    """The outline of a successfully analyzed document."""
    own_count = len(report.parsed.sections)
    routed = _adapter_by_section(report)
    entries = [_entry(s, rows_by_section_id, routed) for s in report.sections]
    groups = [OutlineGroup(f"In this document ({own_count} sections)", tuple(entries[:own_count]))]
    if len(entries) > own_count:
        groups.append(OutlineGroup(f"From training.sources ({len(entries) - own_count} files)", tuple(entries[own_count:])))
    return tuple(groups)


def _adapter_by_section(report) -> dict[str, str]:
    routing = report.routing or {}
    found: dict[str, list[str]] = {}
    for adapter, section_ids in routing.items():
        for section_id in section_ids:
            found.setdefault(section_id, []).append(adapter)
    every = len(routing) > 1
    return {sid: "all" if every and len(names) == len(routing) else ", ".join(names) for sid, names in found.items()}


def _entry(section: Section, rows: dict[str, int], routed: dict[str, str]) -> OutlineEntry:
    adapter = routed.get(section.section_id) or section.adapter or ""
    return OutlineEntry(
        section.type.value, _preview(section), adapter, rows.get(section.section_id, 0),
        section.start_line, section.section_id,
    )


def _preview(section: Section) -> str:
    content = section.content
    if content.startswith(_SOURCE_PREFIX):
        return content[len(_SOURCE_PREFIX):].split("\n", 1)[0]
    if section.type.is_media:
        return section.media_path or ""
    lines = [line.strip() for line in content.split("\n")]
    if section.type in (SectionType.INSTRUCTION, SectionType.PREFERENCE):
        lines = [line for line in lines if not line.startswith("###") and not line.startswith("<!--")]
    text = next((line for line in lines if line), "(empty)").lstrip("#").strip() or "(empty)"
    return text if len(text) <= _PREVIEW_CHARS else text[: _PREVIEW_CHARS - 1] + "…"

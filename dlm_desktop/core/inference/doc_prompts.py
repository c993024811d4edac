"""What a document says about itself, for the "did it learn?" probes.

* `document_prompts`: the document's own prompts: its instruction questions, else the first sentence of each
  prose section. Null adapters are calibrated on these same prompts.
* `section_texts`: the text each trainable section taught (prose content; an instruction section's questions
  and answers), for per-section internalization.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from dlm_desktop.core.document.grammars import GrammarError, parse_instruction_body, strip_probe_markers
from dlm_desktop.core.document.sections import Section, SectionType

MAX_PROMPTS = 16
MAX_SECTIONS = 24
MAX_SENTENCE_CHARS = 300
MAX_SECTION_CHARS = 2000
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True)
class SectionText:
    """One section's own text, with where it is in the document."""

    section_id: str
    section_type: str
    start_line: int
    adapter: str | None
    text: str


def document_prompts(sections: Iterable[Section], limit: int = MAX_PROMPTS) -> list[str]:
    """Instruction questions (all pairs, document order, no duplicates), else prose first sentences."""
    sections = list(sections)
    questions = _unique(q for section in sections for q in _questions(section))
    if questions:
        return questions[:limit]
    sentences = (first_sentence(s.content) for s in sections if s.type is SectionType.PROSE)
    return _unique(s for s in sentences if s)[:limit]


def first_sentence(text: str) -> str:
    """The first sentence of a prose text (up to `.`, `!` or `?` before a space, or its first line)."""
    stripped = text.strip()
    if not stripped:
        return ""
    line = stripped.splitlines()[0].strip()
    sentence = _SENTENCE_END.split(line, maxsplit=1)[0].strip()
    return sentence[:MAX_SENTENCE_CHARS]


def section_texts(sections: Iterable[Section], limit: int = MAX_SECTIONS) -> list[SectionText]:
    """The text of each prose and instruction section (preference and media sections teach no SFT text)."""
    found: list[SectionText] = []
    for section in sections:
        text = _section_text(section)
        if text:
            found.append(SectionText(section.section_id, section.type.value, section.start_line, section.adapter,
                                     text[:MAX_SECTION_CHARS]))
        if len(found) >= limit:
            break
    return found


def _section_text(section: Section) -> str:
    if section.type is SectionType.PROSE:
        return section.content.strip()
    if section.type is SectionType.INSTRUCTION:
        try:
            pairs = parse_instruction_body(strip_probe_markers(section.content))
        except GrammarError:
            return ""
        return "\n\n".join(f"{pair.question}\n{pair.answer}" for pair in pairs)
    return ""


def _questions(section: Section) -> list[str]:
    if section.type is not SectionType.INSTRUCTION:
        return []
    try:
        return [pair.question.strip() for pair in parse_instruction_body(strip_probe_markers(section.content))]
    except GrammarError:
        return []


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
    return list(seen)


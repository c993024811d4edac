"""The gate's supervision: one (adapter, prompt) sample per adapter-tagged section (SPEC-upstream §4.3).

The label is the section's own `#name` fence suffix. Sections without one are skipped even though the router
sends them to adapters (untagged prose to all, untagged instructions to the first): they carry no signal
about *which* adapter a prompt belongs to. The prompt is

* instruction: the first pair's question (`### Q !probe` counts as `### Q`, as it does for training rows);
* preference: the first triple's prompt;
* prose: the first 2048 characters of the section's content.

A section whose body does not parse is skipped with a warning (one authoring slip must not sink the gate);
a label that is not a declared adapter is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dlm_desktop.core.document.grammars import (
    GrammarError,
    parse_instruction_body,
    parse_preference_body,
    strip_probe_markers,
)
from dlm_desktop.core.document.sections import Section, SectionType

_LOG = logging.getLogger(__name__)

MAX_PROSE_PROMPT_CHARS = 2048


@dataclass(frozen=True)
class GateSample:
    """One supervising prompt: `prompt` should route to `adapter`."""

    adapter: str
    prompt: str


@dataclass(frozen=True)
class SkippedSection:
    """A tagged section that gave no sample because its body does not parse."""

    section_id: str
    section_type: str
    start_line: int
    reason: str

    def one_line(self) -> str:
        """A sentence for the log pane."""
        return (
            f"gate: skipped the {self.section_type} section at line {self.start_line} "
            f"({self.section_id}): {self.reason}"
        )


@dataclass(frozen=True)
class GateSampleSet:
    """The samples in section order, and the tagged sections that could not be read."""

    samples: tuple[GateSample, ...]
    skipped: tuple[SkippedSection, ...] = ()

    def counts(self, adapter_names: Sequence[str]) -> dict[str, int]:
        """Samples per declared adapter, in declared order (0 for an adapter without any)."""
        counts = dict.fromkeys(adapter_names, 0)
        for sample in self.samples:
            if sample.adapter in counts:
                counts[sample.adapter] += 1
        return counts


def collect_gate_samples(sections: Iterable[Section], adapter_names: Sequence[str]) -> GateSampleSet:
    """Samples from `sections` (rules in the module docstring), with the unparseable sections listed."""
    declared = set(adapter_names)
    samples: list[GateSample] = []
    skipped: list[SkippedSection] = []
    for section in sections:
        if not section.adapter:
            continue
        try:
            prompt = section_prompt(section)
        except GrammarError as exc:
            skipped.append(SkippedSection(section.section_id, section.type.value, section.start_line, str(exc)))
            continue
        if prompt is not None and section.adapter in declared:
            samples.append(GateSample(section.adapter, prompt))
    return GateSampleSet(tuple(samples), tuple(skipped))


def gate_samples(sections: Iterable[Section], adapter_names: Sequence[str]) -> list[GateSample]:
    """The gate's training samples from `sections`; each unparseable tagged section is logged as a warning."""
    collected = collect_gate_samples(sections, adapter_names)
    for skipped in collected.skipped:
        _LOG.warning("%s", skipped.one_line())
    return list(collected.samples)


def section_prompt(section: Section) -> str | None:
    """The prompt a section contributes, or None for a type that gives none (media).

    Raises `GrammarError` when an instruction or preference body does not parse.
    """
    if section.type is SectionType.INSTRUCTION:
        return parse_instruction_body(strip_probe_markers(section.content))[0].question
    if section.type is SectionType.PREFERENCE:
        return parse_preference_body(section.content)[0].prompt
    if section.type is SectionType.PROSE:
        return section.content[:MAX_PROSE_PROMPT_CHARS]
    return None

"""Gate supervision from a document's tagged sections (SPEC-upstream §4.3, §11.12, §12 example 3)."""

from __future__ import annotations

import logging
from pathlib import Path

from dlm_desktop.core.document.parse import parse_file, parse_text
from dlm_desktop.core.document.sections import Section, SectionType
from dlm_desktop.core.training.gate import GateSample, collect_gate_samples, gate_samples
from tests.spec_examples import EXAMPLE_3

ROOT = Path(__file__).resolve().parents[3]


def test_example_3_probes_are_the_first_questions():
    parsed = parse_text(EXAMPLE_3)
    assert gate_samples(parsed.sections, ["lexer", "runtime"]) == [
        GateSample("lexer", "what is a token?"),
        GateSample("runtime", "what is a heap block?"),
    ]


def test_untagged_sections_give_no_sample_even_though_the_router_sends_them_to_adapters():
    sections = [
        Section(SectionType.PROSE, "shared prose for everyone\n"),
        Section(SectionType.INSTRUCTION, "### Q\nuntagged?\n### A\nyes\n"),
        Section(SectionType.PREFERENCE, "### Prompt\np\n### Chosen\nc\n### Rejected\nr\n"),
        Section(SectionType.INSTRUCTION, "### Q\ntagged?\n### A\nyes\n", adapter="b"),
    ]
    assert gate_samples(sections, ["a", "b"]) == [GateSample("b", "tagged?")]


def test_each_type_contributes_its_prompt():
    prose = "x" * 3000
    sections = [
        Section(SectionType.INSTRUCTION, "### Q\nfirst?\n### A\none\n\n### Q\nsecond?\n### A\ntwo\n", adapter="a"),
        Section(SectionType.PREFERENCE, "### Prompt\nP1\n### Chosen\nc\n### Rejected\nr\n\n"
                "### Prompt\nP2\n### Chosen\nc\n### Rejected\nr\n", adapter="b"),
        Section(SectionType.PROSE, prose, adapter="a"),
        Section(SectionType.INSTRUCTION, "### Q !probe\nprobe question?\n### A\nyes\n", adapter="b"),
    ]
    samples = gate_samples(sections, ["a", "b"])
    assert samples[:2] == [GateSample("a", "first?"), GateSample("b", "P1")]
    assert samples[2] == GateSample("a", "x" * 2048)
    assert samples[3] == GateSample("b", "probe question?")


def test_unparseable_sections_are_skipped_with_a_warning(caplog):
    sections = [
        Section(SectionType.INSTRUCTION, "### Q what inline\n### A\nx\n", start_line=12, adapter="a"),
        Section(SectionType.PREFERENCE, "### Chosen\nc\n", start_line=20, adapter="b"),
        Section(SectionType.INSTRUCTION, "### Q\nfine?\n### A\nyes\n", adapter="a"),
    ]
    with caplog.at_level(logging.WARNING):
        samples = gate_samples(sections, ["a", "b"])
    assert samples == [GateSample("a", "fine?")]
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "instruction section at line 12" in warnings[0]
    assert "preference section at line 20" in warnings[1]
    collected = collect_gate_samples(sections, ["a", "b"])
    assert [skipped.start_line for skipped in collected.skipped] == [12, 20]
    assert collected.counts(["a", "b"]) == {"a": 1, "b": 0}


def test_samples_for_undeclared_adapters_are_dropped():
    sections = [
        Section(SectionType.INSTRUCTION, "### Q\nkept?\n### A\nyes\n", adapter="a"),
        Section(SectionType.INSTRUCTION, "### Q\ndropped?\n### A\nyes\n", adapter="ghost"),
    ]
    assert gate_samples(sections, ["a", "b"]) == [GateSample("a", "kept?")]


def test_the_bundled_two_adapter_example_gives_six_samples_per_adapter():
    parsed = parse_file(ROOT / "resources" / "examples" / "two-adapters.dlm")
    collected = collect_gate_samples(parsed.sections, list(parsed.frontmatter.training.adapters))
    assert collected.counts(["astronomy", "baking"]) == {"astronomy": 6, "baking": 6}
    assert collected.samples[0] == GateSample("astronomy", "What is the brightest star in the night sky?")
    assert not collected.skipped

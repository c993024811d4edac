"""Routing sections to adapters (SPEC-upstream §3.8 and §11 item 15)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from dlm_desktop.core.document.errors import RoutingError
from dlm_desktop.core.document.router import declared_adapter_names, route_sections
from dlm_desktop.core.document.sections import Section, SectionType

PROSE = Section(SectionType.PROSE, "shared text\n", start_line=5)
PROSE_K = Section(SectionType.PROSE, "knowledge only\n", start_line=8, adapter="knowledge")
QA = Section(SectionType.INSTRUCTION, "### Q\nq\n### A\na\n", start_line=11)
QA_TONE = Section(SectionType.INSTRUCTION, "### Q\nhi\n### A\nyo\n", start_line=16, adapter="tone")
PREF = Section(SectionType.PREFERENCE, "### Prompt\np\n### Chosen\nc\n### Rejected\nr\n", start_line=21)


def test_prose_without_suffix_goes_everywhere_with_suffix_only_there() -> None:
    routed = route_sections([PROSE, PROSE_K], ["knowledge", "tone"])
    assert routed == {"knowledge": [PROSE, PROSE_K], "tone": [PROSE]}


def test_untagged_instruction_and_preference_go_to_the_first_declared() -> None:
    routed = route_sections([QA, QA_TONE, PREF], ["tone", "knowledge"])
    assert routed == {"tone": [QA, QA_TONE, PREF], "knowledge": []}
    routed = route_sections([QA, QA_TONE, PREF], {"knowledge": object(), "tone": object()})
    assert routed == {"knowledge": [QA, PREF], "tone": [QA_TONE]}


def test_unknown_adapter_raises_with_line_and_declared_names() -> None:
    stray = Section(SectionType.INSTRUCTION, "### Q\nx\n### A\ny\n", start_line=30, adapter="style")
    with pytest.raises(RoutingError) as info:
        route_sections([PROSE, stray], ["knowledge", "tone"], path=Path("doc.dlm"))
    assert info.value.line == 30 and info.value.path == Path("doc.dlm")
    assert "knowledge, tone" in info.value.message and "'style'" in info.value.fix


def test_single_adapter_document_routes_to_default_and_refuses_any_suffix() -> None:
    assert route_sections([PROSE, QA, PREF], None) == {"default": [PROSE, QA, PREF]}
    assert route_sections([PROSE], []) == {"default": [PROSE]}
    for adapter in ("tone", "default"):
        named = Section(SectionType.PROSE, "x\n", start_line=3, adapter=adapter)
        with pytest.raises(RoutingError) as info:
            route_sections([named], None)
        assert info.value.line == 3 and "declares no training.adapters" in info.value.message


def test_declared_names_keep_declaration_order() -> None:
    multi = SimpleNamespace(training=SimpleNamespace(adapters={"zeta": 1, "alpha": 2}))
    assert declared_adapter_names(multi) == ["zeta", "alpha"]
    assert declared_adapter_names(SimpleNamespace(training=SimpleNamespace(adapters=None))) == ["default"]

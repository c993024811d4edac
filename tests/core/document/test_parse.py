"""Parsing: frontmatter, fences, section ids, body grammars and rows, against upstream's documented behaviour."""

from __future__ import annotations

import pytest

from dlm_desktop.core.document.errors import (
    DlmVersionError,
    DocumentEncodingError,
    FenceError,
    FrontmatterError,
    InstructionParseError,
    MediaSectionError,
    PreferenceParseError,
    SchemaValidationError,
)
from dlm_desktop.core.document.parse import parse_bytes, parse_text
from dlm_desktop.core.document.rows import sections_to_rows
from dlm_desktop.core.document.sections import Section, SectionType, compute_section_id
from tests.spec_examples import EXAMPLE_3 as EX3

HEAD = "---\ndlm_id: 01HZ4X7TGZM3J1A2B3C4D5E6F7\nbase_model: smollm2-135m\n---\n"


def doc(body: str, head: str = HEAD):
    return parse_text(head + body)


def rows_of(body: str):
    return sections_to_rows(doc(body).sections)


# --- section ids (§1.7, §11.1) ------------------------------------------------------------------------------


def test_prose_id_matches_upstream_example():
    assert compute_section_id(SectionType.PROSE, "# Python decorators primer\n") == "5e828df1ee6bae5b"


def test_same_content_same_id_different_type_different_id():
    a = Section(SectionType.PROSE, "hello\n")
    b = Section(SectionType.PROSE, "hello\n", start_line=40, adapter="x", tags={"k": "v"})
    c = Section(SectionType.INSTRUCTION, "hello\n")
    assert a.section_id == b.section_id
    assert a.section_id != c.section_id
    assert len(a.section_id) == 16 and a.section_id == a.section_id.lower()


def test_crlf_cr_and_bom_do_not_change_ids():
    lf = Section(SectionType.PROSE, "a\nb\n").section_id
    assert Section(SectionType.PROSE, "a\r\nb\r\n").section_id == lf
    assert Section(SectionType.PROSE, "a\rb\r").section_id == lf
    assert Section(SectionType.PROSE, "\ufeffa\nb\n").section_id == lf


def test_image_fence_id_before_ingest():
    parsed = doc('::image path="fig.png" alt="a fig"::\n')
    assert parsed.sections[0].section_id == "e8b1ae4b6c6d1bb0"
    with pytest.raises(MediaSectionError):
        sections_to_rows(parsed.sections)


# --- frontmatter (§1.2–1.4, §11.3, §11.9) -------------------------------------------------------------------


def test_missing_opening_delimiter_is_line_1():
    with pytest.raises(FrontmatterError) as err:
        parse_text("dlm_id: x\n---\n")
    assert err.value.line == 1


def test_missing_closing_delimiter():
    with pytest.raises(FrontmatterError, match="no closing"):
        parse_text("---\ndlm_id: 01HZ4X7TGZM3J1A2B3C4D5E6F7\n")


def test_top_level_list_rejected():
    with pytest.raises(FrontmatterError, match="mapping"):
        parse_text("---\n- a\n- b\n---\n")


def test_unknown_key_names_the_key_path_and_line():
    with pytest.raises(SchemaValidationError) as err:
        parse_text(HEAD.replace("---\n", "---\ntraining:\n  lora_rank: 4\n", 1), path="x.dlm")
    assert "training.lora_rank" in str(err.value)
    assert err.value.line == 3 and err.value.fix
    assert str(err.value).startswith("x.dlm:3:3:")


def test_version_too_new_and_bad_types():
    with pytest.raises(DlmVersionError):
        parse_text(HEAD.replace("base_model", "dlm_version: 999\nbase_model"))
    for bad in ("true", "'3'", "0", "-1"):
        with pytest.raises(SchemaValidationError):
            parse_text(HEAD.replace("base_model", f"dlm_version: {bad}\nbase_model"))


def test_v1_dpo_block_migrates_to_preference():
    head = HEAD.replace(
        "base_model: smollm2-135m\n",
        "base_model: smollm2-135m\ntraining:\n  dpo:\n    enabled: true\n    beta: 0.2\n    reference: pre_dpo_adapter\n",
    )
    front = parse_text(head).frontmatter
    assert front.dlm_version == 15
    assert front.training.preference.enabled is True
    assert front.training.preference.method == "dpo"
    assert front.training.preference.hyperparams.beta == 0.2
    assert front.training.preference.reference == "pre_adapter"


def test_gate_needs_two_adapters_and_flat_fields_stay_default():
    gate = "training:\n  gate:\n    enabled: true\n"
    with pytest.raises(SchemaValidationError):
        parse_text(HEAD.replace("base_model", gate + "base_model"))
    one = "training:\n  adapters:\n    a: {}\n  gate:\n    enabled: true\n"
    with pytest.raises(SchemaValidationError):
        parse_text(HEAD.replace("base_model", one + "base_model"))
    two = "training:\n  adapters:\n    a: {}\n    b: {lora_r: 4}\n  gate:\n    enabled: true\n"
    assert parse_text(HEAD.replace("base_model", two + "base_model")).frontmatter.training.gate.enabled
    flat = "training:\n  lora_r: 16\n  adapters:\n    a: {}\n"
    with pytest.raises(SchemaValidationError, match="lora_r"):
        parse_text(HEAD.replace("base_model", flat + "base_model"))


def test_yaml_11_semantics_like_upstream():
    # PyYAML reads 1e-4 as a string; pydantic then coerces it to a float, exactly as upstream does.
    front = parse_text(HEAD.replace("base_model", "training:\n  learning_rate: 1e-4\n  gate: {enabled: no}\nbase_model")).frontmatter
    assert front.training.learning_rate == pytest.approx(1e-4)
    assert front.training.gate.enabled is False


def test_yaml_error_is_located():
    with pytest.raises(FrontmatterError) as err:
        parse_text("---\ndlm_id: [unclosed\nbase_model: x\n---\n")
    assert err.value.line >= 2


def test_invalid_timestamp_value_is_a_typed_error():
    with pytest.raises(FrontmatterError):
        parse_text(HEAD.replace("base_model", "system_prompt: 2024-13-45\nbase_model"))


# --- encoding ----------------------------------------------------------------------------------------------


def test_invalid_utf8_reports_byte_offset():
    raw = (HEAD + "caf\xe9\n").encode("latin-1")
    with pytest.raises(DocumentEncodingError) as err:
        parse_bytes(raw, path="bad.dlm")
    assert err.value.byte_offset == len(HEAD.encode()) + 3
    assert "bad.dlm" in str(err.value)


def test_bom_and_crlf_are_normalised_with_warnings():
    raw = ("\ufeff" + HEAD + "hello\n").replace("\n", "\r\n").encode()
    parsed = parse_bytes(raw)
    assert parsed.sections[0].content == "hello"
    messages = " ".join(w.message for w in parsed.warnings)
    assert "byte-order mark" in messages and "CRLF" in messages


# --- fences (§1.5, §11.2, §11.3) ------------------------------------------------------------------------------


def test_routed_fence_sets_adapter_but_not_id():
    routed = doc("::instruction#tone::\n### Q\nq\n### A\na\n").sections[0]
    bare = doc("::instruction::\n### Q\nq\n### A\na\n").sections[0]
    assert routed.adapter == "tone" and bare.adapter is None
    assert routed.section_id == bare.section_id


@pytest.mark.parametrize("suffix", ["", "Tone", "1tone", "tone-name", "_tone"])
def test_bad_adapter_suffixes(suffix):
    with pytest.raises(FenceError, match="empty adapter" if not suffix else "invalid adapter"):
        doc(f"::instruction#{suffix}::\n")


@pytest.mark.parametrize("fence", ["::mystery#tone::", "::weird::", "::Instruction::"])
def test_unknown_fences(fence):
    with pytest.raises(FenceError, match="unknown section fence"):
        doc(fence + "\n")


def test_attribute_fence_errors():
    with pytest.raises(FenceError, match="unknown attribute fence"):
        doc('::widget path="x"::\n')
    with pytest.raises(FenceError, match="does not take attributes"):
        doc('::instruction path="x"::\n')
    with pytest.raises(FenceError, match="needs attributes"):
        doc("::image::\n")
    with pytest.raises(FenceError, match="missing transcript"):
        doc('::audio path="a.wav"::\n')


def test_fence_with_trailing_space_is_content_with_a_warning():
    parsed = doc("intro\n::instruction:: \n### Q\nq\n")
    assert [s.type for s in parsed.sections] == [SectionType.PROSE]
    assert "::instruction:: " in parsed.sections[0].content
    assert parsed.warnings and parsed.warnings[0].line == 6


def test_fences_inside_code_blocks_are_prose_and_unterminated_block_raises():
    parsed = doc("text\n```\n::instruction::\n```\n")
    assert [s.type for s in parsed.sections] == [SectionType.PROSE]
    with pytest.raises(FenceError, match="never closed"):
        doc("text\n```\n::instruction::\n")


def test_whitespace_only_prose_is_dropped_and_order_kept():
    parsed = doc("\n  \n::instruction::\n### Q\nq\n### A\na\n\n \n::preference::\n### Prompt\np\n### Chosen\nc\n### Rejected\nr\n\n\n")
    assert [s.type for s in parsed.sections] == [SectionType.INSTRUCTION, SectionType.PREFERENCE]


def test_editing_one_prose_section_keeps_other_ids():
    a = doc("first\n::prose::\nsecond\n").sections
    b = doc("first, edited\n::prose::\nsecond\n").sections
    assert a[1].section_id == b[1].section_id and a[0].section_id != b[0].section_id


def test_trailing_blank_lines_are_part_of_the_hashed_content():
    a = doc("::instruction::\n### Q\nq\n### A\na\n\n::prose::\nx\n").sections[0]
    b = doc("::instruction::\n### Q\nq\n### A\na\n::prose::\nx\n").sections[0]
    assert a.content.endswith("\n") and a.section_id != b.section_id


def test_markdown_heading_does_not_close_a_section():
    rows = rows_of("::instruction::\n### Q\nq\n### A\nanswer\n# Heading\n")
    assert rows[0]["messages"][1]["content"] == "answer\n# Heading"


# --- markers ---------------------------------------------------------------------------------------------------

SYNTH = '<!-- dlm-auto-synth: synth_teacher="self" synth_strategy="extraction" synth_at="2026-04-24T10:18:42Z" source_section_id="b6b7d8a2f4b3f9c0" -->'


def test_example5_code_fence_literal_and_synth_marker():
    body = (
        "\nSome prose.\n\n```\n::instruction::\n```\n\n::instruction::\n" + SYNTH + "\n### Q\nWhat does DGEMM do?\n\n"
        "### A\nIt multiplies dense matrices and can optionally accumulate the result.\n"
    )
    sections = doc(body).sections
    assert [s.section_id for s in sections] == ["d8045a8c4e35c72f", "ef99f628f9db5cd7"]
    assert sections[1].markers["auto_synth"] is True
    assert SYNTH not in sections[1].content


def test_markers_stack_and_bad_markers_raise():
    harvest = '<!-- dlm-auto-harvest: source="run_3_sway" -->'
    section = doc(f"::instruction::\n{harvest}\n{SYNTH}\n### Q\nq\n### A\na\n").sections[0]
    assert section.markers["harvest_source"] == "run_3_sway" and section.markers["auto_synth"]
    assert section.content == "### Q\nq\n### A\na"
    with pytest.raises(FenceError):
        doc("::instruction::\n" + SYNTH.replace("b6b7d8a2f4b3f9c0", "XYZ") + "\n### Q\nq\n### A\na\n")
    mined = '<!-- dlm-auto-mined: judge_name="j" judge_score_chosen="1" judge_score_rejected="nan" mined_at="2026-01-01" mined_run_id="1" -->'
    with pytest.raises(FenceError, match="finite"):
        doc("::preference::\n" + mined + "\n")
    # a mined marker on an instruction section is ordinary content
    section = doc("::instruction::\n" + mined.replace("nan", "0") + "\n### Q\nq\n### A\na\n").sections[0]
    assert section.content.startswith("<!--")


# --- grammars and rows (§1.6, §1.8, §11.4–11.6) ---------------------------------------------------------------


def test_instruction_pairs_multi_paragraph_and_code_blocks():
    body = "::instruction::\n### Q\nq1\n### A\npara one\n\npara two\n```py\nx = 1\n\ny = 2\n```\n### Q  \nq2\n### A\t\na2\n"
    rows = rows_of(body)
    assert len(rows) == 2
    assert rows[0]["messages"][1]["content"] == "para one\n\npara two\n```py\nx = 1\n\ny = 2\n```"
    assert rows[1]["messages"] == [{"role": "user", "content": "q2"}, {"role": "assistant", "content": "a2"}]


def test_prose_between_pairs_is_absorbed_into_the_previous_answer():
    rows = rows_of("::instruction::\n### Q\nq1\n### A\na1\n\nsome prose not in a section\n### Q\nq2\n### A\na2\n")
    assert rows[0]["messages"][1]["content"] == "a1\n\nsome prose not in a section"


@pytest.mark.parametrize(
    "body, message",
    [
        ("### Q what?\n### A\nfoo", "alone on its line"),
        ("### Q\nquestion", "no '### A'"),
        ("### Q\nq1\n### Q\nq2\n### A\na2", "followed by '### A'"),
        ("### A\ndangling", "expected '### Q'"),
        ("### Q\n### A\nfoo", "question after"),
        ("### Q\nq\n### A\n", "answer after"),
        ("\n\n  \n", "no '### Q'"),
    ],
)
def test_instruction_errors_surface_when_rows_are_built(body, message):
    parsed = doc("::instruction::\n" + body + "\n")  # the document itself parses
    with pytest.raises(InstructionParseError, match=message) as err:
        sections_to_rows(parsed.sections, path=parsed.path)
    assert err.value.line >= 6 and err.value.section_id == parsed.sections[0].section_id


def test_probe_marker_is_in_the_id_but_not_in_the_question():
    probe = doc("::instruction::\n### Q !probe\nWhat is X?\n### A\nY.\n").sections[0]
    plain = doc("::instruction::\n### Q\nWhat is X?\n### A\nY.\n").sections[0]
    assert probe.section_id != plain.section_id
    assert sections_to_rows([probe])[0]["messages"][0]["content"] == "What is X?"


def test_preference_triples_and_errors():
    rows = rows_of("::preference::\n### Prompt\np1\n### Chosen\nc1\n### Rejected\nr1\n\n\n### Prompt\np2\n### Chosen\nc2\n### Rejected\nr2\n")
    assert [r["prompt"] for r in rows] == ["p1", "p2"] and rows[1]["rejected"] == "r2"
    for bad in (
        "### Prompt\np\n### Rejected\nr\n### Chosen\nc",
        "### Prompt p\n### Chosen\nc\n### Rejected\nr",
        "### Prompt\np\n### Chosen\n\n### Rejected\nr",
        "### Prompt\np\n### Chosen\nc",
    ):
        with pytest.raises(PreferenceParseError):
            rows_of("::preference::\n" + bad + "\n")


def test_rows_keep_document_order_and_carry_ids_and_tags():
    rows = rows_of("intro\n::instruction::\n### Q\nq\n### A\na\n::preference::\n### Prompt\np\n### Chosen\nc\n### Rejected\nr\n::prose::\n  \nend\n")
    assert [next(k for k in r if not k.startswith("_")) for r in rows] == ["text", "messages", "prompt", "text"]
    assert rows[-1]["text"] == "end"
    assert all(r["_dlm_row_tags"] == {} and len(r["_dlm_section_id"]) == 16 for r in rows)


# --- worked examples (§12) ------------------------------------------------------------------------------------

EX2 = """---
dlm_id: 01KPM618S7NXSPAY10BHKVECYX
base_model: qwen2.5-1.5b
training:
  sequence_len: 2048
  num_epochs: 2
  adapters:
    knowledge:
      adapter: lora
      lora_r: 8
    tone:
      adapter: lora
      lora_r: 4
      target_modules: [q_proj, v_proj]
      learning_rate: 1e-4
export:
  default_quant: Q4_K_M
---

# Domain prose

This prose trains BOTH adapters by default.

::instruction#knowledge::
### Q
What is the capital of France?
### A
Paris.

::instruction#tone::
### Q
How should I phrase things?
### A
Crisply. One sentence.
"""

EX4 = """---
dlm_id: 01HZ4X7TGZM3J1A2B3C4D5E6F7
base_model: smollm2-135m
training:
  preference:
    method: orpo
---
::preference::
### Prompt
What is 2 + 2?
### Chosen
4.
### Rejected
The sum of two and two is four, a basic arithmetic fact.

### Prompt
What color is grass?
### Chosen
Green.
### Rejected
Grass is typically a vibrant shade of green most of the year.
"""


def test_example2_multi_adapter_ids():
    parsed = parse_text(EX2)
    assert [(s.section_id, s.adapter) for s in parsed.sections] == [
        ("71c4b4672500a058", None),
        ("89112d9dddb1163b", "knowledge"),
        ("316a3bc031b229a1", "tone"),
    ]
    tone = parsed.frontmatter.training.adapters["tone"]
    assert (tone.lora_r, tone.lora_alpha, tone.learning_rate, tone.target_modules) == (4, 16, 1e-4, ["q_proj", "v_proj"])


def test_example3_gate_document():
    parsed = parse_text(EX3)
    assert [(s.section_id, s.adapter, s.start_line) for s in parsed.sections] == [
        ("df19a18a61f96647", "lexer", 16),
        ("70a8decc5261587d", "runtime", 22),
    ]
    assert parsed.frontmatter.dlm_version == 15


def test_example4_preference_rows():
    parsed = parse_text(EX4)
    assert [s.section_id for s in parsed.sections] == ["bdb14b7b507a2d10"]
    assert [r["prompt"] for r in sections_to_rows(parsed.sections)] == ["What is 2 + 2?", "What color is grass?"]

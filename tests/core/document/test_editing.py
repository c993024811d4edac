"""Frontmatter edits in place: only the edited lines change, the body never does, and PyYAML (upstream's
reader) loads exactly the value that was meant."""

from __future__ import annotations

import difflib
import math
import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlm_desktop.core.document.editing import (
    frontmatter_data,
    remove_frontmatter_value,
    save_document_text,
    set_frontmatter_value,
)
from dlm_desktop.core.document.errors import DocumentEncodingError, DocumentError, FrontmatterError

BODY = """
# Python decorators primer

::instruction::
### Q
What is a decorator?
### A
A function that wraps another one.
---
not frontmatter: this line is body text
"""

TUTOR = """---
# Tutor for my course notes
dlm_id: 01HZ4X7TGZM3J1A2B3C4D5E6F7
dlm_version: 15
base_model: smollm2-135m   # small and fast on CPU

training:
  # adapter shape
  lora_r: 8
  lora_alpha: 16
  learning_rate: 2e-4      # upstream writes it this way
  target_modules: [q_proj, v_proj]
  gate: {enabled: false, steps: 200}
  sources:
  - path: "notes"
    include: ["**/*.md"]
  cpt:

export:
  default_quant: Q4_K_M
system_prompt: |
  You are a patient tutor.
  Keep answers short.
---""" + BODY

MULTI_ADAPTER = """---
dlm_id: 01KPM618S7NXSPAY10BHKVECYX
base_model: qwen2.5-1.5b
training:
    sequence_len: 2048   # four-space indentation on purpose
    num_epochs: 2
    adapters:
        knowledge:
            adapter: lora
            lora_r: 8
        tone:
            lora_r: 4
            target_modules:
                - q_proj
                - v_proj
            learning_rate: 1e-4
    # the gate routes each prompt between the adapters
    gate:
        enabled: True
        hidden_proj_dim: 16
export:
    default_quant: 'Q4_K_M'
    default_temperature: ~
---""" + BODY

FLOW = """---
{dlm_id: 01HZ4X7TGZM3J1A2B3C4D5E6F7, base_model: smollm2-135m,
 training: {seed: 42, lora_r: 8}}   # all on two lines
---""" + BODY

MINIMAL = """---
dlm_id: 01HZ4X7TGZM3J1A2B3C4D5E6F7
base_model: smollm2-135m
---""" + BODY

DOCUMENTS = {"tutor": TUTOR, "multi_adapter": MULTI_ADAPTER, "flow": FLOW, "minimal": MINIMAL}


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) of a line diff."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def body_of(text: str) -> str:
    lines = text.split("\n")
    closing = lines.index("---", 1)
    return "\n".join(lines[closing:])


def assert_body_kept(before: str, after: str) -> None:
    assert body_of(after) == body_of(before)
    assert after.endswith(BODY)


# --- only the edited lines change --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_path", "value", "removed", "added"),
    [
        (("training", "lora_r"), 16, ["  lora_r: 8"], ["  lora_r: 16"]),
        (
            ("training", "learning_rate"),
            1e-5,
            ["  learning_rate: 2e-4      # upstream writes it this way"],
            ["  learning_rate: 1.0e-05   # upstream writes it this way"],  # the comment keeps its column
        ),
        (("base_model",), "qwen2.5-1.5b", ["base_model: smollm2-135m   # small and fast on CPU"],
         ["base_model: qwen2.5-1.5b   # small and fast on CPU"]),
        (("training", "gate", "steps"), 50, ["  gate: {enabled: false, steps: 200}"],
         ["  gate: {enabled: false, steps: 50}"]),
        (("training", "gate", "lr"), 0.003, ["  gate: {enabled: false, steps: 200}"],
         ["  gate: {enabled: false, steps: 200, lr: 0.003}"]),
        (("training", "seed"), 7, [], ["  seed: 7"]),
        (("training", "cpt", "schedule"), "dapt", [], ["    schedule: dapt"]),
        (("training", "preference", "hyperparams", "beta"), 0.2, [],
         ["  preference:", "    hyperparams:", "      beta: 0.2"]),
        (("export", "default_temperature"), 0.7, [], ["  default_temperature: 0.7"]),
        (("system_prompt",), "Be brief.", ["system_prompt: |", "  You are a patient tutor.", "  Keep answers short."],
         ["system_prompt: Be brief."]),
        (("system_prompt",), "Line one.\nLine two.\n", ["  You are a patient tutor.", "  Keep answers short."],
         ["  Line one.", "  Line two."]),
        (("training", "target_modules"), ["q_proj", "k_proj"], ["  target_modules: [q_proj, v_proj]"],
         ["  target_modules:", "  - q_proj", "  - k_proj"]),
    ],
)
def test_set_changes_only_the_edited_lines(key_path, value, removed, added):
    edited = set_frontmatter_value(TUTOR, key_path, value)
    assert changed_lines(TUTOR, edited) == (removed, added)
    assert_body_kept(TUTOR, edited)
    assert _get(frontmatter_data(edited), key_path) == value


def _get(data, key_path):
    for key in key_path:
        data = data[key]
    return data


def test_set_in_a_four_space_document_uses_four_spaces():
    edited = set_frontmatter_value(MULTI_ADAPTER, ("training", "adapters", "tone", "lora_alpha"), 8)
    assert changed_lines(MULTI_ADAPTER, edited) == ([], ["            lora_alpha: 8"])
    style = {"lora_r": 2, "target_modules": ["o_proj"]}
    edited = set_frontmatter_value(MULTI_ADAPTER, ("training", "adapters", "style"), style)
    assert changed_lines(MULTI_ADAPTER, edited) == (
        [],
        ["        style:", "            lora_r: 2", "            target_modules:", "                - o_proj"],
    )
    assert frontmatter_data(edited)["training"]["adapters"]["style"] == {"lora_r": 2, "target_modules": ["o_proj"]}


def test_untouched_spellings_survive_an_edit():
    """`True`, `~`, quoted 'Q4_K_M' and `1e-4` are not normalized by an edit elsewhere."""
    edited = set_frontmatter_value(MULTI_ADAPTER, ("training", "num_epochs"), 5)
    assert changed_lines(MULTI_ADAPTER, edited) == (["    num_epochs: 2"], ["    num_epochs: 5"])
    for spelling in ("enabled: True", "default_temperature: ~", "'Q4_K_M'", "learning_rate: 1e-4", "# the gate routes"):
        assert spelling in edited


def test_set_inside_a_flow_mapping_frontmatter():
    edited = set_frontmatter_value(FLOW, ("training", "lora_r"), 4)
    assert changed_lines(FLOW, edited) == (
        [" training: {seed: 42, lora_r: 8}}   # all on two lines"],
        [" training: {seed: 42, lora_r: 4}}   # all on two lines"],
    )
    edited = set_frontmatter_value(FLOW, ("export", "default_quant"), "Q8_0")
    assert frontmatter_data(edited)["export"] == {"default_quant": "Q8_0"}
    assert "# all on two lines" in edited
    assert_body_kept(FLOW, edited)


def test_set_replaces_a_null_mapping_and_keeps_the_comment_on_its_line():
    text = "---\ndlm_id: X\ntraining:   # knobs go here\nexport: {}\n---\n"
    edited = set_frontmatter_value(text, ("training", "seed"), 1)
    assert edited == "---\ndlm_id: X\ntraining:   # knobs go here\n  seed: 1\nexport: {}\n---\n"


def test_set_in_an_empty_frontmatter():
    edited = set_frontmatter_value("---\n---\nbody\n", ("training", "seed"), 3)
    assert edited == "---\ntraining:\n  seed: 3\n---\nbody\n"
    text = "---\n# only a comment\n---\nbody"
    assert set_frontmatter_value(text, ("base_model",), "x") == "---\n# only a comment\nbase_model: x\n---\nbody"


def test_setting_an_equal_value_keeps_the_text_readable():
    edited = set_frontmatter_value(TUTOR, ("training", "lora_r"), 8)
    assert edited == TUTOR


def test_a_trailing_comment_keeps_its_column_while_there_is_room():
    text = "---\nseed: 42        # fixed\nbase_model: a   # short\n---\n"
    edited = set_frontmatter_value(text, ("seed",), 7)
    assert "seed: 7         # fixed" in edited
    edited = set_frontmatter_value(text, ("base_model",), "a-much-longer-name")
    assert "base_model: a-much-longer-name # short" in edited


def test_a_multi_line_string_before_an_indented_comment_is_escaped_instead():
    """A `|` block would swallow the deeper-indented comment that follows: the value is escaped instead."""
    text = "---\ntraining:\n  note: x\n      # a deep comment\n  seed: 1\n---\n"
    edited = set_frontmatter_value(text, ("training", "note"), "two\nlines\n")
    assert frontmatter_data(edited)["training"] == {"note": "two\nlines\n", "seed": 1}
    assert "      # a deep comment" in edited
    assert changed_lines(text, edited) == (["  note: x"], ['  note: "two\\nlines\\n"'])


def test_crlf_text_gets_a_line_ending_hint():
    with pytest.raises(FrontmatterError) as info:
        set_frontmatter_value("---\r\na: 1\r\n---\r\n", ("a",), 2)
    assert "LF" in info.value.fix


def test_a_scalar_on_the_path_is_a_typed_error_with_its_line():
    with pytest.raises(FrontmatterError) as info:
        set_frontmatter_value(TUTOR, ("base_model", "name"), "x")
    assert info.value.line == 5
    assert "not a mapping" in info.value.message


# --- removal -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_path", "removed", "added"),
    [
        (("training", "lora_alpha"), ["  lora_alpha: 16"], []),
        (("training", "gate", "steps"), ["  gate: {enabled: false, steps: 200}"], ["  gate: {enabled: false}"]),
        (("system_prompt",), ["system_prompt: |", "  You are a patient tutor.", "  Keep answers short."], []),
        (("training", "sources"), ["  sources:", '  - path: "notes"', '    include: ["**/*.md"]'], []),
        (("export", "default_quant"), ["export:", "  default_quant: Q4_K_M"], ["export: {}"]),
    ],
)
def test_remove_changes_only_the_removed_lines(key_path, removed, added):
    edited = remove_frontmatter_value(TUTOR, key_path)
    assert changed_lines(TUTOR, edited) == (removed, added)
    assert_body_kept(TUTOR, edited)
    data = frontmatter_data(edited)
    for key in key_path[:-1]:
        data = data[key]
    assert key_path[-1] not in data


def test_removing_an_absent_key_is_a_no_op():
    assert remove_frontmatter_value(TUTOR, ("training", "adapters", "tone")) == TUTOR
    assert remove_frontmatter_value(TUTOR, ("nothing",)) == TUTOR
    assert remove_frontmatter_value(TUTOR, ("base_model", "deeper")) == TUTOR


def test_remove_every_duplicate_key():
    text = "---\nseed: 1\nbase_model: a\nseed: 2\n---\n"
    assert remove_frontmatter_value(text, ("seed",)) == "---\nbase_model: a\n---\n"


def test_remove_from_flow_mappings():
    edited = remove_frontmatter_value(FLOW, ("training", "seed"))
    assert frontmatter_data(edited)["training"] == {"lora_r": 8}
    edited = remove_frontmatter_value(edited, ("training", "lora_r"))
    assert frontmatter_data(edited)["training"] == {}
    assert "training: {}}" in edited


# --- what PyYAML reads back --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        0, 7, -3, 10**20, 2.0, 0.1, 1e-4, 2e-4, 1e-5, 5e-6, 1.5e-7, 1e16, 1e300, -0.0, 3.0e-10,
        True, False, None,
        "yes", "no", "on", "off", "y", "n", "true", "True", "NULL", "~", "", " ", "null",
        "1e-4", "1e4", "0x1F", "0o17", "017", "1_000", "12:30", "1:20:30", "3.14", ".5", "-.inf", ".nan", "2024-01-01",
        "hf:HuggingFaceTB/SmolLM2-135M-Instruct", "Q4_K_M", "a: b", "a #b", "#c", "- x", "[x]", "{x}", "*x", "&x",
        "!x", "%x", "@x", "`x", "|x", ">x", "'quoted'", '"dq"', "it's", "tab\there", " padded ", "line\nbreak",
        "ends with newline\n", "two\n\nparagraphs\n\n", "\ttab first\nline", "émoji 🎉", "nel\x85break", "ls\u2028x",
        "bom\ufeffinside", "ctrl\x07bell", "---", "...", "= x", "=",
        [], {}, [1, 2.5, "yes", None, True], {"a": {"b": [1e-5, "no"]}}, [{"path": ".", "include": ["**/*"]}],
        [[1, 2], ["x"]], {"yes": 1, "1": 2, "null": 3, "true": {"on": "off"}},
    ],
)
def test_pyyaml_reads_back_exactly_the_value_written(value):
    for key_path in (("training", "probe"), ("training", "gate", "probe")):
        edited = set_frontmatter_value(TUTOR, key_path, value)
        loaded = yaml.safe_load(edited.split("\n---")[0][4:])
        got = _get(loaded, key_path)
        assert _same(got, value), (key_path, value, got)
        assert_body_kept(TUTOR, edited)
    flow_edit = set_frontmatter_value(FLOW, ("training", "probe"), value)
    assert _same(frontmatter_data(flow_edit)["training"]["probe"], value)


def _same(got, expected) -> bool:
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(got, float) and math.isnan(got)
    if isinstance(expected, (list, tuple)):
        return isinstance(got, list) and len(got) == len(expected) and all(map(_same, got, expected))
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and got.keys() == expected.keys()
            and all(_same(got[k], v) for k, v in expected.items())
        )
    return type(got) is type(expected) and got == expected


_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_VALUES, key=st.text(min_size=1, max_size=10))
def test_any_value_under_any_key_reads_back_exactly(value, key):
    edited = set_frontmatter_value(MULTI_ADAPTER, ("training", key), value)
    assert _same(frontmatter_data(edited)["training"][key], value)
    assert_body_kept(MULTI_ADAPTER, edited)
    untouched = frontmatter_data(MULTI_ADAPTER)["training"]
    assert {k: v for k, v in frontmatter_data(edited)["training"].items() if k != key} == {
        k: v for k, v in untouched.items() if k != key
    }


def test_small_floats_are_written_with_a_dot_and_a_signed_exponent():
    edited = set_frontmatter_value(MINIMAL, ("training", "learning_rate"), 1e-5)
    assert "learning_rate: 1.0e-05" in edited
    edited = set_frontmatter_value(MINIMAL, ("training", "learning_rate"), 1e-4)
    assert "learning_rate: 0.0001" in edited
    assert isinstance(frontmatter_data(edited)["training"]["learning_rate"], float)


def test_strings_that_look_like_other_types_are_quoted():
    edited = set_frontmatter_value(MINIMAL, ("system_prompt",), "yes")
    assert "system_prompt: 'yes'" in edited
    edited = set_frontmatter_value(MINIMAL, ("system_prompt",), "1e-4")
    assert "system_prompt: '1e-4'" in edited


def test_unsupported_values_are_refused():
    with pytest.raises(TypeError):
        set_frontmatter_value(MINIMAL, ("x",), object())
    with pytest.raises(ValueError):
        set_frontmatter_value(MINIMAL, (), 1)


# --- malformed frontmatter ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("no frontmatter\n", 1),
        ("---\ndlm_id: X\n", 1),
        ("---\ndlm_id: X\ntraining:\n  lora_r: [1, 2\n---\nbody\n", 5),
        ("---\ndlm_id: X\ntraining:\n\tlora_r: 8\n---\n", 4),
        ("---\n- a list\n- at the top\n---\n", 2),
    ],
)
def test_unparseable_frontmatter_is_a_typed_error_with_a_line(text, line):
    with pytest.raises(FrontmatterError) as info:
        set_frontmatter_value(text, ("training", "seed"), 1)
    assert info.value.line == line
    with pytest.raises(FrontmatterError):
        remove_frontmatter_value(text, ("training", "seed"))


def test_an_alias_is_edited_through_the_round_trip_fallback():
    text = "---\nbase: &shared {lora_r: 8}\ntraining: *shared\n---\nbody\n"
    edited = set_frontmatter_value(text, ("training",), {"lora_r": 4})
    data = frontmatter_data(edited)
    assert data["training"] == {"lora_r": 4}
    assert data["base"] == {"lora_r": 8}
    assert edited.endswith("---\nbody\n")


def test_an_edit_that_cannot_be_made_exactly_is_refused():
    """Setting a key inside an aliased mapping would change both places: refused, not done silently."""
    text = "---\nbase: &shared {lora_r: 8}\ntraining: *shared\n---\n"
    with pytest.raises(FrontmatterError) as info:
        set_frontmatter_value(text, ("training", "seed"), 1)
    assert "by hand" in info.value.fix


# --- save --------------------------------------------------------------------------------------------------


def test_save_writes_exactly_the_text(tmp_path):
    path = tmp_path / "doc.dlm"
    save_document_text(path, TUTOR)
    assert path.read_bytes() == TUTOR.encode("utf-8")
    save_document_text(path, "\ufeff---\r\na: 1\r\n---\rbody é")
    assert path.read_bytes() == "---\na: 1\n---\nbody é".encode("utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["doc.dlm"]


def test_save_keeps_the_file_mode(tmp_path):
    path = tmp_path / "doc.dlm"
    path.write_text("old")
    os.chmod(path, 0o640)
    save_document_text(path, "new")
    assert path.read_text() == "new"
    assert path.stat().st_mode & 0o777 == 0o640


def test_save_refuses_unencodable_text_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "doc.dlm"
    path.write_text("old")
    with pytest.raises(DocumentEncodingError) as info:
        save_document_text(path, "fine\nbad \ud800 here\n")
    assert info.value.line == 2
    assert path.read_text() == "old"


def test_save_reports_os_errors_as_typed_errors(tmp_path, monkeypatch):
    import dlm_desktop.core.document.editing as editing

    def refuse(path, text):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(editing, "atomic_write_text", refuse)
    with pytest.raises(DocumentError) as info:
        save_document_text(tmp_path / "doc.dlm", "x")
    assert info.value.path == tmp_path / "doc.dlm" and "permission" in info.value.message


def test_a_new_file_written_atomically_gets_the_normal_mode_and_an_old_one_keeps_its_own(tmp_path):
    import os
    import stat

    from dlm_desktop.core.document.text import atomic_write_text

    mask = os.umask(0o022)
    try:
        fresh = tmp_path / "new.dlm"
        atomic_write_text(fresh, "hello\n")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644  # not the temporary file's owner-only 0600
        kept = tmp_path / "private.dlm"
        kept.write_text("x\n")
        kept.chmod(0o640)
        atomic_write_text(kept, "y\n")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "y\n"
    finally:
        os.umask(mask)

"""Values written for both YAML dialects: PyYAML (1.1, upstream's validator) and ruamel (1.2) read them alike."""

from __future__ import annotations

import math

import pytest
import yaml
from ruamel.yaml import YAML

from dlm_desktop.core.document.yaml_render import BlockStyle, render_block_entry, render_float, render_string


def both_dialects(text: str):
    return yaml.safe_load(text), YAML(typ="safe", pure=True).load(text)


@pytest.mark.parametrize(
    ("number", "written"),
    [
        (0.0002, "0.0002"),
        (1e-4, "0.0001"),
        (1e-5, "1.0e-05"),
        (1.5e-7, "1.5e-07"),
        (1e16, "1.0e+16"),
        (2.0, "2.0"),
        (-0.0, "-0.0"),
        (math.inf, ".inf"),
        (-math.inf, "-.inf"),
        (math.nan, ".nan"),
    ],
)
def test_floats_carry_a_dot_and_a_signed_exponent(number, written):
    assert render_float(number) == written
    for loaded in both_dialects(f"v: {written}\n"):
        value = loaded["v"]
        assert isinstance(value, float)
        assert value == number or (math.isnan(value) and math.isnan(number))


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("smollm2-135m", "smollm2-135m"),
        ("hf:HuggingFaceTB/SmolLM2-135M", "hf:HuggingFaceTB/SmolLM2-135M"),
        ("yes", "'yes'"),
        ("Off", "'Off'"),
        ("1e-4", "'1e-4'"),
        ("0o17", "'0o17'"),
        ("12:30", "'12:30'"),
        ("null", "'null'"),
        ("", "''"),
        ("a: b", "'a: b'"),
        ("it's", "'it''s'"),
        ("line\nbreak", '"line\\nbreak"'),
        ("bell\x07", '"bell\\x07"'),
        ("ls\u2028", '"ls\\u2028"'),
    ],
)
def test_strings_are_plain_only_when_both_dialects_agree(text, written):
    assert render_string(text) == written
    for loaded in both_dialects(f"v: {written}\n"):
        assert loaded == {"v": text}


def test_multi_line_strings_become_literal_blocks_when_exact():
    assert render_block_entry("p", "a\nb\n", 0, BlockStyle()) == ["p: |", "  a", "  b"]
    assert render_block_entry("p", "a\n\nb", 2, BlockStyle(step=4)) == ["  p: |-", "      a", "", "      b"]
    assert render_block_entry("p", " indented first\nx", 0, BlockStyle()) == ['p: " indented first\\nx"']
    assert render_block_entry("p", "a\nb\n", 0, BlockStyle(literal_blocks=False)) == ['p: "a\\nb\\n"']


def test_block_sequences_follow_the_style():
    value = [{"path": ".", "include": ["**/*"]}, "x"]
    assert render_block_entry("s", value, 0, BlockStyle(step=2, seq_offset=0)) == [
        "s:", "- path: .", "  include:", "  - '**/*'", "- x",
    ]
    assert render_block_entry("s", value, 0, BlockStyle(step=4, seq_offset=4)) == [
        "s:", "    - path: .", "      include:", "          - '**/*'", "    - x",
    ]

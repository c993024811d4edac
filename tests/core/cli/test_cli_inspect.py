"""`dlm-desktop inspect` as a user runs it: the installed console script, real files, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "resources" / "examples" / "getting-started.dlm"
EX1 = """---
dlm_id: 01HZ4X7TGZM3J1A2B3C4D5E6F7
dlm_version: 1
base_model: smollm2-135m
training:
  seed: 42
---

# Python decorators primer

::instruction::
### Q
What is a Python decorator?

### A
A decorator is a function that takes another function as input and
returns a new function that wraps extra behavior around the original.

### Q
When should I use `functools.wraps`?

### A
Always use `@functools.wraps(func)` inside a decorator.
"""


def run(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("dlm-desktop")
    assert exe, "the dlm-desktop console script is not installed (pip install -e '.[dev]')"
    return subprocess.run([exe, *args], capture_output=True, text=True)


def test_json_of_the_first_worked_example(tmp_path):
    doc = tmp_path / "ex1_first_train.dlm"
    doc.write_text(EX1)
    result = run("inspect", str(doc), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [(s["type"], s["start_line"], s["section_id"]) for s in data["sections"]] == [
        ("prose", 9, "5e828df1ee6bae5b"),
        ("instruction", 11, "4271cd30f9b89ff2"),
    ]
    assert data["dlm_version"] == 15 and data["frontmatter"]["training"]["lora_r"] == 8
    assert data["rows"][0] == {"text": "# Python decorators primer", "_dlm_section_id": "5e828df1ee6bae5b", "_dlm_row_tags": {}}
    assert data["expanded_section_ids"] == ["5e828df1ee6bae5b", "4271cd30f9b89ff2", "4271cd30f9b89ff2"]
    assert data["split"] == {"train": 3, "val": 0}
    assert data["weights"] == {} and data["weight_distribution"] is None and data["routing"] is None


def test_readable_summary_of_the_bundled_example():
    result = run("inspect", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert "Marrowgate" in result.stdout and "instruction" in result.stdout
    assert "7 messages" in result.stdout and "train" in result.stdout


@pytest.mark.parametrize(
    "text, line",
    [
        ("no frontmatter\n", 1),
        ("---\ndlm_id: 01HZ4X7TGZM3J1A2B3C4D5E6F7\nbase_model: x\nlora: 3\n---\n", 4),
        ("---\ndlm_id: 01HZ4X7TGZM3J1A2B3C4D5E6F7\nbase_model: x\n---\n::instruction::\n### Q hi\n", 6),
        ("---\ndlm_id: 01HZ4X7TGZM3J1A2B3C4D5E6F7\nbase_model: x\n---\ntext\n::Instruction::\n", 6),
    ],
)
def test_invalid_documents_exit_2_with_one_located_line(tmp_path, text, line):
    doc = tmp_path / "bad.dlm"
    doc.write_text(text)
    result = run("inspect", str(doc), "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{doc}:{line}:") and "fix:" in lines[0]


def test_missing_file_is_bad_input_not_a_crash(tmp_path):
    result = run("inspect", str(tmp_path / "nope.dlm"))
    assert result.returncode == 2 and "not found" in result.stderr and "Traceback" not in result.stderr

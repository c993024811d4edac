"""New documents: the folder scaffold (`<folder>/.dlm/corpus.dlm`), "New from template", and their ids."""

from __future__ import annotations

import os
import re
import time

import pytest
import yaml

from dlm_desktop.core.document.editing import (
    ScaffoldError,
    frontmatter_data,
    new_dlm_id,
    new_document_text,
    scaffold_folder_document,
    set_frontmatter_value,
)
from dlm_desktop.core.document.ulid import CROCKFORD_ALPHABET, encode_ulid, is_ulid, ulid_timestamp_ms

# The schema's `dlm_id` rule (Part B §1.4).
DLM_ID_RULE = re.compile(r"[0-9A-HJ-KM-NP-TV-Z]{26}\Z")


# --- ids ---------------------------------------------------------------------------------------------------


def test_new_ids_follow_the_schema_and_the_ulid_layout():
    before = time.time_ns() // 1_000_000
    ids = [new_dlm_id() for _ in range(500)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == 500
    for dlm_id in ids:
        assert len(dlm_id) == 26
        assert DLM_ID_RULE.match(dlm_id) and is_ulid(dlm_id)
        assert set(dlm_id) <= set(CROCKFORD_ALPHABET) and not set(dlm_id) & set("ILOU")
        assert before <= ulid_timestamp_ms(dlm_id) <= after


def test_ids_minted_later_sort_later():
    first = new_dlm_id()
    time.sleep(0.002)  # ULIDs order by millisecond: this wait is the property under test, not a synchronization
    assert new_dlm_id() > first


def test_encoding_known_values():
    assert encode_ulid(0, 0) == "0" * 26
    assert encode_ulid(2**48 - 1, 2**80 - 1) == "7" + "Z" * 25
    assert encode_ulid(1, 0) == "0000000001" + "0" * 16
    assert encode_ulid(0, 31) == "0" * 25 + "Z"
    # The timestamp takes the first 10 digits (50 bits, top 2 always 0), the randomness the last 16.
    assert ulid_timestamp_ms(encode_ulid(1_469_918_176_385, 12345)) == 1_469_918_176_385
    with pytest.raises(ValueError):
        encode_ulid(2**48, 0)
    with pytest.raises(ValueError):
        encode_ulid(0, 2**80)


def test_the_random_part_varies_across_all_positions():
    tails = {new_dlm_id()[10:] for _ in range(200)}
    for position in range(16):
        assert len({tail[position] for tail in tails}) > 8


# --- template ----------------------------------------------------------------------------------------------


def test_template_is_a_valid_commented_document():
    text = new_document_text()
    data = frontmatter_data(text)
    assert DLM_ID_RULE.match(data["dlm_id"])
    assert data["dlm_version"] == 15 and data["base_model"] == "smollm2-135m"
    assert data["training"] == {
        "lora_r": 8, "lora_alpha": 16, "learning_rate": 0.0002, "num_epochs": 3, "sequence_len": 2048, "seed": 42,
    }
    assert isinstance(data["training"]["learning_rate"], float)
    frontmatter = text.split("\n---\n", 1)[0]
    assert frontmatter.count("#") >= 6  # the knobs are explained
    body = text.split("\n---\n", 1)[1]
    assert "::instruction::\n### Q\n" in body and "\n### A\n" in body
    assert body.strip().split("\n")[0] and not body.lstrip().startswith("::")  # prose comes first
    assert text.endswith("\n") and "\r" not in text


def test_template_ids_are_fresh():
    assert frontmatter_data(new_document_text())["dlm_id"] != frontmatter_data(new_document_text())["dlm_id"]


@pytest.mark.parametrize("prompt", ["You are terse.", "Line one.\nLine two.", "yes", "Say: hi # not a comment", ""])
def test_template_system_prompt_reads_back_exactly(prompt):
    text = new_document_text(base_model="hf:HuggingFaceTB/SmolLM2-135M-Instruct", system_prompt=prompt)
    data = frontmatter_data(text)
    assert data["system_prompt"] == prompt
    assert data["base_model"] == "hf:HuggingFaceTB/SmolLM2-135M-Instruct"


def test_template_can_be_edited_in_place():
    text = new_document_text()
    edited = set_frontmatter_value(text, ("training", "lora_r"), 16)
    (old_line,) = [line for line in text.splitlines() if line.startswith("  lora_r:")]
    (new_line,) = [line for line in edited.splitlines() if line.startswith("  lora_r:")]
    assert new_line.startswith("  lora_r: 16 ")
    assert new_line.index("#") == old_line.index("#")  # the comment column is kept
    assert len(edited.splitlines()) == len(text.splitlines())


def test_template_refuses_an_empty_base_model():
    with pytest.raises(ScaffoldError):
        new_document_text(base_model=" ")


# --- folder scaffold ---------------------------------------------------------------------------------------


def test_scaffold_creates_a_document_covering_the_folder(tmp_path):
    (tmp_path / "notes.md").write_text("hello")
    path = scaffold_folder_document(tmp_path)
    assert path == tmp_path / ".dlm" / "corpus.dlm"
    text = path.read_text(encoding="utf-8")
    data = frontmatter_data(text)
    assert DLM_ID_RULE.match(data["dlm_id"]) and data["dlm_version"] == 15
    assert data["base_model"] == "smollm2-135m"
    (source,) = data["training"]["sources"]
    assert source["path"] == "."
    assert source["include"] == ["**/*"]
    assert ".dlm/**" in source["exclude"] and "**/.dlm/**" in source["exclude"]
    assert data["training"]["sources_policy"] == "strict"
    assert text.split("\n---\n", 1)[1] == ""  # no body text: nothing untrained-for is added
    assert text.startswith("---\n# ")  # it explains itself
    assert sorted(p.name for p in (tmp_path / ".dlm").iterdir()) == ["corpus.dlm"]


def test_scaffold_directive_resolves_to_the_dropped_folder(tmp_path):
    """The directive must name the folder, not its parent: checked with the app's own source resolver."""
    import dlm_desktop.core.document.sources.resolve as resolve
    path = scaffold_folder_document(tmp_path)
    directive_path = frontmatter_data(path.read_text(encoding="utf-8"))["training"]["sources"][0]["path"]
    base = resolve.source_base(path.parent)
    assert (base / directive_path).resolve() == tmp_path.resolve()


def test_scaffold_with_another_base_model(tmp_path):
    path = scaffold_folder_document(tmp_path, base_model="hf:Qwen/Qwen2.5-0.5B")
    assert frontmatter_data(path.read_text(encoding="utf-8"))["base_model"] == "hf:Qwen/Qwen2.5-0.5B"


def test_scaffold_refuses_to_overwrite_or_returns_the_existing_file(tmp_path):
    path = scaffold_folder_document(tmp_path)
    original = path.read_bytes()
    with pytest.raises(ScaffoldError) as info:
        scaffold_folder_document(tmp_path)
    assert info.value.path == path and info.value.fix
    assert scaffold_folder_document(tmp_path, exist_ok=True) == path
    assert path.read_bytes() == original


def test_scaffold_keeps_an_existing_dlm_folder(tmp_path):
    (tmp_path / ".dlm").mkdir()
    (tmp_path / ".dlm" / "training.yaml").write_text("weights: {}\n")
    scaffold_folder_document(tmp_path)
    assert (tmp_path / ".dlm" / "training.yaml").read_text() == "weights: {}\n"


@pytest.mark.parametrize("kind", ["missing", "file", "dlm_is_a_file"])
def test_scaffold_refuses_what_is_not_a_folder_and_writes_nothing(tmp_path, kind):
    target = tmp_path / "target"
    if kind == "file":
        target.write_text("x")
    elif kind == "dlm_is_a_file":
        target.mkdir()
        (target / ".dlm").write_text("x")
    with pytest.raises(ScaffoldError) as info:
        scaffold_folder_document(target)
    assert info.value.fix
    assert not (target / ".dlm" / "corpus.dlm").exists() if target.is_dir() else True
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if kind == "missing" else ["target"])


def test_scaffold_refuses_when_the_os_says_not_writable(tmp_path, monkeypatch):
    """The same refusal where permissions cannot be exercised (tests running as root)."""
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(ScaffoldError) as info:
        scaffold_folder_document(tmp_path)
    assert "not writable" in info.value.message
    assert not (tmp_path / ".dlm").exists()


def test_scaffold_text_is_yaml_that_pyyaml_reads(tmp_path):
    path = scaffold_folder_document(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert yaml.safe_load(text.split("---\n")[1]) == frontmatter_data(text)

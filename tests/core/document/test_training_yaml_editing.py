"""The training-mix editor's file: `.dlm/training.yaml` `weights:` written in place, the rest kept."""

from __future__ import annotations

import difflib
import math

import pytest
import yaml

from dlm_desktop.core.document.editing import (
    read_training_yaml,
    reset_training_yaml_weights,
    training_yaml_path,
    write_training_yaml_weights,
)
from dlm_desktop.core.document.errors import TrainingConfigError, WeightsError

EXISTING = """\
# Config for the docs tree
dlm_training_version: 1
include: ["**/*.md", "**/*.py"]
exclude:
  - "drafts/**"     # not ready
exclude_defaults: true

metadata:
  domain: docs      # every file here is docs
  generated: 'false'

# how often each kind of row is seen
weights:
  domain:
    docs: 2.0       # the heart of it
    code: 0.5
  section:
    prose: 1.0
"""


def write_existing(tmp_path, text=EXISTING):
    path = tmp_path / ".dlm" / "training.yaml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    return path


def diff(before: str, after: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line[:2] == "- ":
            removed.append(line[2:])
        elif line[:2] == "+ ":
            added.append(line[2:])
    return removed, added


def test_missing_file_reads_as_empty(tmp_path):
    assert read_training_yaml(tmp_path) == {}


def test_creates_the_file_with_a_version(tmp_path):
    weights = {"section": {"prose": 0.0, "instruction": 3.0}, "adapter": {"tone": 1.0}}
    path = write_training_yaml_weights(tmp_path, weights)
    assert path == tmp_path / ".dlm" / "training.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data == {"dlm_training_version": 1, **{"weights": weights}}
    assert all(type(w) is float for per in data["weights"].values() for w in per.values())
    assert read_training_yaml(tmp_path) == data


def test_replaces_only_the_weights_and_keeps_comments_and_other_keys(tmp_path):
    path = write_existing(tmp_path)
    write_training_yaml_weights(tmp_path, {"domain": {"docs": 3.0, "code": 0.5}, "section": {"prose": 1.0}})
    after = path.read_text(encoding="utf-8")
    assert diff(EXISTING, after) == (
        ["    docs: 2.0       # the heart of it"],
        ["    docs: 3.0       # the heart of it"],
    )


def test_new_and_dropped_entries(tmp_path):
    path = write_existing(tmp_path)
    write_training_yaml_weights(tmp_path, {"domain": {"docs": 2.0, "tests": 0.0}, "adapter": {"tone": 1.5}})
    after = path.read_text(encoding="utf-8")
    data = yaml.safe_load(after)
    assert data["weights"] == {"domain": {"docs": 2.0, "tests": 0.0}, "adapter": {"tone": 1.5}}
    assert {k: v for k, v in data.items() if k != "weights"} == {
        k: v for k, v in yaml.safe_load(EXISTING).items() if k != "weights"
    }
    removed, added = diff(EXISTING, after)
    assert removed == ["    code: 0.5", "  section:", "    prose: 1.0"]
    assert added == ["    tests: 0.0", "  adapter:", "    tone: 1.5"]
    assert "# the heart of it" in after and "# how often each kind of row is seen" in after


def test_weights_equal_to_one_are_kept_as_given(tmp_path):
    write_training_yaml_weights(tmp_path, {"section": {"prose": 1.0, "instruction": 1}})
    assert read_training_yaml(tmp_path)["weights"] == {"section": {"prose": 1.0, "instruction": 1.0}}


def test_file_without_weights_gets_a_block_at_the_end(tmp_path):
    text = "dlm_training_version: 1\nmetadata: {domain: docs}   # flow on purpose\n"
    path = write_existing(tmp_path, text)
    write_training_yaml_weights(tmp_path, {"domain": {"docs": 2.5}})
    assert path.read_text(encoding="utf-8") == text + "weights:\n  domain:\n    docs: 2.5\n"


def test_tag_values_that_yaml_would_retype_are_quoted(tmp_path):
    weights = {"generated": {"true": 0.25, "no": 2.0, "1": 1.5, "null": 0.0, "": 3.0}, "yes": {"on": 1e-5}}
    path = write_training_yaml_weights(tmp_path, weights)
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["weights"] == weights


def test_editing_entries_with_retyped_or_empty_tag_values(tmp_path):
    path = write_training_yaml_weights(tmp_path, {"generated": {"true": 0.25, "": 1.0}})
    write_training_yaml_weights(tmp_path, {"generated": {"true": 0.5, "": 1.0, "yes": 2.0}})
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["weights"] == {
        "generated": {"true": 0.5, "": 1.0, "yes": 2.0}
    }
    write_training_yaml_weights(tmp_path, {"generated": {"yes": 2.0}})
    assert read_training_yaml(tmp_path)["weights"] == {"generated": {"yes": 2.0}}


def test_the_sources_reader_accepts_what_the_editor_writes(tmp_path):
    """The walk of `training.sources` (sources.config) reads the file the editor wrote, unquoted tags and all."""
    import dlm_desktop.core.document.sources.config as config
    weights = {"generated": {"true": 0.25}, "domain": {"docs": 2.0}}
    path = write_existing(tmp_path)
    write_training_yaml_weights(tmp_path, weights)
    loaded, warnings = config.load_training_yaml(path)
    assert warnings == ()
    assert {k: dict(v) for k, v in loaded.weights.items()} == weights
    assert dict(loaded.metadata) == {"domain": "docs", "generated": "false"}


def test_the_weights_loader_and_the_editor_agree_on_the_file(tmp_path):
    import dlm_desktop.core.document.weights as weights_module
    for doc_dir in (tmp_path, tmp_path / "corpus" / ".dlm"):
        assert training_yaml_path(doc_dir) == weights_module.document_training_yaml(doc_dir)


def test_a_scaffolded_document_uses_the_training_yaml_beside_it(tmp_path):
    """`<folder>/.dlm/corpus.dlm` anchors at `<folder>`: its mix is `<folder>/.dlm/training.yaml`."""
    doc_dir = tmp_path / ".dlm"
    doc_dir.mkdir()
    assert training_yaml_path(doc_dir) == tmp_path / ".dlm" / "training.yaml"
    write_training_yaml_weights(doc_dir, {"section": {"prose": 2.0}})
    assert read_training_yaml(tmp_path)["weights"] == {"section": {"prose": 2.0}}


@pytest.mark.parametrize(
    "weights",
    [
        {"a": {"b": -0.5}},
        {"a": {"b": math.nan}},
        {"a": {"b": math.inf}},
        {"a": {"b": True}},
        {"a": {"b": "2"}},
        {"a": {"b": None}},
        {"a": [1.0]},
        {"a": {1: 1.0}},
        {3: {"b": 1.0}},
    ],
)
def test_invalid_weights_are_refused_and_nothing_is_written(tmp_path, weights):
    path = write_existing(tmp_path)
    with pytest.raises(WeightsError):
        write_training_yaml_weights(tmp_path, weights)
    assert path.read_text(encoding="utf-8") == EXISTING
    with pytest.raises(WeightsError):
        write_training_yaml_weights(tmp_path / "fresh", weights)
    assert not (tmp_path / "fresh").exists()


def test_a_broken_file_is_reported_with_its_line_and_left_alone(tmp_path):
    broken = "dlm_training_version: 1\nweights:\n  domain: {docs: 2.0\n"
    path = write_existing(tmp_path, broken)
    with pytest.raises(TrainingConfigError) as info:
        write_training_yaml_weights(tmp_path, {"domain": {"docs": 1.0}})
    assert info.value.line == 4 and info.value.path == path
    assert path.read_text(encoding="utf-8") == broken
    with pytest.raises(TrainingConfigError):
        read_training_yaml(tmp_path)


def test_a_non_mapping_file_is_reported(tmp_path):
    write_existing(tmp_path, "- just\n- a list\n")
    with pytest.raises(TrainingConfigError):
        read_training_yaml(tmp_path)


def test_empty_or_comment_only_file(tmp_path):
    path = write_existing(tmp_path, "# nothing yet\n")
    assert read_training_yaml(tmp_path) == {}
    write_training_yaml_weights(tmp_path, {"section": {"prose": 0.5}})
    assert path.read_text(encoding="utf-8") == "# nothing yet\nweights:\n  section:\n    prose: 0.5\n"


def test_reset_removes_only_the_weights_block(tmp_path):
    path = write_existing(tmp_path)
    reset_training_yaml_weights(tmp_path)
    after = path.read_text(encoding="utf-8")
    removed, added = diff(EXISTING, after)
    assert added == []
    assert removed == ["weights:", "  domain:", "    docs: 2.0       # the heart of it", "    code: 0.5", "  section:",
                       "    prose: 1.0"]
    assert "weights" not in read_training_yaml(tmp_path)
    reset_training_yaml_weights(tmp_path)
    assert path.read_text(encoding="utf-8") == after


def test_reset_without_a_file_does_nothing(tmp_path):
    reset_training_yaml_weights(tmp_path)
    assert not (tmp_path / ".dlm").exists()


def test_an_unchanged_mix_does_not_rewrite_the_file(tmp_path):
    path = write_existing(tmp_path)
    before = path.stat().st_mtime_ns
    path.chmod(0o444)
    write_training_yaml_weights(tmp_path, {"domain": {"docs": 2.0, "code": 0.5}, "section": {"prose": 1.0}})
    assert path.stat().st_mtime_ns == before
    assert path.read_text(encoding="utf-8") == EXISTING


def test_empty_mix_writes_an_empty_map(tmp_path):
    path = write_existing(tmp_path)
    write_training_yaml_weights(tmp_path, {})
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["weights"] == {}

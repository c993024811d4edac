"""Reading and editing the `weights:` block of a document's `.dlm/training.yaml` (the training-mix editor).

The file follows upstream's `DlmTrainingConfig` (Part B §2): `dlm_training_version: 1`, `include`,
`exclude`, `exclude_defaults`, `metadata`, `weights: {tag_key: {tag_value: float ≥ 0}}`. The mix editor owns
only `weights:`; everything else in the file, comments included, stays byte for byte (`yaml_splice`), and
unchanged weights keep their lines and comments too.

Which file: `<document dir>/.dlm/training.yaml` (SPEC A2.10). A document that itself lives in a `.dlm` folder
(the scaffolded `<folder>/.dlm/corpus.dlm`) anchors at the folder holding `.dlm`, as upstream resolves its
`training.sources` paths, so its mix is `<folder>/.dlm/training.yaml`: the root config of its own source.
"""

from __future__ import annotations

import math
from numbers import Real
from pathlib import Path

from dlm_desktop.core.document.errors import DocumentError, TrainingConfigError, WeightsError
from dlm_desktop.core.document.text import atomic_write_text, read_document_text
from dlm_desktop.core.document.yaml_render import BlockStyle, render_block_entry
from dlm_desktop.core.document.yaml_splice import YamlSource, load_yaml_mapping, remove_yaml_value, set_yaml_value

TRAINING_YAML_VERSION = 1
_CONFIG_DIR = ".dlm"
_FILE_NAME = "training.yaml"
_NEW_FILE_HEADER = "# Per-folder training settings (upstream dlm format); the training-mix editor writes `weights:`.\n"

Weights = dict[str, dict[str, float]]


def training_yaml_path(doc_dir: Path | str) -> Path:
    """`<doc_dir>/.dlm/training.yaml`, or `<doc_dir>/training.yaml` when `doc_dir` is itself a `.dlm` folder."""
    doc_dir = Path(doc_dir)
    if doc_dir.name == _CONFIG_DIR:
        return doc_dir / _FILE_NAME
    return doc_dir / _CONFIG_DIR / _FILE_NAME


def read_training_yaml(doc_dir: Path | str) -> dict:
    """The document's training.yaml as PyYAML loads it; `{}` when the file is missing or empty.

    Raises `TrainingConfigError` (with the line) when it does not parse or is not a mapping.
    """
    path = training_yaml_path(doc_dir)
    if not path.is_file():
        return {}
    return load_yaml_mapping(_read(path), _source(path))


def write_training_yaml_weights(doc_dir: Path | str, weights: Weights) -> Path:
    """Save the mix: make `weights:` in the document's training.yaml equal `weights`, atomically.

    Creates the file (with `dlm_training_version: 1`) when missing. Otherwise only the weights change: other
    keys, comments and the lines of weights whose value is unchanged stay as they are. Entries are written as
    given (a 1.0 weight is kept, not dropped). Raises `WeightsError` for a weight that is not a finite number
    ≥ 0 and `TrainingConfigError` when the existing file cannot be read; nothing is written then. Returns the
    file's path.
    """
    clean = _validated(weights)
    path = training_yaml_path(doc_dir)
    if not path.exists():
        _write(path, _new_file_text(clean))
        return path
    text = _read(path)
    edited = _sync_weights(text, clean, _source(path))
    if edited != text:
        _write(path, edited)
    return path


def reset_training_yaml_weights(doc_dir: Path | str) -> None:
    """Remove the `weights:` block (every row back to 1×); the rest of the file stays. No file: nothing to do."""
    path = training_yaml_path(doc_dir)
    if not path.exists():
        return
    text = _read(path)
    edited = remove_yaml_value(text, ("weights",), _source(path))
    if edited != text:
        _write(path, edited)


def _validated(weights: Weights) -> Weights:
    """Check the shape and values; return a plain copy with every weight as a float."""
    if not isinstance(weights, dict):
        raise WeightsError("weights must map tag keys to {tag value: weight}", fix="pass a dict of dicts")
    clean: Weights = {}
    for tag_key, by_value in weights.items():
        if not isinstance(tag_key, str) or not isinstance(by_value, dict):
            raise WeightsError(f"weights[{tag_key!r}] must map tag values to weights", fix="pass a dict of dicts")
        clean[tag_key] = {}
        for tag_value, weight in by_value.items():
            if not isinstance(tag_value, str):
                raise WeightsError(f"tag value {tag_value!r} under {tag_key!r} must be a string", fix="use text tags")
            if isinstance(weight, bool) or not isinstance(weight, Real) or not math.isfinite(weight) or weight < 0:
                raise WeightsError(
                    f"weights[{tag_key!r}][{tag_value!r}] is {weight!r}; a weight must be a finite number ≥ 0",
                    fix="use 0 to drop those rows, 1 to keep them as they are, 2 to see them twice",
                )
            clean[tag_key][tag_value] = float(weight)
    return clean


def _sync_weights(text: str, weights: Weights, source: YamlSource) -> str:
    """Edit `text` entry by entry until its `weights` equal `weights` (so untouched entries keep their lines)."""
    current = load_yaml_mapping(text, source).get("weights")
    if not _is_str_keyed(current) or not current or not weights:
        return set_yaml_value(text, ("weights",), weights, source)
    for tag_key, by_value in weights.items():
        existing = current.get(tag_key)
        if not _is_str_keyed(existing) or not existing or not by_value:
            text = set_yaml_value(text, ("weights", tag_key), by_value, source)
            continue
        for tag_value, weight in by_value.items():
            old = existing.get(tag_value)
            if type(old) is not float or old != weight:
                text = set_yaml_value(text, ("weights", tag_key, tag_value), weight, source)
        for tag_value in [v for v in existing if v not in by_value]:
            text = remove_yaml_value(text, ("weights", tag_key, tag_value), source)
    for tag_key in [k for k in current if k not in weights]:
        text = remove_yaml_value(text, ("weights", tag_key), source)
    return text


def _is_str_keyed(value: object) -> bool:
    """A dict whose keys are all strings (an unquoted `true:` key loads as a bool and cannot be addressed)."""
    return isinstance(value, dict) and all(isinstance(key, str) for key in value)


def _new_file_text(weights: Weights) -> str:
    lines = [f"dlm_training_version: {TRAINING_YAML_VERSION}", *render_block_entry("weights", weights, 0, BlockStyle())]
    return _NEW_FILE_HEADER + "\n".join(lines) + "\n"


def _read(path: Path) -> str:
    try:
        return read_document_text(path).text
    except DocumentError as exc:  # unreadable or not UTF-8: report it as this file's problem
        raise TrainingConfigError(
            exc.message, path=path, line=exc.line, fix="fix or delete this training.yaml"
        ) from exc


def _write(path: Path, text: str) -> None:
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise TrainingConfigError(
            f"cannot save the training mix: {reason}", path=path, fix="make the folder writable, then save again"
        ) from exc


def _source(path: Path) -> YamlSource:
    return YamlSource(TrainingConfigError, first_line=1, path=path)

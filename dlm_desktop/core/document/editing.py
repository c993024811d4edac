"""Changes the app makes to a document's text: frontmatter edits in place, and the editor's save.

The editor text is the source of truth (SPEC A2.2). When the app itself changes a setting it edits the YAML
between the `---` lines in place (`yaml_splice`): comments, key order, quoting, flow/block style and blank
lines of everything untouched stay byte for byte, and the body after the closing `---` is never touched.

This module is also the one import for the other editing entry points: `.dlm/training.yaml` weights
(`training_yaml_editing`), new ids (`ulid`) and new documents (`scaffold`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlm_desktop.core.document.errors import DocumentEncodingError, DocumentError, FrontmatterError
from dlm_desktop.core.document.scaffold import ScaffoldError, new_document_text, scaffold_folder_document
from dlm_desktop.core.document.text import atomic_write_text, normalize_newlines
from dlm_desktop.core.document.training_yaml_editing import (
    read_training_yaml,
    reset_training_yaml_weights,
    training_yaml_path,
    write_training_yaml_weights,
)
from dlm_desktop.core.document.ulid import new_dlm_id
from dlm_desktop.core.document.yaml_splice import YamlSource, load_yaml_mapping, remove_yaml_value, set_yaml_value

__all__ = [
    "ScaffoldError",
    "frontmatter_data",
    "new_dlm_id",
    "new_document_text",
    "read_training_yaml",
    "remove_frontmatter_value",
    "reset_training_yaml_weights",
    "save_document_text",
    "scaffold_folder_document",
    "set_frontmatter_value",
    "training_yaml_path",
    "write_training_yaml_weights",
]

_DELIMITER = "---"
# The frontmatter YAML starts on line 2 of the file, after the opening `---`.
_FRONTMATTER = YamlSource(FrontmatterError, first_line=2)


@dataclass(frozen=True)
class _Parts:
    """A document cut at its frontmatter: `"---\\n" + yaml + rest`, where `rest` starts at the closing `---`."""

    yaml: str
    rest: str


def set_frontmatter_value(text: str, key_path: tuple[str, ...], value: Any) -> str:
    """Return `text` with frontmatter `key_path` set to `value` (missing mappings are created).

    Only the lines of that value change; the body after the closing `---` stays byte-identical. The value is
    written so PyYAML (upstream's reader) loads exactly it: `set_frontmatter_value(t, ("training",
    "learning_rate"), 1e-4)` writes `learning_rate: 0.0001`. Raises `FrontmatterError` (with a line) when
    the frontmatter is missing or does not parse, or when a key on the path holds something other than a
    mapping.
    """
    parts = _split(text)
    return _join(parts, set_yaml_value(parts.yaml, tuple(key_path), value, _FRONTMATTER))


def remove_frontmatter_value(text: str, key_path: tuple[str, ...]) -> str:
    """Return `text` without frontmatter `key_path`; unchanged when the key is absent.

    A nested mapping left empty stays as `{}`. Raises `FrontmatterError` as `set_frontmatter_value` does.
    """
    parts = _split(text)
    return _join(parts, remove_yaml_value(parts.yaml, tuple(key_path), _FRONTMATTER))


def frontmatter_data(text: str) -> dict:
    """The frontmatter as upstream loads it (`yaml.safe_load`, YAML 1.1 rules), `{}` when empty."""
    return load_yaml_mapping(_split(text).yaml, _FRONTMATTER)


def save_document_text(path: Path | str, text: str) -> None:
    """The editor's save: write exactly `text` (UTF-8, LF line endings, no BOM) through an atomic replace.

    OS failures become a `DocumentError` naming the file and the fix; characters UTF-8 cannot hold (lone
    surrogates) become a `DocumentEncodingError` with their line, and nothing is written.
    """
    path = Path(path)
    normalized = normalize_newlines(text)
    try:
        normalized.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DocumentEncodingError(
            "the text holds a character UTF-8 cannot store",
            byte_offset=len(normalized[: exc.start].encode("utf-8", "surrogatepass")),
            path=path,
            line=normalized.count("\n", 0, exc.start) + 1,
            fix="delete or retype the character on that line",
        ) from exc
    try:
        atomic_write_text(path, normalized)
    except PermissionError as exc:
        raise DocumentError(
            "permission denied while saving", path=path, fix="save to a folder you can write to"
        ) from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DocumentError(f"cannot save: {reason}", path=path, fix="check the disk and the folder") from exc


def _split(text: str) -> _Parts:
    """Cut the frontmatter out as upstream does: line 1 is exactly `---`, the next `---` line closes it."""
    lines = text.split("\n")
    if lines[0] != _DELIMITER:
        fix = "put a line with exactly `---` first"
        if lines[0].rstrip("\r") == _DELIMITER:
            fix = "normalize the line endings to LF first (read_document_text does)"
        raise FrontmatterError("the document must start with a `---` line", line=1, fix=fix)
    for index in range(1, len(lines)):
        if lines[index] == _DELIMITER:
            yaml_lines = lines[1:index]
            yaml_text = "\n".join(yaml_lines) + "\n" if yaml_lines else ""
            return _Parts(yaml_text, "\n".join(lines[index:]))
    raise FrontmatterError(
        "no closing `---` line after the frontmatter",
        line=1,
        fix="add a line with exactly `---` after the settings",
    )


def _join(parts: _Parts, new_yaml: str) -> str:
    if new_yaml and not new_yaml.endswith("\n"):
        new_yaml += "\n"
    text = _DELIMITER + "\n" + new_yaml + parts.rest
    if _split(text).rest != parts.rest:  # a `---` line in the new YAML would move the body: never write that
        raise FrontmatterError(
            "the edit would end the frontmatter early", line=1, fix="edit this setting by hand"
        )
    return text

"""New documents: the one scaffolded when a folder is dropped on the app, and "New from template".

Both are written as text with comments (not serialized from data), so the user opens a file that explains
itself. Values go through `yaml_render`, so what PyYAML reads back is exactly what was meant.
"""

from __future__ import annotations

import os
from pathlib import Path

from dlm_desktop.core.document.errors import DocumentError
from dlm_desktop.core.document.text import atomic_write_text
from dlm_desktop.core.document.ulid import new_dlm_id
from dlm_desktop.core.document.yaml_render import BlockStyle, render_block_entry, render_inline, render_string

CURRENT_DLM_VERSION = 15
DEFAULT_BASE_MODEL = "smollm2-135m"
SCAFFOLD_DIR = ".dlm"
SCAFFOLD_NAME = "corpus.dlm"

# Relative source paths of a document kept in a `.dlm` folder resolve from the folder that holds `.dlm`
# (upstream's `expand_sources` does the same), so "." is the dropped folder itself.
SCAFFOLD_SOURCE_PATH = "."
SCAFFOLD_INCLUDE = ("**/*",)
SCAFFOLD_EXCLUDE = (".dlm/**", "**/.dlm/**", ".git/**", "**/.DS_Store", "**/Thumbs.db")


class ScaffoldError(DocumentError):
    """A folder cannot get a scaffolded document (not a folder, not writable, or one is already there)."""


def scaffold_folder_document(
    folder: Path | str, base_model: str = DEFAULT_BASE_MODEL, *, exist_ok: bool = False
) -> Path:
    """Create `<folder>/.dlm/corpus.dlm`, a document that trains on the files of `folder`, and return its path.

    The document gets a fresh `dlm_id`, `dlm_version: 15`, `base_model` and one `training.sources` directive
    covering the folder (`.dlm/**` and VCS metadata excluded). When the file already exists, `exist_ok=True`
    returns it untouched; otherwise `ScaffoldError`. A folder that is missing, not a directory or not
    writable is a `ScaffoldError` too, and nothing is written.
    """
    folder = Path(folder)
    target = folder / SCAFFOLD_DIR / SCAFFOLD_NAME
    _check_folder(folder)
    if target.exists() or target.is_symlink():
        if exist_ok and target.is_file():
            return target
        raise ScaffoldError(
            "this folder already has a scaffolded document",
            path=target,
            fix="open that document instead, or move it away to start over",
        )
    text = _scaffold_text(new_dlm_id(), _checked_base(base_model))
    try:
        atomic_write_text(target, text)
    except OSError as exc:
        raise ScaffoldError(
            f"cannot write the document: {exc.strerror or exc}", path=target, fix="make the folder writable"
        ) from exc
    return target


def new_document_text(base_model: str = DEFAULT_BASE_MODEL, system_prompt: str | None = None) -> str:
    """The text of a new, valid document: commented frontmatter, a prose paragraph and one Q/A example."""
    lines = [
        "---",
        "# Settings (YAML) sit between the two --- lines; everything below them is what the model learns.",
        f"dlm_id: {render_string(new_dlm_id())}",
        f"dlm_version: {CURRENT_DLM_VERSION}",
        "# The model to fine-tune: a registry name, or hf:<org>/<name> for a Hugging Face model.",
        f"base_model: {render_string(_checked_base(base_model))}",
    ]
    if system_prompt is None:
        lines.append("# system_prompt: You are a concise assistant.   # used in chat and in the exported Modelfile")
    else:
        lines += render_block_entry("system_prompt", system_prompt, 0, BlockStyle())
    lines += _TEMPLATE_TRAINING
    return "\n".join(lines) + "\n" + _TEMPLATE_BODY


_TEMPLATE_TRAINING = [
    "training:",
    "  lora_r: 8              # adapter rank: higher learns more detail and needs more memory",
    "  lora_alpha: 16         # adapter strength, usually twice lora_r",
    "  learning_rate: 0.0002  # step size: lower it if the loss curve jumps around",
    "  num_epochs: 3          # passes over the document",
    "  sequence_len: 2048     # longest example the model sees, in tokens",
    "  seed: 42               # same seed and text, same result",
    "---",
]

_TEMPLATE_BODY = """
# My notes

Write what the model should absorb here, as ordinary prose. Every paragraph outside a fence is used
for continued pretraining, so facts, names and the way you phrase things all count.

::instruction::
### Q
What is this document for?
### A
It teaches a small local language model the facts and the tone written in it.
"""


def _scaffold_text(dlm_id: str, base_model: str) -> str:
    lines = [
        "---",
        "# DLM Desktop made this document when the folder was dropped on it: it trains the model on the",
        "# text files of that folder. The files are read at training time; add prose or ::instruction::",
        "# examples below the closing --- line to teach more.",
        f"dlm_id: {render_string(dlm_id)}",
        f"dlm_version: {CURRENT_DLM_VERSION}",
        f"base_model: {render_string(base_model)}",
        "training:",
        "  # strict: never read files outside the folder, not even through symbolic links",
        "  sources_policy: strict",
        "  sources:",
        '    # "." is the dropped folder (paths are relative to the folder that holds .dlm)',
        f'    - path: "{SCAFFOLD_SOURCE_PATH}"',
        f"      include: {render_inline(list(SCAFFOLD_INCLUDE))}",
        f"      exclude: {render_inline(list(SCAFFOLD_EXCLUDE))}",
        "---",
        "",
    ]
    return "\n".join(lines)


def _checked_base(base_model: str) -> str:
    if not isinstance(base_model, str) or not base_model.strip():
        raise ScaffoldError("the base model name is empty", fix="pick a base model, e.g. smollm2-135m")
    return base_model


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise ScaffoldError(f"{what}", path=folder, fix="drop a folder (or a .dlm file) on the window")
    config_dir = folder / SCAFFOLD_DIR
    if config_dir.exists() and not config_dir.is_dir():
        raise ScaffoldError(
            "holds a file named .dlm, where the document folder should go", path=folder, fix="rename that file"
        )
    writable_dir = config_dir if config_dir.is_dir() else folder
    if not os.access(writable_dir, os.W_OK | os.X_OK):
        raise ScaffoldError("is not writable", path=writable_dir, fix="pick a folder you can write to")

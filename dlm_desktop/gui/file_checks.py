"""Deciding what a dropped or opened path is, and reading a document for the editor without surprises.

Everything a user can drop on the window ends here: a `.dlm` file (opened), a folder (scaffolded into
`<folder>/.dlm/corpus.dlm`, then opened) or anything else (an `OpenProblem` saying what is wrong and what to
do). Nothing here blocks on special files (FIFOs, devices) or reads more than the size cap. Qt-free.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from dlm_desktop.core.document.editing import ScaffoldError, scaffold_folder_document
from dlm_desktop.core.document.errors import DocumentEncodingError
from dlm_desktop.core.document.scaffold import SCAFFOLD_DIR, SCAFFOLD_NAME
from dlm_desktop.core.document.text import decode_document_bytes

DOCUMENT_SUFFIX = ".dlm"
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
PLAIN_EDITING_CHARS = 2_000_000  # above this the editor drops syntax colours (they double the load time)
_SNIFF_BYTES = 8192
_TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".rst", ".text", ".csv", ".json", ".html", ".py"})
_MAGIC = (
    (b"%PDF", "a PDF file"),
    (b"PK\x03\x04", "a ZIP archive (or a Word/Excel file)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"GGUF", "a GGUF model file"),
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class OpenProblem:
    """Why a path cannot be opened, in words for someone who does not program."""

    message: str
    fix: str
    path: Path | None = None

    def text(self) -> str:
        name = f"“{self.path.name}”" if self.path is not None and self.path.name else "This"
        return f"{name} {self.message}"


class OpenProblemError(Exception):
    """Raised with the `OpenProblem` to show."""

    def __init__(self, problem: OpenProblem) -> None:
        super().__init__(problem.text())
        self.problem = problem


@dataclass(frozen=True)
class LoadedDocument:
    """A document's text as the editor holds it (LF line endings, no BOM) and what reading it changed."""

    path: Path
    text: str
    notes: tuple[str, ...] = ()


def _fail(path: Path | None, message: str, fix: str) -> OpenProblemError:
    return OpenProblemError(OpenProblem(message, fix, path))


def resolve_document_path(path: Path) -> Path:
    """The document to open for a dropped/opened `path`: the file itself, or a folder's scaffolded document."""
    info = _stat_or_fail(path)
    if stat.S_ISDIR(info.st_mode):
        return _folder_document(path)
    if not stat.S_ISREG(info.st_mode):
        raise _fail(path, "is not a regular file (a device, pipe or socket).", "Drop a .dlm document or a folder.")
    if path.suffix.lower() != DOCUMENT_SUFFIX:
        raise _wrong_kind(path)
    return path


def _stat_or_fail(path: Path) -> os.stat_result:
    try:
        path.lstat()
    except FileNotFoundError:
        raise _fail(path, "no longer exists.", "Check that it was not moved or deleted, then drop it again.")
    except OSError as exc:
        raise _fail(path, f"cannot be looked at ({exc.strerror}).", "Check the file's permissions.")
    try:
        return path.stat()
    except FileNotFoundError:
        raise _fail(path, "is a shortcut (link) to something that no longer exists.", "Drop the real file instead.")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _fail(path, "is a shortcut (link) that points to itself.", "Drop the real file instead.")
        raise _fail(path, f"cannot be looked at ({exc.strerror}).", "Check the file's permissions.")


def _wrong_kind(path: Path) -> OpenProblemError:
    suffix = path.suffix.lower()
    if path.name == "training.yaml":
        return _fail(path, "holds training-mix settings, not a document.", "Drop the .dlm document next to it.")
    if suffix in _TEXT_SUFFIXES:
        return _fail(
            path,
            "is not a .dlm document.",
            "To train on text files, drop the folder that holds them: DLM Desktop makes a document for it.",
        )
    kind = f"a “{suffix}” file" if suffix else "a file without an extension"
    return _fail(path, f"is {kind}, not a .dlm document.", "Drop a file whose name ends in .dlm, or a folder.")


def _folder_document(folder: Path) -> Path:
    if not os.access(folder, os.R_OK | os.X_OK):
        raise _fail(folder, "is a folder you do not have permission to read.", "Pick a folder you can open.")
    if folder.name == SCAFFOLD_DIR:
        inside = folder / SCAFFOLD_NAME
        if inside.is_file():
            return inside
        raise _fail(folder, "is a DLM settings folder.", "Drop the folder that contains it instead.")
    try:
        return scaffold_folder_document(folder, exist_ok=True)
    except ScaffoldError as exc:
        reason = exc.message if exc.message.startswith("this ") else f"it {exc.message}"
        fix = exc.fix or "pick a folder you can write to"
        raise _fail(folder, f"cannot get a document: {reason}.", fix[:1].upper() + fix[1:] + ".")


def read_document_for_editor(path: Path) -> LoadedDocument:
    """Read a `.dlm` file as editor text. Raises `OpenProblemError` for anything that is not usable text.

    Text that is valid UTF-8 but not a valid document (bad YAML, unknown fences) opens: the editor shows its
    problems and the user fixes them there.
    """
    raw = _read_capped(path)
    if not raw:
        raise _fail(path, "is empty.", "Use File › New to start from a template, or drop a document with text in it.")
    _check_text_like(path, raw[:_SNIFF_BYTES])
    try:
        decoded = decode_document_bytes(raw, path=path)
    except DocumentEncodingError as exc:
        raise _fail(
            path,
            f"is not UTF-8 text (line {exc.line}, byte {exc.byte_offset}).",
            "Save it as UTF-8 in your text editor (most have an “Encoding: UTF-8” option).",
        )
    notes = []
    if decoded.had_bom:
        notes.append("the invisible byte-order mark at the start will not be saved back")
    if decoded.had_crlf:
        notes.append("Windows line endings will be saved as plain line feeds")
    if len(decoded.text) > PLAIN_EDITING_CHARS:
        notes.append("the document is large, so the editor shows it without colours to keep typing fast")
    return LoadedDocument(path, decoded.text, tuple(notes))


def _read_capped(path: Path) -> bytes:
    try:
        info = path.stat()
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror}).", "Check that the file still exists.")
    if not stat.S_ISREG(info.st_mode):
        raise _fail(path, "is not a regular file.", "Drop a .dlm document or a folder.")
    if info.st_size > MAX_DOCUMENT_BYTES:
        megabytes = info.st_size / (1024 * 1024)
        raise _fail(
            path,
            f"is too large to edit ({megabytes:.0f} MB; the limit is {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB).",
            "Split it, or put the text files in a folder and drop the folder.",
        )
    if not os.access(path, os.R_OK):
        raise _fail(path, "cannot be read: permission denied.", "Make the file readable (or copy it), then drop it again.")
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_DOCUMENT_BYTES + 1)
    except PermissionError:
        raise _fail(path, "cannot be read: permission denied.", "Make the file readable (or copy it), then drop it again.")
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror or exc}).", "Check the disk, then try again.")


def _check_text_like(path: Path, head: bytes) -> None:
    if head.startswith(_UTF16_BOMS):
        raise _fail(path, "is saved as UTF-16 text.", "Save it again as UTF-8 in your text editor.")
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            raise _fail(path, f"is {kind}, not a text document.", "Drop a .dlm text document.")
    if b"\x00" in head:
        raise _fail(path, "is a binary file, not a text document.", "Drop a .dlm text document.")

"""Every kind of bad thing a user can drop gives a clear message, and the open document is left alone.

Documents that are text but not valid (bad YAML, unknown fences, ...) open: the editor shows the error on its
line, so the user can fix it there.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl

from dlm_desktop.gui.file_checks import MAX_DOCUMENT_BYTES
from tests.gui.gui_helpers import GOOD_DOCUMENT, drop_paths, drop_urls, open_and_check

HEAD = "---\ndlm_id: 01JDXMDESKTQPEXAMP1E000009\ndlm_version: 15\nbase_model: smollm2-135m\n---\n"


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _binary(tmp: Path) -> Path:
    return _write(tmp / "weights.dlm", b"\x01\x02\x00\x00garbage\x00" * 20)


def _empty(tmp: Path) -> Path:
    return _write(tmp / "empty.dlm", b"")


def _huge(tmp: Path) -> Path:
    path = tmp / "huge.dlm"
    with open(path, "wb") as handle:
        handle.truncate(MAX_DOCUMENT_BYTES + 1)  # sparse: no 20 MB written to disk
    return path


def _text_file(tmp: Path) -> Path:
    return _write(tmp / "notes.txt", "Some notes.\n")


def _png_renamed(tmp: Path) -> Path:
    return _write(tmp / "photo.dlm", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)


def _pdf(tmp: Path) -> Path:
    return _write(tmp / "manual.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")


def _latin1(tmp: Path) -> Path:
    return _write(tmp / "latin.dlm", (HEAD + "Caf\xe9 cr\xe8me\n").encode("latin-1"))


def _utf16(tmp: Path) -> Path:
    return _write(tmp / "wide.dlm", (HEAD + "hello\n").encode("utf-16"))


def _unreadable(tmp: Path) -> Path:
    path = _write(tmp / "secret.dlm", GOOD_DOCUMENT)
    path.chmod(0)
    return path


def _unreadable_folder(tmp: Path) -> Path:
    folder = tmp / "locked"
    _write(folder / "a.txt", "text\n")
    folder.chmod(0)
    return folder


def _read_only_folder(tmp: Path) -> Path:
    folder = tmp / "read-only"
    _write(folder / "a.txt", "text\n")
    folder.chmod(0o555)
    return folder


def _broken_symlink(tmp: Path) -> Path:
    link = tmp / "gone.dlm"
    link.symlink_to(tmp / "does-not-exist.dlm")
    return link


def _symlink_loop(tmp: Path) -> Path:
    link = tmp / "loop.dlm"
    link.symlink_to(link)
    return link


def _vanished(tmp: Path) -> Path:
    path = _write(tmp / "vanished.dlm", GOOD_DOCUMENT)
    path.unlink()  # moved away between the drag and the drop
    return path


def _fifo(tmp: Path) -> Path:
    path = tmp / "pipe.dlm"
    os.mkfifo(path)
    return path


def _training_yaml(tmp: Path) -> Path:
    return _write(tmp / ".dlm" / "training.yaml", "dlm_training_version: 1\n")


def _no_extension(tmp: Path) -> Path:
    return _write(tmp / "README", "words\n")


def _settings_folder(tmp: Path) -> Path:
    folder = tmp / "project" / ".dlm"
    _write(folder / "training.yaml", "dlm_training_version: 1\n")
    return folder


def _folder_with_dlm_file(tmp: Path) -> Path:
    folder = tmp / "odd"
    _write(folder / ".dlm", "I am a file, not a folder\n")
    return folder


def _zip_renamed(tmp: Path) -> Path:
    path = tmp / "archive.dlm"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.txt", "hello")
    return path


REFUSED = [
    ("binary", _binary, "binary file"),
    ("empty", _empty, "is empty"),
    ("huge", _huge, "too large"),
    ("text file", _text_file, "drop the folder"),
    ("png renamed", _png_renamed, "PNG image"),
    ("pdf", _pdf, "“.pdf” file"),
    ("latin-1", _latin1, "not UTF-8"),
    ("utf-16", _utf16, "UTF-16"),
    ("unreadable file", _unreadable, "permission denied"),
    ("unreadable folder", _unreadable_folder, "permission to read"),
    ("read-only folder", _read_only_folder, "not writable"),
    ("broken symlink", _broken_symlink, "no longer exists"),
    ("symlink loop", _symlink_loop, "points to itself"),
    ("vanished", _vanished, "no longer exists"),
    ("fifo", _fifo, "not a regular file"),
    ("training.yaml", _training_yaml, "training-mix settings"),
    ("no extension", _no_extension, "without an extension"),
    ("settings folder", _settings_folder, "DLM settings folder"),
    ("folder holding a .dlm file", _folder_with_dlm_file, "file named .dlm"),
    ("zip renamed", _zip_renamed, "ZIP archive"),
]


@pytest.mark.parametrize("make", [case[1] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_bad_drop_gives_a_message_and_keeps_the_open_document(
    qtbot, window, good_document, tmp_path, permissions_enforced, make
):
    expected = next(case[2] for case in REFUSED if case[1] is make)
    open_and_check(qtbot, window, good_document)
    window.editor.appendPlainText("unsaved words")
    (tmp_path / "drops").mkdir()
    bad = make(tmp_path / "drops")
    try:
        entered, _ = drop_paths(window, bad)
    finally:
        _restore_permissions(tmp_path / "drops")
    assert entered
    assert window.banner.severity() == "error"
    assert expected.lower() in window.banner.text().lower(), window.banner.text()
    assert window.session.path == good_document
    assert window.editor.toPlainText().endswith("unsaved words")
    assert window.session.is_modified()


def test_a_url_that_is_not_a_file_gives_a_message(window):
    drop_urls(window, [QUrl("ftp://example.com/notes.dlm")])
    assert "on this computer" in window.banner.text()


BROKEN_TEXT = [
    ("bad yaml", "---\ndlm_id: [\nbase_model: x\n---\nBody\n", 3, "invalid YAML"),
    ("unknown fence", HEAD + "Intro.\n\n::summary::\nText\n", 8, "unknown section fence"),
    ("no frontmatter", "Just some words.\n", 1, "must be '---'"),
    ("question without answer", HEAD + "::instruction::\n### Q\nWhy?\n", 8, "has no '### A'"),
    ("unknown setting", HEAD.replace("base_model", "colour: blue\nbase_model"), 4, "unknown setting"),
    ("unclosed frontmatter", "---\ndlm_id: 01JDXMDESKTQPEXAMP1E000009\nbase_model: smollm2-135m\n", 1, "---"),
]


@pytest.mark.parametrize("text,line,phrase", [c[1:] for c in BROKEN_TEXT], ids=[c[0] for c in BROKEN_TEXT])
def test_a_broken_document_opens_with_its_error_on_the_line(qtbot, window, tmp_path, text, line, phrase):
    path = _write(tmp_path / "broken.dlm", text)
    with qtbot.waitSignal(window.document_checked, timeout=10_000) as blocker:
        drop_paths(window, path)
    result = blocker.args[0]
    assert window.session.path == path
    assert result.report is None
    error = result.errors[0]
    assert error.line == line and phrase in error.message, error
    assert error.fix
    assert any(phrase in text for text in window.strip.texts())
    assert any("Fix:" in text for text in window.strip.texts())


def _restore_permissions(root: Path) -> None:
    """Let pytest clean the temporary folder up."""
    if not root.exists():
        return
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            target = Path(folder) / name
            if not target.is_symlink():
                target.chmod(0o755)
    for name in os.listdir(root):
        target = root / name
        if target.is_dir() and not target.is_symlink():
            target.chmod(0o755)

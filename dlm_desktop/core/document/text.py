"""Reading and writing document text: strict UTF-8, BOM removal, LF line endings, atomic replacement."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dlm_desktop.core.document.errors import DocumentEncodingError

_BOM = "\ufeff"


@dataclass(frozen=True)
class DecodedText:
    """Decoded document text plus what decoding had to change (shown to the user as warnings)."""

    text: str
    had_bom: bool = False
    had_crlf: bool = False


def normalize_newlines(text: str) -> str:
    """Drop a leading BOM, then CRLF → LF, then any lone CR → LF (the form section ids are hashed over)."""
    if text.startswith(_BOM):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_document_bytes(raw: bytes, *, path: Path | str | None = None) -> DecodedText:
    """Decode strict UTF-8, strip one BOM, normalize line endings. Bad bytes raise with their offset."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DocumentEncodingError(
            f"not valid UTF-8 at byte {exc.start}: {exc.reason}",
            byte_offset=exc.start,
            path=path,
            line=line,
            fix="save the file as UTF-8 text (most editors have an 'Encoding: UTF-8' option)",
        ) from exc
    had_bom = text.startswith(_BOM)
    if had_bom:
        text = text[1:]
    had_crlf = "\r" in text
    return DecodedText(text.replace("\r\n", "\n").replace("\r", "\n"), had_bom, had_crlf)


def read_document_text(path: Path | str) -> DecodedText:
    """Read a file and decode it as document text. OS errors become a typed, fixable error."""
    from dlm_desktop.core.document.errors import DocumentError

    path = Path(path)
    try:
        raw = path.read_bytes()
    except IsADirectoryError as exc:
        raise DocumentError(
            "is a folder, not a .dlm file", path=path, fix="open a .dlm file, or drop the folder to scaffold one"
        ) from exc
    except FileNotFoundError as exc:
        raise DocumentError("file not found", path=path, fix="check the path") from exc
    except PermissionError as exc:
        raise DocumentError("permission denied", path=path, fix="make the file readable") from exc
    except OSError as exc:
        raise DocumentError(f"cannot read file: {exc.strerror or exc}", path=path, fix="check the file") from exc
    return decode_document_bytes(raw, path=path)


def _current_umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and an atomic rename.

    A crash at any moment leaves either the old file or the new one, never a mix. The file keeps the mode of
    the file it replaces; a new file gets the usual mode for new files (0666 less the umask), not the
    owner-only mode of the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_current_umask())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write text as UTF-8 with LF line endings and no BOM, atomically."""
    atomic_write_bytes(path, normalize_newlines(text).encode("utf-8"))

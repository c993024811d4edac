"""Parse `.dlm` text into a validated frontmatter and its body sections (no rows, no source files yet)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from dlm_desktop.core.document.body import tokenize_body
from dlm_desktop.core.document.errors import DocumentError
from dlm_desktop.core.document.frontmatter import split_frontmatter, validate_frontmatter
from dlm_desktop.core.document.schema import Frontmatter
from dlm_desktop.core.document.sections import Section
from dlm_desktop.core.document.text import DecodedText, decode_document_bytes, read_document_text


@dataclass(frozen=True)
class DocumentWarning:
    """Something the user should know that does not stop the document from working."""

    message: str
    line: int = 0
    path: Path | None = None

    def one_line(self) -> str:
        where = str(self.path) if self.path else "<text>"
        return f"{where}:{self.line}: {self.message}" if self.line else f"{where}: {self.message}"


@dataclass(frozen=True)
class ParsedDocument:
    """A parsed document: frontmatter, the sections written in its body, and decoding/fence warnings."""

    frontmatter: Frontmatter
    sections: tuple[Section, ...]
    path: Path | None = None
    warnings: tuple[DocumentWarning, ...] = ()
    body_start_line: int = 0
    frontmatter_text: str = ""  # the YAML between the delimiters, to point errors at a setting's line


def parse_text(text: str, *, path: Path | str | None = None) -> ParsedDocument:
    """Parse already-decoded text (LF line endings). Raises only `DocumentError` subclasses."""
    path = Path(path) if path is not None else None
    try:
        block = split_frontmatter(text, path=path)
        frontmatter = validate_frontmatter(block.yaml_text, path=path)
        body = tokenize_body(block.body, body_start_line=block.body_start_line, path=path)
    except DocumentError as exc:
        raise exc.with_path(path)
    except RecursionError as exc:  # pathological nesting; never let it escape untyped
        raise DocumentError("the document is nested too deeply to read", path=path, fix="simplify it") from exc
    warnings = tuple(DocumentWarning(message, line, path) for line, message in body.warnings)
    return ParsedDocument(frontmatter, body.sections, path, warnings, block.body_start_line, block.yaml_text)


def parse_decoded(decoded: DecodedText, *, path: Path | str | None = None) -> ParsedDocument:
    """Parse decoded text and add the decoding warnings (BOM removed, CRLF line endings)."""
    parsed = parse_text(decoded.text, path=path)
    extra = []
    if decoded.had_bom:
        extra.append(DocumentWarning("a UTF-8 byte-order mark at the start of the file was ignored", 1, parsed.path))
    if decoded.had_crlf:
        extra.append(DocumentWarning("Windows (CRLF) or CR line endings were read as LF", 0, parsed.path))
    if not extra:
        return parsed
    return dataclasses.replace(parsed, warnings=tuple(extra) + parsed.warnings)


def parse_bytes(raw: bytes, *, path: Path | str | None = None) -> ParsedDocument:
    """Decode (strict UTF-8, BOM, line endings) and parse."""
    return parse_decoded(decode_document_bytes(raw, path=path), path=path)


def parse_file(path: Path | str) -> ParsedDocument:
    """Read and parse a `.dlm` file."""
    return parse_decoded(read_document_text(path), path=path)

"""Sections: the typed pieces of a document body, and their content-addressed ids."""

from __future__ import annotations

import hashlib
from functools import cached_property
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Mapping

from dlm_desktop.core.document.text import normalize_newlines

_NO_TAGS: Mapping[str, str] = MappingProxyType({})


class SectionType(str, Enum):
    """The five fence types of the `.dlm` format (their values are the fence names)."""

    PROSE = "prose"
    INSTRUCTION = "instruction"
    PREFERENCE = "preference"
    IMAGE = "image"
    AUDIO = "audio"

    @property
    def is_media(self) -> bool:
        return self in (SectionType.IMAGE, SectionType.AUDIO)


@dataclass(frozen=True)
class Section:
    """One body section.

    `start_line` (1-based) is the fence line, or the first body line for leading prose. `adapter` is the `#name`
    routing suffix. Neither they, nor `tags`, nor the provenance markers take part in `section_id`: moving or
    re-routing a section is not a change of content.
    """

    type: SectionType
    content: str
    start_line: int = 0
    adapter: str | None = None
    tags: Mapping[str, str] = field(default_factory=lambda: _NO_TAGS)
    # provenance markers (`<!-- dlm-auto-... -->` lines lifted out of the content)
    markers: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    # media fences (`::image path="..." alt="..."::`, `::audio path="..." transcript="..."::`)
    media_path: str | None = None
    media_alt: str | None = None
    media_transcript: str | None = None
    media_blob_sha: str | None = None
    # 1-based line of the first content line (after the fence and any lifted markers); for error messages
    content_line: int = 0

    @cached_property
    def section_id(self) -> str:
        """16 lowercase hex characters of sha256(type, newline, normalized content) (media: path [, blob sha])."""
        return compute_section_id(self.type, self.content, self.media_path, self.media_blob_sha)


def compute_section_id(
    section_type: SectionType,
    content: str,
    media_path: str | None = None,
    media_blob_sha: str | None = None,
) -> str:
    """The upstream-compatible section id (see SPEC-upstream §1.7)."""
    digest = hashlib.sha256()
    digest.update(section_type.value.encode("utf-8") + b"\n")
    if section_type.is_media:
        digest.update((media_path or "").encode("utf-8"))
        if media_blob_sha is not None:
            digest.update(b"\n" + media_blob_sha.encode("utf-8"))
    else:
        digest.update(normalize_newlines(content).encode("utf-8"))
    return digest.hexdigest()[:16]

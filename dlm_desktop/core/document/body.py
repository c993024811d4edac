"""Split a document body into sections at its `::fence::` lines.

Rules (SPEC-upstream §1.5): a line starting with three backticks toggles a code block, inside which nothing is a
fence; outside, a fence is a line matching a fence form *exactly* (no stripping: `::instruction:: ` with a
trailing space is ordinary content, which we flag with a warning); whitespace-only prose is dropped; provenance
marker comments at the top of instruction/preference sections are lifted out of the content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from dlm_desktop.core.document.errors import FenceError
from dlm_desktop.core.document.markers import lift_markers
from dlm_desktop.core.document.schema import ADAPTER_NAME_PATTERN
from dlm_desktop.core.document.sections import Section, SectionType

_NAMED_FENCE = re.compile(r"::([A-Za-z0-9_#-]+)::")
_ATTRIBUTE_FENCE = re.compile(r'::([a-z][a-z0-9_]*)((?:\s+[a-z][a-z0-9_]*="[^"\n]*")+)\s*::')
_ATTRIBUTE_PAIR = re.compile(r'([a-z][a-z0-9_]*)="([^"\n]*)"')
_LOOKS_LIKE_FENCE = re.compile(r"\s*::[^:\s][^\n]*::\s*")
# type → (required attributes, allowed attributes)
_MEDIA_ATTRIBUTES = {
    "image": (frozenset({"path"}), frozenset({"path", "alt"})),
    "audio": (frozenset({"path", "transcript"}), frozenset({"path", "transcript"})),
}
_VALID_TYPES = [kind.value for kind in SectionType]


@dataclass
class _OpenSection:
    type: SectionType = SectionType.PROSE
    adapter: str | None = None
    start_line: int = 0
    lines: list[str] = field(default_factory=list)
    media: dict[str, str] = field(default_factory=dict)
    fenced: bool = False  # opened by a fence line (the content starts on the next line)


@dataclass(frozen=True)
class BodyResult:
    sections: tuple[Section, ...]
    warnings: tuple[tuple[int, str], ...]  # (line, message)


def tokenize_body(body: str, *, body_start_line: int, path: Path | None = None) -> BodyResult:
    """Cut the body into sections; raises `FenceError` on a malformed fence or marker."""
    if body.startswith("\n"):
        body, body_start_line = body[1:], body_start_line + 1
    if body.endswith("\n"):
        body = body[:-1]
    lines = body.split("\n") if body else []
    sections: list[Section] = []
    warnings: list[tuple[int, str]] = []
    current = _OpenSection(start_line=body_start_line)
    in_code = False
    copied = 0  # lines before this index are already in a section
    # Only code-fence lines and lines containing '::' can change state; plain lines are copied in bulk.
    for offset in [i for i, line in enumerate(lines) if "::" in line or line.startswith("```")]:
        line, number = lines[offset], body_start_line + offset
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        opened = _open_fence(line, number, path) if line.startswith("::") else None
        if opened is not None:
            current.lines.extend(lines[copied:offset])
            copied = offset + 1
            _close(current, sections, path)
            current = opened
        elif _LOOKS_LIKE_FENCE.fullmatch(line) and line != line.strip():
            warnings.append((number, "this line looks like a fence but has spaces around it, so it is text"))
    current.lines.extend(lines[copied:])
    if in_code:
        raise FenceError(
            "a ``` code block is never closed",
            path=path,
            line=current.start_line,
            fix="add a closing ``` line at the end of the code block",
        )
    _close(current, sections, path)
    return BodyResult(tuple(sections), tuple(warnings))


def _open_fence(line: str, number: int, path: Path | None) -> _OpenSection | None:
    """The section a fence line opens, or None when the line is not a fence."""
    match = _ATTRIBUTE_FENCE.fullmatch(line)
    if match:
        kind, attributes = _media_fence(match, number, path)
        return _OpenSection(type=kind, start_line=number, media=attributes, fenced=True)
    match = _NAMED_FENCE.fullmatch(line)
    if not match:
        return None
    kind, adapter = _named_fence(match.group(1), number, path)
    if kind.value in _MEDIA_ATTRIBUTES:
        raise FenceError(
            f"'::{match.group(1)}::' needs attributes",
            path=path,
            line=number,
            col=1,
            fix=f'write it as ::{kind.value} path="file"' + (' transcript="..."' if kind.value == "audio" else "") + "::",
        )
    return _OpenSection(type=kind, adapter=adapter, start_line=number, fenced=True)


def _named_fence(name: str, number: int, path: Path | None) -> tuple[SectionType, str | None]:
    base, has_suffix, adapter = name.partition("#")
    if has_suffix and not adapter:
        raise FenceError(
            f"'::{name}::' has an empty adapter name after '#'",
            path=path, line=number, col=1,
            fix=f"write ::{base}#name:: with an adapter declared under training.adapters, or drop the '#'",
        )
    if has_suffix and not ADAPTER_NAME_PATTERN.fullmatch(adapter):
        raise FenceError(
            f"'::{name}::' has an invalid adapter name {adapter!r}",
            path=path, line=number, col=1 + len(base) + 3,
            fix="adapter names start with a lowercase letter, then lowercase letters, digits or _ (max 32)",
        )
    try:
        kind = SectionType(base)
    except ValueError:
        raise FenceError(
            f"unknown section fence '::{name}::'",
            path=path, line=number, col=1,
            fix=f"use one of {', '.join('::' + t + '::' for t in _VALID_TYPES[:3])} (lowercase)",
        ) from None
    return kind, adapter or None


def _media_fence(match: re.Match[str], number: int, path: Path | None) -> tuple[SectionType, dict[str, str]]:
    name, blob = match.group(1), match.group(2)
    if name not in _VALID_TYPES:
        raise FenceError(
            f"unknown attribute fence '::{name} ...::'", path=path, line=number, col=1,
            fix="only ::image ...:: and ::audio ...:: take attributes",
        )
    if name not in _MEDIA_ATTRIBUTES:
        raise FenceError(
            f"'::{name} ...::' does not take attributes", path=path, line=number, col=1,
            fix=f"write the fence as ::{name}:: on its own line",
        )
    required, allowed = _MEDIA_ATTRIBUTES[name]
    attributes: dict[str, str] = {}
    for pair in _ATTRIBUTE_PAIR.finditer(blob):
        key, value = pair.group(1), pair.group(2)
        problem = (
            f"repeats attribute {key!r}" if key in attributes
            else f"has unknown attribute {key!r} (allowed: {', '.join(sorted(allowed))})" if key not in allowed
            else f"attribute {key!r} must be plain ASCII" if not value.isascii()
            else ""
        )
        if problem:
            raise FenceError(f"'::{name} ...::' {problem}", path=path, line=number, col=1, fix="fix the attribute")
        attributes[key] = value
    missing = sorted(required - attributes.keys())
    if missing:
        wanted = " and ".join(f'{key}="..."' for key in missing)
        raise FenceError(
            f"'::{name} ...::' is missing {', '.join(missing)}", path=path, line=number, col=1, fix=f"add {wanted}"
        )
    return SectionType(name), attributes


def _close(current: _OpenSection, sections: list[Section], path: Path | None) -> None:
    """Turn the open section into a `Section` (dropping whitespace-only prose)."""
    lines, markers = current.lines, {}
    if current.type in (SectionType.INSTRUCTION, SectionType.PREFERENCE):
        lines, markers = lift_markers(current.lines, current.type, line=current.start_line, path=path)
    content = "\n".join(lines)
    if current.type is SectionType.PROSE and not content.strip():
        return
    lifted = len(current.lines) - len(lines)
    sections.append(
        Section(
            type=current.type,
            content=content,
            start_line=current.start_line,
            adapter=current.adapter,
            markers=markers,
            media_path=current.media.get("path"),
            media_alt=current.media.get("alt"),
            media_transcript=current.media.get("transcript"),
            content_line=current.start_line + int(current.fenced) + lifted,
        )
    )


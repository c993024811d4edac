"""`training.sources`: turning the folders and files a document points at into prose sections.

Each directive is resolved from the document's folder (from the folder *above* it when the document lives in
a `.dlm/` folder, the scaffolded `<corpus>/.dlm/corpus.dlm` shape), walked in a fixed order, filtered by the
rules of `verdict.py`, capped by `max_bytes_per_file` / `max_files`, and every text file that survives
becomes one PROSE section whose content is `"# source: <relpath>\\n\\n" + text`. The header puts the path into
the section id, so two files with the same text stay two sections. `start_line` is 0 and there is no adapter
suffix: these sections are not written in the document.

What upstream `dlm` refuses is refused here with a typed error: a directive path that does not exist, and
(under `sources_policy: strict`) a directive path that resolves outside the document's folder. What
upstream skips is skipped here too, counted in the provenance and reported as a warning: binary files, files
that are not UTF-8, files over the size cap, images and audio (no media store in this app yet), unreadable
files. Strict confinement applies to the directive's own path only; links inside the tree are followed to
files anywhere (as upstream), and each such escape is reported as a warning.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from dlm_desktop.core.document.errors import DocumentEncodingError
from dlm_desktop.core.document.sections import Section, SectionType
from dlm_desktop.core.document.sources.discovery import DiscoveredConfig, discover_configs, walk_tree
from dlm_desktop.core.document.sources.globs import looks_binary
from dlm_desktop.core.document.sources.resolve import resolve_directive_root, source_base
from dlm_desktop.core.document.sources.verdict import FileJudge
from dlm_desktop.core.document.text import decode_document_bytes

# Media files are recognised by extension and need a blob store, which this app does not have yet.
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tiff"})
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg"})


@dataclass(frozen=True)
class SourceProvenance:
    """What one directive contributed and what it left out (upstream's counters, plus two of ours).

    `path` is the directive's path as written. `skipped_unreadable` counts files that could not be stat'ed
    or read, and `not_visited` the files never looked at because `max_files` was reached (upstream counts
    neither).
    """

    path: str
    file_count: int = 0
    total_bytes: int = 0
    skipped_binary: int = 0
    skipped_encoding: int = 0
    skipped_over_size: int = 0
    skipped_by_descent: int = 0
    skipped_image_no_store: int = 0
    skipped_audio_no_store: int = 0
    skipped_unreadable: int = 0
    not_visited: int = 0


@dataclass(frozen=True)
class SourceExpansion:
    """The result of `expand_sources`.

    `sections` come after the document's own sections, in directive order and walk order. `discovered` holds
    every `.dlm/` configuration found, per directive shallowest first, directives in order: the order in
    which their `weights` maps are merged. `provenance` has one entry per directive.
    """

    sections: tuple[Section, ...] = ()
    discovered: tuple[DiscoveredConfig, ...] = ()
    provenance: tuple[SourceProvenance, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def weights_maps(self) -> tuple[Mapping[str, Mapping[str, float]], ...]:
        """The `weights` of every usable discovered `training.yaml`, in merge order (later wins)."""
        return tuple(found.config.weights for found in self.discovered if found.config is not None)


def expand_sources(frontmatter: Any, base_dir: Path, *, document_path: Path | None = None) -> SourceExpansion:
    """Expand `frontmatter.training.sources` into prose sections.

    `base_dir` is the folder of the `.dlm` file. `document_path`, when given, is named in errors.
    Raises `SourcePathError` for a path that does not exist and `SourcePolicyError` for a strict-policy
    escape (both are `SourceDirectiveError`s), and `TrainingConfigError` for a config file that exists but
    cannot be read.
    """
    training = frontmatter.training
    directives = tuple(getattr(training, "sources", None) or ())
    if not directives:
        return SourceExpansion()
    base = source_base(Path(base_dir))
    strict = getattr(training, "sources_policy", "permissive") == "strict"
    warnings: list[str] = []
    sections: list[Section] = []
    discovered: list[DiscoveredConfig] = []
    provenance: list[SourceProvenance] = []
    for index, directive in enumerate(directives):
        root = resolve_directive_root(
            directive.path, index=index, base=base, strict=strict, warnings=warnings, document_path=document_path
        )
        entries = walk_tree(root, warnings) if root.is_dir() else ()
        found = discover_configs(root, entries, warnings) if root.is_dir() else ()
        discovered.extend(found)
        new_sections, record = _expand_directive(directive, index, root, entries, found, warnings)
        sections.extend(new_sections)
        provenance.append(record)
    return SourceExpansion(tuple(sections), tuple(discovered), tuple(provenance), tuple(warnings))


def _candidates(root: Path, entries: tuple) -> list[Path]:
    """The files a directive considers, in walk order: the file itself, or every file of the tree."""
    if root.is_file():
        return [root]
    return [entry.path for entry in entries if entry.is_file]


def _expand_directive(
    directive: Any, index: int, root: Path, entries: tuple, found: tuple[DiscoveredConfig, ...], warnings: list[str]
) -> tuple[list[Section], SourceProvenance]:
    """Walk one directive's candidates and build its sections and provenance."""
    judge = FileJudge(
        source_root=root,
        discovered=found,
        include=getattr(directive, "include", ("**/*",)),
        exclude=getattr(directive, "exclude", ()),
    )
    header_root = root if root.is_dir() else root.parent
    max_files = getattr(directive, "max_files", None)
    candidates = _candidates(root, entries)
    sections: list[Section] = []
    counts: Counter[str] = Counter()
    for position, file_path in enumerate(candidates):
        # The cap counts sections kept, and is checked before each file, exactly as upstream.
        if max_files is not None and len(sections) >= max_files:
            counts["not_visited"] = len(candidates) - position
            break
        outcome, section, size = _ingest_file(file_path, directive, judge, header_root, warnings)
        counts[outcome] += 1
        if section is not None:
            sections.append(section)
            counts["total_bytes"] += size
    record = _provenance(directive.path, len(sections), counts)
    warnings.extend(_summary_warnings(index, directive, record))
    return sections, record


def _ingest_file(
    file_path: Path, directive: Any, judge: FileJudge, header_root: Path, warnings: list[str]
) -> tuple[str, Section | None, int]:
    """Decide one file: (outcome counter name, section or None, bytes read)."""
    verdict = judge.judge(file_path)
    if not verdict.included:
        return "skipped_by_descent", None, 0
    try:
        size = file_path.stat().st_size
    except OSError as exc:
        warnings.append(f"{file_path}: skipped, cannot read its size ({exc.strerror or exc})")
        return "skipped_unreadable", None, 0
    cap = getattr(directive, "max_bytes_per_file", None)
    if cap is not None and size > cap:
        return "skipped_over_size", None, 0
    suffix = file_path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return "skipped_image_no_store", None, 0
    if suffix in AUDIO_EXTENSIONS:
        return "skipped_audio_no_store", None, 0
    outcome, text, size_read = _read_text_file(file_path, warnings)
    if text is None:
        return outcome, None, 0
    if verdict.escapes_root:
        warnings.append(f"{file_path}: a link to {file_path.resolve()}, outside the source folder; read anyway")
    relpath = file_path.relative_to(header_root).as_posix()
    content = f"# source: {relpath}\n\n{text}"
    section = Section(type=SectionType.PROSE, content=content, tags=MappingProxyType(dict(verdict.tags)))
    return "ok", section, size_read


def _read_text_file(file_path: Path, warnings: list[str]) -> tuple[str, str | None, int]:
    """Read a candidate as document text: (outcome, text or None, bytes read). Binary is sniffed first."""
    try:
        raw = file_path.read_bytes()
    except OSError as exc:
        warnings.append(f"{file_path}: skipped, cannot be read ({exc.strerror or exc})")
        return "skipped_unreadable", None, 0
    if looks_binary(raw):
        return "skipped_binary", None, 0
    try:
        return "ok", decode_document_bytes(raw, path=file_path).text, len(raw)
    except DocumentEncodingError as exc:
        warnings.append(f"{file_path}: skipped, {exc.message} (save it as UTF-8 to train on it)")
        return "skipped_encoding", None, 0


def _provenance(path: str, kept: int, counts: Counter[str]) -> SourceProvenance:
    return SourceProvenance(
        path=path,
        file_count=kept,
        total_bytes=counts["total_bytes"],
        skipped_binary=counts["skipped_binary"],
        skipped_encoding=counts["skipped_encoding"],
        skipped_over_size=counts["skipped_over_size"],
        skipped_by_descent=counts["skipped_by_descent"],
        skipped_image_no_store=counts["skipped_image_no_store"],
        skipped_audio_no_store=counts["skipped_audio_no_store"],
        skipped_unreadable=counts["skipped_unreadable"],
        not_visited=counts["not_visited"],
    )


def _summary_warnings(index: int, directive: Any, record: SourceProvenance) -> list[str]:
    """One line per directive summarising what it left out (per-file details were added as they happened)."""
    label = f"training.sources[{index}] ({directive.path!r})"
    left_out = [
        (record.skipped_binary, "binary files"),
        (record.skipped_over_size, f"files over max_bytes_per_file={getattr(directive, 'max_bytes_per_file', None)}"),
        (record.skipped_image_no_store + record.skipped_audio_no_store, "image/audio files (not supported yet)"),
        (record.skipped_encoding, "files that are not UTF-8"),
        (record.skipped_unreadable, "unreadable files"),
    ]
    details = ", ".join(f"{count} {what}" for count, what in left_out if count)
    notes = [f"{label}: skipped {details}"] if details else []
    if record.not_visited:
        notes.append(
            f"{label}: stopped at max_files={getattr(directive, 'max_files', None)}; "
            f"{record.not_visited} more files were not read"
        )
    if record.file_count == 0:
        notes.append(f"{label}: no file was kept, so this source adds nothing to training")
    return notes

"""Typed errors of the document engine.

Every error carries the file, the 1-based line (and column where it means something) and a fix. The CLI maps
them to exit code 2; the GUI underlines the line. Nothing else may escape `dlm_desktop.core.document`.
"""

from __future__ import annotations

from dlm_desktop.core.errors import DlmDesktopError


class DocumentError(DlmDesktopError):
    """Base class: the document (or a file it pulls in) cannot be used as written."""

    bad_input = True


class DocumentEncodingError(DocumentError):
    """The bytes are not strict UTF-8. `byte_offset` is the 0-based offset of the first bad byte."""

    def __init__(self, message: str, *, byte_offset: int, **kwargs) -> None:
        self.byte_offset = byte_offset
        super().__init__(message, **kwargs)


class FrontmatterError(DocumentError):
    """Missing `---` delimiters, YAML that does not parse, or a top level that is not a mapping."""


class SchemaValidationError(DocumentError):
    """The frontmatter parsed but breaks the schema: unknown key, wrong type, value out of range."""


class DlmVersionError(DocumentError):
    """`dlm_version` is newer than this parser, or not a version any migrator knows."""


class FenceError(DocumentError):
    """A `::fence::` line (or a marker comment under one) is malformed."""


class SectionBodyError(DocumentError):
    """A section's body does not follow its grammar. `section_id` names the section."""

    def __init__(self, message: str, *, section_id: str = "", **kwargs) -> None:
        self.section_id = section_id
        super().__init__(message, **kwargs)


class InstructionParseError(SectionBodyError):
    """An `::instruction::` body is not a sequence of `### Q` / `### A` pairs."""


class PreferenceParseError(SectionBodyError):
    """A `::preference::` body is not a sequence of `### Prompt` / `### Chosen` / `### Rejected` triples."""


class MediaSectionError(SectionBodyError):
    """An image or audio section cannot become a training row (no blob store in this app yet)."""


class SourceDirectiveError(DocumentError):
    """A `training.sources` directive points somewhere it may not, or at nothing."""


class TrainingConfigError(DocumentError):
    """A `.dlm/training.yaml` file cannot be used (the engine mostly warns and ignores such files, as upstream)."""


class NothingToTrainError(DocumentError):
    """The document (with its sources) yields no training rows at all."""


class WeightsError(DocumentError):
    """Tag weights are invalid, or drop every row."""


class RoutingError(DocumentError):
    """A section is routed (`#name`) to an adapter the frontmatter does not declare."""


class SplitError(DocumentError):
    """The train/validation split got rows it cannot place."""


class SourcePathError(SourceDirectiveError):
    """A `training.sources` path does not exist or cannot be resolved."""


class SourcePolicyError(SourceDirectiveError):
    """Under `sources_policy: strict`, a `training.sources` path resolves outside the document's folder."""

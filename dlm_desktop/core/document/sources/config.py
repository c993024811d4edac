"""`.dlm/training.yaml` and `.dlm/ignore`: the per-folder configuration a source walk picks up.

A `training.yaml` refines what a `training.sources` walk takes from the folder that holds its `.dlm/`
(its *anchor*) and everything below: extra `include`/`exclude` globs, whether the default excludes apply,
`metadata` tags for every file below, and tag `weights`. A file that cannot be used (not UTF-8, not YAML, not
a mapping, or against the schema) is reported as a warning and the anchor behaves as if it had no
`training.yaml`, exactly like upstream `dlm`: a broken config never stops training, but the user is told.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dlm_desktop.core.document.errors import DocumentEncodingError, DocumentError, TrainingConfigError
from dlm_desktop.core.document.sources.ignore import IgnoreRule, parse_ignore_text
from dlm_desktop.core.document.text import read_document_text

CONFIG_DIR_NAME = ".dlm"
TRAINING_YAML_NAME = "training.yaml"
IGNORE_NAME = "ignore"


class TrainingYaml(BaseModel):
    """The schema of `.dlm/training.yaml` (upstream's `DlmTrainingConfig`; unknown keys are refused).

    `weights[tag_key][tag_value]` scales how often rows carrying that tag are trained on (0 drops them).
    Values must be strings: YAML reads an unquoted `true` or `1` as a boolean or a number, which the schema
    refuses, so such values have to be quoted.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dlm_training_version: Literal[1] = 1
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    exclude_defaults: bool = True
    metadata: Mapping[str, str] = Field(default_factory=dict)
    weights: Mapping[str, Mapping[str, float]] = Field(default_factory=dict)

    @field_validator("weights")
    @classmethod
    def _no_negative_weights(cls, value: Mapping[str, Mapping[str, float]]) -> Mapping[str, Mapping[str, float]]:
        # NaN passes here on purpose (upstream accepts it); expansion refuses it if a row ever uses it.
        for tag_key, per_value in value.items():
            for tag_value, scale in per_value.items():
                if scale < 0:
                    raise ValueError(
                        f"weights[{tag_key!r}][{tag_value!r}] is {scale}; a weight must be 0 (drop) or more"
                    )
        return value


def _describe_validation(exc: ValidationError) -> str:
    """`metadata.generated: Input should be a valid string; ...` — short enough for one warning line."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(item) for item in error.get("loc", ())) or "(top level)"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def parse_training_yaml(text: str, *, origin: str) -> tuple[TrainingYaml | None, str | None]:
    """Validate the text of a `training.yaml`. Returns (config, None) or (None, warning)."""
    try:
        raw = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        return None, f"{origin}: ignored, not valid YAML ({detail}); fix the YAML syntax"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return None, (
            f"{origin}: ignored, the top level is a {type(raw).__name__}, not a mapping; "
            "write `key: value` lines (dlm_training_version, include, exclude, metadata, weights)"
        )
    try:
        return TrainingYaml.model_validate(raw), None
    except ValidationError as exc:
        return None, (
            f"{origin}: ignored, does not follow the training.yaml schema ({_describe_validation(exc)}); "
            "quote tag values such as 'true' or '1', and use only the known keys"
        )


def _read_text_or_warning(path: Path) -> tuple[str | None, str | None]:
    """Read a small config file as document text.

    Bytes that are not UTF-8 become a warning (the file is ignored); a file that exists but cannot be read
    at all raises, as it does upstream, because the walk would otherwise silently train on the wrong set.
    """
    try:
        return read_document_text(path).text, None
    except DocumentEncodingError as exc:
        return None, f"{path}: ignored, {exc.message}; {exc.fix}"
    except DocumentError as exc:
        raise TrainingConfigError(
            f"cannot read this configuration file: {exc.message}",
            path=path,
            fix="make the file readable, or delete it",
        ) from exc


def load_training_yaml(path: Path) -> tuple[TrainingYaml | None, tuple[str, ...]]:
    """Load one `training.yaml`. A missing file is (None, ()); an unusable one is (None, (warning,))."""
    if not path.is_file():
        return None, ()
    text, problem = _read_text_or_warning(path)
    if text is None:
        return None, (str(problem),)
    config, problem = parse_training_yaml(text, origin=str(path))
    return config, (problem,) if problem else ()


def load_ignore_file(path: Path) -> tuple[tuple[IgnoreRule, ...], tuple[str, ...]]:
    """Load one `.dlm/ignore`. A missing file gives no rules; an unreadable one no rules and a warning."""
    if not path.is_file():
        return (), ()
    text, problem = _read_text_or_warning(path)
    if text is None:
        return (), (str(problem),)
    return parse_ignore_text(text, origin=str(path))


def weights_are_finite(weights: Mapping[str, Mapping[str, float]]) -> bool:
    """False when some weight is NaN or infinite (accepted by the schema, refused when rows are expanded)."""
    return all(math.isfinite(scale) for per_value in weights.values() for scale in per_value.values())

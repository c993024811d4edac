"""Tag weights: how often each training row is seen, decided by `(tag_key, tag_value)` multipliers.

A weights map `{tag_key: {tag_value: w}}` comes from `.dlm/training.yaml` files: first the document's own
(`<document folder>/.dlm/training.yaml`), then every file a `training.sources` walk discovered, shallowest
first; a later map replaces an earlier one per `(key, value)`. The map is global: a deeper folder's weight
applies to every row carrying that tag, not only to rows from that folder (upstream behaves the same).

A row's weight is the product of the weights of its tags (a tag the map does not name counts 1). The row
then appears `floor(w)` times, plus once more when the fractional part wins a roll that depends only on the
seed and the row's section id (`fraction_roll`); `w <= 0` drops it. Besides the row's own tags
(`_dlm_row_tags`, from directive `metadata`), document rows also answer to two implicit keys, `section`
(`prose`, `instruction`, `preference`, ...) and `adapter` (the adapter the row is trained into), unless their
own tags already define those keys. Rows without `_dlm_row_tags` at all (replay rows) get weight 1.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, Union

from dlm_desktop.core.document.errors import WeightsError
from dlm_desktop.core.document.sections import Section, SectionType
from dlm_desktop.core.document.sources.config import CONFIG_DIR_NAME, TRAINING_YAML_NAME, load_training_yaml
from dlm_desktop.core.document.sources.resolve import source_base

Row = dict[str, Any]
WeightsMap = Mapping[str, Mapping[str, float]]

ROW_TAGS_KEY = "_dlm_row_tags"
SECTION_ID_KEY = "_dlm_section_id"
IMPLICIT_SECTION_KEY = "section"
IMPLICIT_ADAPTER_KEY = "adapter"


def merge_weights_maps(maps: Iterable[WeightsMap]) -> dict[str, dict[str, float]]:
    """Merge weights maps given shallowest first; a later map wins for each `(key, value)`."""
    merged: dict[str, dict[str, float]] = {}
    for weights in maps:
        for tag_key, per_value in weights.items():
            target = merged.setdefault(tag_key, {})
            target.update(per_value)
    return merged


def row_section_type(row: Mapping[str, Any]) -> SectionType | None:
    """The kind of section a row was made from, told by its shape (None when it is not a known shape)."""
    if "messages" in row:
        return SectionType.INSTRUCTION
    if "prompt" in row and "chosen" in row and "rejected" in row:
        return SectionType.PREFERENCE
    if "audio_blob_sha" in row:
        return SectionType.AUDIO
    if "images" in row:
        return SectionType.IMAGE
    if "text" in row:
        return SectionType.PROSE
    return None


def effective_tags(row: Mapping[str, Any], section_type: SectionType | str | None, adapter: str | None) -> dict[str, str]:
    """The row's own tags, then `section` and `adapter` when the own tags do not define those keys.

    The implicit keys are appended after the row's own tags so that, when the weights map does not use them,
    the product is computed in exactly upstream's order.
    """
    tags = dict(row.get(ROW_TAGS_KEY) or {})
    if section_type is not None:
        value = section_type.value if isinstance(section_type, SectionType) else str(section_type)
        tags.setdefault(IMPLICIT_SECTION_KEY, value)
    if adapter is not None:
        tags.setdefault(IMPLICIT_ADAPTER_KEY, adapter)
    return tags


def resolve_weight(tags: Mapping[str, str], weights: WeightsMap) -> float:
    """The product of `weights[key][value]` over `tags`; unknown keys and values count 1."""
    weight = 1.0
    for tag_key, tag_value in tags.items():
        scale = weights.get(tag_key, {}).get(tag_value)
        if scale is not None:
            weight *= scale
    return weight


ImplicitTags = Union[bool, Mapping[str, Mapping[str, str]]]


def implicit_tags_for_sections(sections: Iterable[Section], adapter_names: Sequence[str] = ()) -> dict[str, dict[str, str]]:
    """Per section id, the implicit tags of its rows: `section` always, `adapter` when it is known.

    `adapter` is the routed adapter when `adapter_names` (declared, in order) is non-empty: the `#name`
    suffix, else the first declared adapter for non-prose. Prose without a suffix trains every adapter, so
    at document level it has no single `adapter` (per-adapter training passes `adapter=` instead). Two
    sections with the same id (same type and text) share the first one's tags.
    """
    tags_by_id: dict[str, dict[str, str]] = {}
    for section in sections:
        tags = {IMPLICIT_SECTION_KEY: section.type.value}
        adapter = section.adapter
        if adapter is None and adapter_names and section.type is not SectionType.PROSE:
            adapter = adapter_names[0]
        if adapter_names and adapter is not None:
            tags[IMPLICIT_ADAPTER_KEY] = adapter
        tags_by_id.setdefault(section.section_id, tags)
    return tags_by_id


def _tags_for(row: Mapping[str, Any], adapter: str | None, implicit_tags: ImplicitTags) -> Mapping[str, str]:
    """The tags weights are resolved over: upstream's, or with implicit ones appended (module docstring)."""
    own = row.get(ROW_TAGS_KEY) or {}
    if not implicit_tags or ROW_TAGS_KEY not in row:
        return own
    if isinstance(implicit_tags, Mapping):
        tags = dict(own)
        for key, value in implicit_tags.get(str(row.get(SECTION_ID_KEY, "")), {}).items():
            tags.setdefault(key, value)
        if adapter is not None:
            tags.setdefault(IMPLICIT_ADAPTER_KEY, adapter)
        return tags
    return effective_tags(row, row_section_type(row), adapter)


def row_weight(
    row: Mapping[str, Any], weights: WeightsMap, *, adapter: str | None = None, implicit_tags: ImplicitTags = True
) -> float:
    """A row's weight. `implicit_tags`: True infers `section` from the row's shape (plus `adapter=`), a mapping
    gives the implicit tags per section id (`implicit_tags_for_sections`), False is upstream's rule exactly.
    """
    return resolve_weight(_tags_for(row, adapter, implicit_tags), weights)


def fraction_roll(seed: int, section_id: str) -> float:
    """The roll in [0, 1) that the fractional part of a weight must beat: blake2b-64 of `"{seed}:{id}"`."""
    digest = hashlib.blake2b(f"{seed}:{section_id}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / float(1 << 64)


def keeps_fraction(seed: int, section_id: str, fraction: float) -> bool:
    """Whether the extra copy for fractional part `fraction` is kept (never at <= 0, always at >= 1)."""
    if fraction <= 0.0:
        return False
    if fraction >= 1.0:
        return True
    return fraction_roll(seed, section_id) < fraction


def expand_rows_by_weight(
    rows: Sequence[Row],
    weights: WeightsMap,
    *,
    seed: int,
    adapter: str | None = None,
    implicit_tags: ImplicitTags = True,
) -> list[Row]:
    """Repeat or drop rows by weight (module docstring). Copies are the same dict object, as upstream.

    An empty map returns the rows unchanged. Raises `WeightsError` when a row's weight is not a finite number
    or when the weights drop every row.
    """
    if not weights:
        return list(rows)
    expanded: list[Row] = []
    for row in rows:
        weight = row_weight(row, weights, adapter=adapter, implicit_tags=implicit_tags)
        if not math.isfinite(weight):
            raise WeightsError(
                f"the row of section {row.get(SECTION_ID_KEY, '?')} has weight {weight}",
                fix="use finite numbers (0 or more) in the `weights:` of .dlm/training.yaml",
            )
        if weight <= 0.0:
            continue
        whole = int(weight)
        expanded.extend([row] * whole)
        if keeps_fraction(seed, str(row.get(SECTION_ID_KEY, "")), weight - whole):
            expanded.append(row)
    if rows and not expanded:
        raise WeightsError(
            "the weights drop every row, so there is nothing left to train on",
            fix="give at least one tag a weight above 0 in .dlm/training.yaml",
        )
    return expanded


def weight_distribution(
    rows: Iterable[Mapping[str, Any]], *, adapter: str | None = None, implicit_tags: ImplicitTags = False
) -> dict[str, dict[str, int]]:
    """Rows per `{tag_key: {tag_value: count}}`, counted before expansion.

    The default counts the row's own tags only (upstream's audit, stored in the manifest); with
    `implicit_tags` (as for `row_weight`) it also counts `section` / `adapter`: the training-mix editor's view.
    """
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        for tag_key, tag_value in _tags_for(row, adapter, implicit_tags).items():
            per_value = counts.setdefault(tag_key, {})
            per_value[tag_value] = per_value.get(tag_value, 0) + 1
    return counts


def document_training_yaml(doc_dir: Path) -> Path:
    """Where a document's own weights live: `<doc_dir>/.dlm/training.yaml`.

    For a document that itself lives in a `.dlm/` folder (`<corpus>/.dlm/corpus.dlm`) that is the
    `training.yaml` beside it, the same file its `training.sources` walk of `<corpus>` reads.
    """
    return source_base(Path(doc_dir)) / CONFIG_DIR_NAME / TRAINING_YAML_NAME


def load_document_weights(doc_dir: Path) -> tuple[dict[str, dict[str, float]], tuple[str, ...]]:
    """The document's own `weights:` (see `document_training_yaml`) and any warnings.

    A missing file gives `({}, ())`. An unusable one gives `({}, (warning,))`, the same treatment a
    `training.yaml` found by a source walk gets; one that exists but cannot be read raises
    `TrainingConfigError`.
    """
    config, warnings = load_training_yaml(document_training_yaml(doc_dir))
    weights = {key: dict(per_value) for key, per_value in config.weights.items()} if config is not None else {}
    return weights, warnings


def training_weights(document: WeightsMap, source_maps: Sequence[WeightsMap] = ()) -> dict[str, dict[str, float]]:
    """The global map training uses: the document's own weights first, then the sources' maps in order."""
    return merge_weights_maps([document, *source_maps])

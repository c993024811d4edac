"""Bring an older frontmatter mapping up to the current schema version before validation.

A missing `dlm_version` counts as version 1 (so a v1 document written before the key existed still migrates).
Only v1 → v2 changes anything: `training.dpo` became `training.preference` with grouped hyperparameters; every
later step only advances the version number.
"""

from __future__ import annotations

from typing import Any

from dlm_desktop.core.document.schema import CURRENT_SCHEMA_VERSION


class MigrationRefused(Exception):
    """Internal signal: the version cannot be migrated (`newer` tells whether it is from the future)."""

    def __init__(self, message: str, *, newer: bool) -> None:
        super().__init__(message)
        self.newer = newer


def _dpo_to_preference(raw: dict[str, Any]) -> dict[str, Any]:
    result = dict(raw)
    training = result.get("training")
    if not isinstance(training, dict) or "dpo" not in training:
        return result
    training = dict(training)
    dpo = training.pop("dpo")
    result["training"] = training
    if dpo is None:
        return result
    if not isinstance(dpo, dict):
        training["preference"] = dpo  # left for the schema to reject
        return result
    preference: dict[str, Any] = {"method": "dpo"}
    if "enabled" in dpo:
        preference["enabled"] = dpo["enabled"]
    hyperparams = {key: dpo[key] for key in ("beta", "learning_rate", "num_epochs") if key in dpo}
    if hyperparams:
        preference["hyperparams"] = hyperparams
    if "loss_type" in dpo:
        preference["loss_type"] = dpo["loss_type"]
    if "reference" in dpo:
        reference = dpo["reference"]
        preference["reference"] = "pre_adapter" if reference == "pre_dpo_adapter" else reference
    training["preference"] = preference
    return result


def _unchanged(raw: dict[str, Any]) -> dict[str, Any]:
    return dict(raw)


# from-version → step that rewrites the mapping to from-version + 1
_STEPS = {1: _dpo_to_preference, **{version: _unchanged for version in range(2, CURRENT_SCHEMA_VERSION)}}


def migrate_frontmatter(raw: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """Return the mapping at the current version and the list of from-versions that were applied.

    Raises `MigrationRefused` for a non-integer version, a version newer than this parser, or a version with no
    migration path (0 or negative).
    """
    current = dict(raw)
    applied: list[int] = []
    while True:
        version = current.get("dlm_version", 1)
        if not isinstance(version, int) or isinstance(version, bool):
            raise MigrationRefused(f"dlm_version must be an integer, got {type(version).__name__}", newer=False)
        if version == CURRENT_SCHEMA_VERSION:
            return current, applied
        if version > CURRENT_SCHEMA_VERSION:
            raise MigrationRefused(
                f"dlm_version {version} is newer than this app understands (up to {CURRENT_SCHEMA_VERSION})",
                newer=True,
            )
        step = _STEPS.get(version)
        if step is None:
            raise MigrationRefused(f"dlm_version {version} has no migration path", newer=False)
        current = step(current)
        current["dlm_version"] = version + 1
        applied.append(version)

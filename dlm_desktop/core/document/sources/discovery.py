"""Walking a source folder, and finding the `.dlm/` configuration folders inside it.

The walk reproduces what upstream `dlm` gets from `sorted(root.rglob("*"))` on Python 3.11, written out so
that it does not change with the Python version the app is frozen with:

* every entry under the root is listed, hidden ones included;
* folders are entered only when they are real folders: a symbolic link to a folder is listed but never
  entered (so a link cannot pull a second tree, or a loop, into the walk);
* a symbolic link to a file counts as a file;
* the order is lexicographic by path components (`a/b` sorts before `a-c`, unlike plain string order).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from dlm_desktop.core.document.sources.config import (
    CONFIG_DIR_NAME,
    IGNORE_NAME,
    TRAINING_YAML_NAME,
    TrainingYaml,
    load_ignore_file,
    load_training_yaml,
    weights_are_finite,
)
from dlm_desktop.core.document.sources.ignore import IgnoreRule


@dataclass(frozen=True)
class TreeEntry:
    """One entry found by `walk_tree`. `is_file`/`is_dir` follow symbolic links."""

    path: Path
    rel_parts: tuple[str, ...]
    is_file: bool
    is_dir: bool


@dataclass(frozen=True)
class DiscoveredConfig:
    """The `.dlm/` folder found at `anchor` (the folder that holds it).

    `config` is None when there is no `training.yaml` or when it could not be used (a warning says why);
    `ignore_rules` is empty when there is no `.dlm/ignore`. Globs in both are relative to `anchor`.
    """

    anchor: Path
    config: TrainingYaml | None
    ignore_rules: tuple[IgnoreRule, ...]

    @property
    def weights(self) -> Mapping[str, Mapping[str, float]]:
        """This folder's `weights:` map (empty without a usable `training.yaml`)."""
        return self.config.weights if self.config is not None else {}

    @property
    def metadata(self) -> Mapping[str, str]:
        """This folder's `metadata:` tags (empty without a usable `training.yaml`)."""
        return self.config.metadata if self.config is not None else {}


def _probe(check: Callable[[], bool]) -> bool:
    # A dangling link, a link loop or a vanished entry is simply "not a file / not a folder".
    try:
        return check()
    except OSError:
        return False


def walk_tree(root: Path, warnings: list[str]) -> tuple[TreeEntry, ...]:
    """List everything under the folder `root` (see the module docstring for the rules).

    A folder that cannot be listed is skipped with a warning, as upstream skips it (silently).
    """
    found: list[TreeEntry] = []
    pending: list[tuple[Path, tuple[str, ...]]] = [(root, ())]
    while pending:
        folder, rel = pending.pop()
        try:
            with os.scandir(folder) as listing:
                children = list(listing)
        except OSError as exc:
            warnings.append(f"{folder}: folder skipped, it cannot be listed ({exc.strerror or exc})")
            continue
        for child in children:
            child_rel = rel + (child.name,)
            entry = TreeEntry(
                path=folder / child.name,
                rel_parts=child_rel,
                is_file=_probe(child.is_file),
                is_dir=_probe(child.is_dir),
            )
            found.append(entry)
            if _probe(lambda: child.is_dir(follow_symlinks=False)):
                pending.append((entry.path, child_rel))
    found.sort(key=lambda entry: entry.rel_parts)
    return tuple(found)


def discover_configs(
    root: Path, entries: tuple[TreeEntry, ...], warnings: list[str]
) -> tuple[DiscoveredConfig, ...]:
    """One `DiscoveredConfig` per `.dlm/` folder among `entries`, shallowest anchor first.

    The order is upstream's: by path components, then (stable) by the length of the anchor's path string.
    Unusable `training.yaml` or `ignore` files add warnings and are treated as absent.
    """
    found: list[DiscoveredConfig] = []
    for entry in entries:
        if entry.rel_parts[-1] != CONFIG_DIR_NAME or not entry.is_dir:
            continue
        config, config_notes = load_training_yaml(entry.path / TRAINING_YAML_NAME)
        rules, ignore_notes = load_ignore_file(entry.path / IGNORE_NAME)
        warnings.extend(config_notes)
        warnings.extend(ignore_notes)
        if config is not None and not weights_are_finite(config.weights):
            warnings.append(
                f"{entry.path / TRAINING_YAML_NAME}: a weight is not a finite number; "
                "training fails if a row carries that tag"
            )
        found.append(DiscoveredConfig(anchor=root.joinpath(*entry.rel_parts[:-1]), config=config, ignore_rules=rules))
    found.sort(key=lambda discovered: len(discovered.anchor.as_posix()))
    return tuple(found)

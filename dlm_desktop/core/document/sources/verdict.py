"""Deciding, for one file of a source walk, whether it trains and which tags it carries.

The rules, in upstream `dlm`'s order (the order matters because `.dlm/ignore` negations can undo any
earlier exclusion):

1. **Include.** The nearest `training.yaml` (deepest anchor above the file) with a non-empty `include` decides;
   otherwise the directive's own `include`. Directive globs are relative to the source root.
2. **Exclude**, as one flag that later steps may set again:
   a. the directive's `exclude`;
   b. the default excludes, unless the nearest usable `training.yaml` says `exclude_defaults: false`;
   c. each anchor's `training.yaml` `exclude`, shallowest anchor first, relative to that anchor;
   d. each anchor's `.dlm/ignore` rules, shallowest first, in file order: the last matching rule wins, and a
      `!` rule clears the flag.
3. **Tags.** Every ancestor's `metadata`, merged shallow to deep; a deeper value replaces a shallower one.

Paths are compared after resolving symbolic links: a link to a file elsewhere in the tree is judged (and
tagged) where its target lives, and a link to a file outside the tree has no anchors and is judged by its
name alone (upstream behaves the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from dlm_desktop.core.document.sources.discovery import DiscoveredConfig
from dlm_desktop.core.document.sources.globs import DEFAULT_EXCLUDES, matches_any
from dlm_desktop.core.document.sources.ignore import rule_matches


@dataclass(frozen=True)
class FileVerdict:
    """Whether a file trains, the tags it carries, and whether it is a link leaving the source root."""

    included: bool
    tags: Mapping[str, str]
    escapes_root: bool = False


def _relative_posix(resolved_file: Path, resolved_anchor: Path, fallback_name: str) -> str:
    """The file's path below the anchor; its own name when it *is* the anchor or lies elsewhere."""
    if resolved_file == resolved_anchor:
        return fallback_name
    try:
        return resolved_file.relative_to(resolved_anchor).as_posix()
    except ValueError:
        return fallback_name


class FileJudge:
    """Applies one directive's rules (see the module docstring) to the files of its walk."""

    def __init__(
        self,
        *,
        source_root: Path,
        discovered: Sequence[DiscoveredConfig],
        include: Sequence[str],
        exclude: Sequence[str],
    ) -> None:
        self._root = source_root.resolve()
        # Anchors resolved once: they are compared against every file of the walk.
        self._anchors = tuple((config.anchor.resolve(), config) for config in discovered)
        self._include = tuple(include)
        self._exclude = tuple(exclude)

    def judge(self, file_path: Path) -> FileVerdict:
        """The verdict for one candidate file (an entry of the walk, or the directive's single file)."""
        resolved = file_path.resolve()
        ancestors = [(anchor, config) for anchor, config in self._anchors if resolved.is_relative_to(anchor)]
        ancestors.sort(key=lambda pair: len(pair[1].anchor.as_posix()))
        rel_to_root = _relative_posix(resolved, self._root, file_path.name)
        included = matches_any(rel_to_root, self._nearest_include(ancestors))
        excluded = self._excluded(resolved, file_path.name, rel_to_root, ancestors)
        tags: dict[str, str] = {}
        for _anchor, config in ancestors:
            tags.update(config.metadata)
        escapes = not resolved.is_relative_to(self._root)
        return FileVerdict(included=included and not excluded, tags=tags, escapes_root=escapes)

    def _nearest_include(self, ancestors: list[tuple[Path, DiscoveredConfig]]) -> tuple[str, ...]:
        for _anchor, config in reversed(ancestors):
            if config.config is not None and config.config.include:
                return config.config.include
        return self._include

    def _excluded(
        self, resolved: Path, name: str, rel_to_root: str, ancestors: list[tuple[Path, DiscoveredConfig]]
    ) -> bool:
        excluded = matches_any(rel_to_root, self._exclude)
        if _defaults_apply(ancestors) and matches_any(rel_to_root, DEFAULT_EXCLUDES):
            excluded = True
        for anchor, config in ancestors:
            if config.config is not None and matches_any(_relative_posix(resolved, anchor, name), config.config.exclude):
                excluded = True
        for anchor, config in ancestors:
            rel_to_anchor = _relative_posix(resolved, anchor, name)
            for rule in config.ignore_rules:
                if rule_matches(rule, rel_to_anchor, is_dir=False):
                    excluded = not rule.negate
        return excluded


def _defaults_apply(ancestors: list[tuple[Path, DiscoveredConfig]]) -> bool:
    """The nearest usable `training.yaml` decides; with none, the defaults apply."""
    for _anchor, config in reversed(ancestors):
        if config.config is not None:
            return config.config.exclude_defaults
    return True

"""Which adapter trains on which section (`training.adapters` and the `#name` fence suffix).

Adapters are taken in the order the frontmatter declares them:

* prose without a suffix trains every adapter (it is the shared domain text);
* instruction and preference sections (and media) without a suffix train the first declared adapter;
* a section with `#name` trains adapter `name` only; an undeclared name is an error.

A document without `training.adapters` has one implicit adapter, `default`, and takes no suffix at all:
`#anything` is an error there, `#default` included (upstream's code lets `#default` through although its own
rule says no suffix; we follow the rule, since such a suffix can only be a mistake).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from dlm_desktop.core.document.errors import RoutingError
from dlm_desktop.core.document.sections import Section, SectionType

DEFAULT_ADAPTER = "default"


def declared_adapter_names(frontmatter: Any) -> list[str]:
    """`training.adapters` names in declaration order, or `["default"]` for a single-adapter document."""
    adapters = getattr(frontmatter.training, "adapters", None)
    return list(adapters) if adapters else [DEFAULT_ADAPTER]


def route_sections(
    sections: Iterable[Section],
    adapters: Sequence[str] | Mapping[str, Any] | None,
    *,
    path: Path | None = None,
) -> dict[str, list[Section]]:
    """Assign sections to adapters (rules in the module docstring); every declared adapter gets a list.

    `adapters` is the declared names in order (a mapping's keys count), or None/empty for a single-adapter
    document. Raises `RoutingError` at the first section routed to a name it may not use; `path` is named in
    the error.
    """
    names = list(adapters) if adapters else []
    single = not names
    if single:
        names = [DEFAULT_ADAPTER]
    routed: dict[str, list[Section]] = {name: [] for name in names}
    for section in sections:
        target = section.adapter
        if target is not None and (single or target not in routed):
            raise _routing_error(section, target, names, single, path)
        if target is not None:
            routed[target].append(section)
        elif section.type is SectionType.PROSE:
            for name in names:
                routed[name].append(section)
        else:
            routed[names[0]].append(section)
    return routed


def _routing_error(section: Section, target: str, names: list[str], single: bool, path: Path | None) -> RoutingError:
    if single:
        return RoutingError(
            f"the {section.type.value} section is routed to '#{target}', but this document declares no "
            "training.adapters",
            path=path,
            line=section.start_line,
            fix=f"remove '#{target}' from the fence, or declare the adapters under training.adapters",
        )
    return RoutingError(
        f"the {section.type.value} section is routed to '#{target}', which training.adapters does not declare "
        f"(declared: {', '.join(names)})",
        path=path,
        line=section.start_line,
        fix=f"use one of {', '.join(names)}, or add '{target}' under training.adapters",
    )

"""Split a document into its YAML frontmatter and its body, and validate the frontmatter.

YAML is read with PyYAML's safe loader (YAML 1.1, as upstream: `1e-4` is a string, `yes` is true), migrated to
the current schema version, then validated. Errors point at the line and column of the offending key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dlm_desktop.core.document.errors import DlmVersionError, FrontmatterError, SchemaValidationError
from dlm_desktop.core.document.migrations import MigrationRefused, migrate_frontmatter
from dlm_desktop.core.document.schema import Frontmatter

DELIMITER = "---"


@dataclass(frozen=True)
class FrontmatterBlock:
    """The raw pieces of a document: YAML text, body text and the 1-based line the body starts on."""

    yaml_text: str
    body: str
    body_start_line: int
    closing_line: int


def split_frontmatter(text: str, *, path: Path | None = None) -> FrontmatterBlock:
    """Line 1 must be exactly `---`; the next line that is exactly `---` closes the block."""
    lines = text.split("\n")
    if lines[0] != DELIMITER:
        raise FrontmatterError(
            f"line 1 must be '---' to open the frontmatter, found {lines[0][:40]!r}",
            path=path,
            line=1,
            col=1,
            fix="start the file with a line containing only '---', then the YAML settings, then '---'",
        )
    for index in range(1, len(lines)):
        if lines[index] == DELIMITER:
            return FrontmatterBlock(
                yaml_text="\n".join(lines[1:index]),
                body="\n".join(lines[index + 1 :]),
                body_start_line=index + 2,
                closing_line=index + 1,
            )
    raise FrontmatterError(
        "no closing '---' for the frontmatter",
        path=path,
        line=1,
        col=1,
        fix="add a line containing only '---' after the YAML settings (no spaces around it)",
    )


def load_frontmatter_yaml(yaml_text: str, *, path: Path | None = None) -> dict[str, Any]:
    """Parse the YAML block into a mapping (an empty block is `{}`)."""
    if not yaml_text.strip():
        return {}
    try:
        raw = yaml.safe_load(yaml_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, col = (mark.line + 2, mark.column + 1) if mark is not None else (2, 0)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FrontmatterError(
            f"invalid YAML: {problem}",
            path=path,
            line=line,
            col=col,
            fix="check indentation, colons and quotes on that line",
        ) from exc
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # e.g. a timestamp like 2024-13-40
        raise FrontmatterError(
            f"invalid YAML value: {exc}", path=path, line=2, fix="quote the value to make it a plain string"
        ) from exc
    if not isinstance(raw, dict):
        raise FrontmatterError(
            f"the frontmatter must be a mapping of settings, got {type(raw).__name__}",
            path=path,
            line=2,
            fix="write settings as 'key: value' lines, e.g. 'base_model: smollm2-135m'",
        )
    return raw


def validate_frontmatter(yaml_text: str, *, path: Path | None = None) -> Frontmatter:
    """YAML → migration → schema validation, with errors located in the file."""
    raw = load_frontmatter_yaml(yaml_text, path=path)
    try:
        migrated, _applied = migrate_frontmatter(raw)
    except MigrationRefused as exc:
        error_type = DlmVersionError if exc.newer else SchemaValidationError
        line, col = locate_key(yaml_text, ("dlm_version",))
        fix = (
            "update DLM Desktop, or check that this file is really a .dlm document"
            if exc.newer
            else f"set dlm_version to a whole number between 1 and {Frontmatter.model_fields['dlm_version'].default}"
        )
        raise error_type(str(exc), path=path, line=line, col=col, fix=fix) from exc
    try:
        return Frontmatter.model_validate(migrated)
    except ValidationError as exc:
        raise _schema_error(exc, yaml_text, path) from exc
    except (ValueError, TypeError, RecursionError) as exc:
        raise SchemaValidationError(f"invalid frontmatter: {exc}", path=path, line=2, fix="check the settings") from exc


def _schema_error(exc: ValidationError, yaml_text: str, path: Path | None) -> SchemaValidationError:
    errors = exc.errors()
    first = errors[0] if errors else {}
    key_path = tuple(str(part) for part in first.get("loc", ()))
    line, col = locate_key(yaml_text, key_path)
    where = ".".join(key_path) or "frontmatter"
    if first.get("type") == "extra_forbidden":
        message = f"unknown setting '{where}'"
        fix = "remove it or check its spelling (settings are case-sensitive)"
    elif first.get("type") == "missing":
        message = f"missing required setting '{where}'"
        fix = f"add '{key_path[-1]}: ...' to the frontmatter" if key_path else "add the missing setting"
    else:
        message = f"'{where}': {first.get('msg', 'invalid value')}"
        fix = "change the value to one the setting accepts"
    more = len(errors) - 1
    if more > 0:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return SchemaValidationError(message, path=path, line=line, col=col, fix=fix)


def locate_key(yaml_text: str, key_path: tuple[str | int, ...]) -> tuple[int, int]:
    """1-based (line, col) in the document of the deepest existing key or list item on `key_path` (line 2 when
    unknown)."""
    try:
        node = yaml.compose(yaml_text, Loader=yaml.SafeLoader)
    except Exception:  # noqa: BLE001 - any YAML problem was reported already; fall back to the block start
        return 2, 0
    best = (2, 0)
    for part in key_path:
        if isinstance(node, yaml.SequenceNode) and str(part).isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            best = (node.start_mark.line + 2, node.start_mark.column + 1)
            continue
        if not isinstance(node, yaml.MappingNode):
            break
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                best = (key_node.start_mark.line + 2, key_node.start_mark.column + 1)
                node = value_node
                break
        else:
            break
    return best

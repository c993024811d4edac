"""In-place edits of a YAML mapping document that leave every untouched byte where it was.

The app changes frontmatter and `.dlm/training.yaml` for the user (a training knob, the mix weights). Loading
and re-dumping the whole YAML would normalize indentation, quoting, `~`, `True`, spacing and comments, so the
user would see their file rewritten. Instead the text is composed (PyYAML, the parser upstream validates
with), the node to change is located by its marks, and only that span is replaced or a new entry inserted,
in the indentation the file already uses (`yaml_spans`).

Every edit is then checked: the edited text must load (PyYAML) as exactly the old data with the one change,
types included. When it does not, the next candidate is tried and checked the same way: the splice again
with multi-line strings escaped instead of written as `|` blocks (an indented comment right after the
edit would otherwise be read as part of the block), then a ruamel round-trip edit (`yaml_roundtrip`, for
aliases and merge keys). If none loads as intended, a typed error asks the user to edit by hand; a wrong
edit is never returned.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from dlm_desktop.core.document.errors import DocumentError
from dlm_desktop.core.document.yaml_render import BlockStyle, check_value, render_block_entry
from dlm_desktop.core.document.yaml_spans import append_lines, insert_entry, is_null, remove_entry, replace_value

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class YamlSource:
    """Where a YAML text comes from, to report problems in the user's terms.

    `error` is the typed error to raise, `first_line` the 1-based line of the YAML's first line in its file
    (2 for frontmatter, after the opening `---`), `path` the file when known.
    """

    error: type[DocumentError]
    first_line: int = 1
    path: Path | None = None

    def fail(self, message: str, *, fix: str, yaml_line: int = 0, col: int = 0) -> DocumentError:
        """The typed error for a problem at 0-based `yaml_line` of the YAML text."""
        line = self.first_line + yaml_line
        return self.error(message, fix=fix, path=self.path, line=line, col=col)


def load_yaml_mapping(text: str, source: YamlSource) -> dict:
    """Load YAML as upstream does (`yaml.safe_load`): empty text is `{}`, a non-mapping top level an error."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source) from exc
    return _as_mapping(data, source)


def _as_mapping(data: Any, source: YamlSource) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise source.fail(
            f"the YAML must be a mapping of `key: value` lines, not a {type(data).__name__}",
            fix="write settings as `key: value` lines",
        )
    return data


def set_yaml_value(text: str, key_path: tuple[str, ...], value: Any, source: YamlSource) -> str:
    """Set `key_path` to `value` in the YAML text, creating missing mappings; everything else stays as is."""
    _check_key_path(key_path)
    check_value(value)
    root, old = _parse(text, source)
    style = guess_style(root)
    spliced = _splice_set(text, root, key_path, value, style, source)
    expected = _expected_after_set(old, key_path, value)

    def without_literal_blocks() -> str:
        # An indented comment right after the edit would be read as part of a `|` block: escape instead.
        return _splice_set(text, root, key_path, value, replace(style, literal_blocks=False), source)

    def roundtrip() -> str:
        from dlm_desktop.core.document.yaml_roundtrip import roundtrip_set

        return roundtrip_set(text, key_path, value, style)

    return _checked(spliced, expected, source, (without_literal_blocks, roundtrip), key_path)


def remove_yaml_value(text: str, key_path: tuple[str, ...], source: YamlSource) -> str:
    """Remove `key_path` (every duplicate of it); absent keys leave the text unchanged.

    A nested mapping left empty is written `{}` rather than disappearing, so its parent keeps its type.
    """
    _check_key_path(key_path)
    root, old = _parse(text, source)
    expected = _unshared_copy(old)
    holder = _dict_at(expected, key_path[:-1])
    if holder is None or key_path[-1] not in holder:
        return text
    del holder[key_path[-1]]
    spliced = _splice_remove(text, root, key_path)

    def roundtrip() -> str:
        from dlm_desktop.core.document.yaml_roundtrip import roundtrip_remove

        return roundtrip_remove(text, key_path, guess_style(root))

    return _checked(spliced, expected, source, (roundtrip,), key_path)


def guess_style(root: Node | None) -> BlockStyle:
    """The indentation the document already uses for nested mappings and for sequences under a key."""
    steps: Counter[int] = Counter()
    offsets: Counter[int] = Counter()
    for key, value in _block_entries(root):
        if not isinstance(value, (MappingNode, SequenceNode)) or value.flow_style:
            continue
        column = value.start_mark.column - key.start_mark.column
        if isinstance(value, MappingNode) and column > 0:
            steps[column] += 1
        elif isinstance(value, SequenceNode) and column >= 0:
            offsets[column] += 1
    step = steps.most_common(1)[0][0] if steps else 2
    return BlockStyle(step=step, seq_offset=offsets.most_common(1)[0][0] if offsets else step)


def same_data(left: Any, right: Any) -> bool:
    """Deep equality that also compares types (`True` is not `1`, `1` is not `1.0`) and treats NaN as NaN."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same_data(v, right[k]) for k, v in left.items())
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same_data, left, right))
    if isinstance(left, float) and math.isnan(left):
        return math.isnan(right)
    return left == right


# --- checking ---------------------------------------------------------------------------------------------


def _checked(
    spliced: str,
    expected: dict,
    source: YamlSource,
    fallbacks: tuple[Callable[[], str], ...],
    key_path: tuple[str, ...],
) -> str:
    """Return the first candidate text that loads as `expected`: the splice, else each fallback in turn."""
    if _loads_as(spliced, expected):
        return spliced
    for fallback in fallbacks:
        try:
            candidate = fallback()
        except Exception:  # noqa: BLE001 - ruamel refuses some inputs (duplicate keys); that is "cannot edit"
            continue
        if _loads_as(candidate, expected):
            return candidate
    dotted = ".".join(key_path)
    raise source.fail(
        f"cannot change `{dotted}` automatically in this YAML (it uses aliases, merge keys or unusual layout)",
        fix=f"edit `{dotted}` by hand",
    )


def _loads_as(text: str, expected: dict) -> bool:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return same_data({} if data is None else data, expected)


def _unshared_copy(data: Any) -> Any:
    """A deep copy in which YAML aliases become independent copies (deepcopy would keep them shared, and an
    edit of one place would then seem to be expected in the other)."""
    if isinstance(data, dict):
        return {key: _unshared_copy(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_unshared_copy(item) for item in data]
    return copy.copy(data)


def _expected_after_set(old: dict, key_path: tuple[str, ...], value: Any) -> dict:
    expected = _unshared_copy(old)
    holder = expected
    for key in key_path[:-1]:
        if not isinstance(holder.get(key), dict):
            holder[key] = {}
        holder = holder[key]
    holder[key_path[-1]] = _plain_python(value)
    return expected


def _plain_python(value: Any) -> Any:
    """What PyYAML gives back for a value we write (tuples come back as lists, numbers as plain numbers)."""
    if isinstance(value, (list, tuple)):
        return [_plain_python(item) for item in value]
    if isinstance(value, dict):
        return {k: _plain_python(v) for k, v in value.items()}
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _dict_at(data: dict, key_path: tuple[str, ...]) -> dict | None:
    for key in key_path:
        data = data.get(key)
        if not isinstance(data, dict):
            return None
    return data


def _check_key_path(key_path: tuple[str, ...]) -> None:
    if not key_path or not all(isinstance(key, str) for key in key_path):
        raise ValueError(f"key_path must be a non-empty tuple of strings, got {key_path!r}")


def _yaml_error(exc: yaml.YAMLError, source: YamlSource) -> DocumentError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    fix = "fix the YAML syntax on that line (indent with spaces, quote values that contain ': ' or '#')"
    if mark is None:
        return source.fail(f"YAML does not parse: {problem}", fix=fix)
    return source.fail(f"YAML does not parse: {problem}", fix=fix, yaml_line=mark.line, col=mark.column + 1)


def _parse(text: str, source: YamlSource) -> tuple[Node | None, dict]:
    """Compose the text (marks for the splice) and construct its data (as `yaml.safe_load` would) in one pass.

    Constructing flattens merge keys (`<<`) into the node tree, so a text that has them is loaded separately.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is None or _has_merge_key(root, set()):
            return root, load_yaml_mapping(text, source)
        return root, _as_mapping(yaml.SafeLoader("").construct_document(root), source)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source) from exc


def _has_merge_key(node: Node, seen: set[int]) -> bool:
    if id(node) in seen:
        return False
    seen.add(id(node))
    if isinstance(node, MappingNode):
        return any(key.tag == _MERGE_TAG or _has_merge_key(value, seen) for key, value in node.value)
    if isinstance(node, SequenceNode):
        return any(_has_merge_key(item, seen) for item in node.value)
    return False


def _block_entries(node: Node | None, seen: set[int] | None = None):
    """Every (key, value) node pair of every block mapping under `node` (aliases visited once)."""
    seen = set() if seen is None else seen
    if node is None or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if not node.flow_style:
                yield key, value
            yield from _block_entries(value, seen)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from _block_entries(item, seen)


# --- the splices ------------------------------------------------------------------------------------------


def _splice_set(
    text: str, root: Node | None, key_path: tuple[str, ...], value: Any, style: BlockStyle, source: YamlSource
) -> str:
    if root is None:
        lines = render_block_entry(key_path[0], _nest(key_path[1:], value), 0, style)
        return append_lines(text, len(text), lines)
    node = _require_mapping(root, (), source)
    for depth, key in enumerate(key_path):
        rest = key_path[depth + 1 :]
        hits = _entry_indexes(node, key)
        if not hits:
            return insert_entry(text, node, key, _nest(rest, value), style)
        key_node, value_node = node.value[hits[-1]]
        if not rest:
            return replace_value(text, node, key_node, value_node, value, style)
        if is_null(value_node):
            return replace_value(text, node, key_node, value_node, _nest(rest, value), style)
        node = _require_mapping(value_node, key_path[: depth + 1], source)
    raise AssertionError("unreachable")


def _splice_remove(text: str, root: Node, key_path: tuple[str, ...]) -> str:
    node = root
    chain: list[tuple[MappingNode, Node, Node]] = []
    for key in key_path[:-1]:
        hits = _entry_indexes(node, key) if isinstance(node, MappingNode) else []
        if not hits:  # the key comes from a merge key or an alias: leave it to the round-trip
            return text
        key_node, value_node = node.value[hits[-1]]
        chain.append((node, key_node, value_node))
        node = value_node
    hits = _entry_indexes(node, key_path[-1]) if isinstance(node, MappingNode) else []
    if chain and len(hits) == len(node.value):
        parent, key_node, value_node = chain[-1]
        return replace_value(text, parent, key_node, value_node, {}, guess_style(root))
    for index in reversed(hits):
        text = remove_entry(text, node, index)
    return text


def _require_mapping(node: Node, key_path: tuple[str, ...], source: YamlSource) -> MappingNode:
    if isinstance(node, MappingNode):
        return node
    where = f"`{'.'.join(key_path)}`" if key_path else "the top level"
    raise source.fail(
        f"{where} is not a mapping, so a key cannot be set inside it",
        fix=f"make {where} a mapping of `key: value` lines, or remove it",
        yaml_line=node.start_mark.line,
        col=node.start_mark.column + 1,
    )


def _entry_indexes(mapping: MappingNode, key: str) -> list[int]:
    """Indexes of the entries whose key loads as the string `key` (PyYAML keeps the last duplicate)."""
    return [
        index
        for index, (key_node, _value) in enumerate(mapping.value)
        if isinstance(key_node, ScalarNode) and key_node.tag == _STR_TAG and key_node.value == key
    ]


def _nest(key_path: tuple[str, ...], value: Any) -> Any:
    for key in reversed(key_path):
        value = {key: value}
    return value

"""Text edits at the marks of composed YAML nodes: replace a value, insert or remove a mapping entry.

These are the primitives of `yaml_splice`. Each one touches only the characters of the entry it edits (and,
in a flow mapping, the separator next to it), writes new values in the indentation it is given, and keeps a
comment that sat on the key's line in its column. None of them checks its result: `yaml_splice` reloads the
edited text and compares it with the intended data.
"""

from __future__ import annotations

from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode

from dlm_desktop.core.document.yaml_render import (
    BlockStyle,
    render_block_entry,
    render_block_value,
    render_inline,
    render_string,
)

_NULL_TAG = "tag:yaml.org,2002:null"


def is_null(node: Node) -> bool:
    """True for a null scalar (`null`, `~`, or nothing after the colon)."""
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


def is_empty_null(node: Node) -> bool:
    """True for the null of a key written with nothing after its colon."""
    return is_null(node) and node.start_mark.index == node.end_mark.index


def replace_value(text: str, parent: MappingNode, key_node: Node, value_node: Node, new: Any, style: BlockStyle) -> str:
    """Replace the value of one entry, keeping a comment that sits on the key's line."""
    if parent.flow_style:
        start, end = value_node.start_mark.index, node_end(text, value_node)
        rendered = render_inline(new, flow=True)
        if is_empty_null(value_node) and text[start - 1 : start] == ":":
            rendered = " " + rendered
        return text[:start] + rendered + text[end:]
    seam = text.index(":", key_node.end_mark.index) + 1
    key_line_end = _line_end(text, seam)
    value_end = node_end(text, value_node)
    if is_empty_null(value_node) or value_node.start_mark.index > key_line_end:
        tail_start, end = seam, max(key_line_end, _end_of_line_holding(text, value_end))
    elif value_end <= key_line_end:
        tail_start, end = value_end, key_line_end
    else:
        tail_start, end = key_line_end, value_end
    comment = text[tail_start:key_line_end].lstrip()
    comment_at = key_line_end - len(comment) - seam  # the comment's column, counted from the seam
    block = render_block_value(new, key_node.start_mark.column, style)
    if block is None:
        head = " " + render_inline(new)
        return text[:seam] + head + _realigned(comment, comment_at, head) + text[end:]
    header, lines = block
    return text[:seam] + header + _realigned(comment, comment_at, header) + "\n" + "\n".join(lines) + text[end:]


def _realigned(comment: str, comment_at: int, head: str) -> str:
    """The comment that sat on the key's line, kept in its column when the new value leaves room."""
    if not comment.startswith("#"):
        return ""
    return " " * max(1, comment_at - len(head)) + comment


def insert_entry(text: str, mapping: MappingNode, key: str, value: Any, style: BlockStyle) -> str:
    """Add `key: value` after the last entry of the mapping, in its style and indentation."""
    if mapping.flow_style:
        item = f"{render_string(key, flow=True, key=True)}: {render_inline(value, flow=True)}"
        if not mapping.value:
            close = mapping.end_mark.index - 1
            return text[:close] + item + text[close:]
        end = node_end(text, mapping.value[-1][1])
        return text[:end] + ", " + item + text[end:]
    indent = mapping.value[0][0].start_mark.column
    lines = render_block_entry(key, value, indent, style)
    return append_lines(text, _after_line(text, node_end(text, mapping.value[-1][1])), lines)


def remove_entry(text: str, mapping: MappingNode, index: int) -> str:
    """Remove entry `index` of the mapping: its whole lines in block style, the item and a comma in flow style."""
    key_node, value_node = mapping.value[index]
    if not mapping.flow_style:
        start = text.rfind("\n", 0, key_node.start_mark.index) + 1
        return text[:start] + text[_after_line(text, node_end(text, value_node)) :]
    if len(mapping.value) == 1:
        return text[: mapping.start_mark.index + 1] + text[mapping.end_mark.index - 1 :]
    if index + 1 < len(mapping.value):
        return text[: key_node.start_mark.index] + text[mapping.value[index + 1][0].start_mark.index :]
    previous_end = node_end(text, mapping.value[index - 1][1])
    return text[:previous_end] + text[node_end(text, value_node) :]


def append_lines(text: str, position: int, lines: list[str]) -> str:
    """Insert whole lines at `position` (a line start, or the end of a text that may lack its last newline)."""
    chunk = "\n".join(lines) + "\n"
    if position == len(text) and text and not text.endswith("\n"):
        chunk = "\n" + chunk
    return text[:position] + chunk + text[position:]


def node_end(text: str, node: Node) -> int:
    """Index just after the last character that belongs to `node` (trailing comments and blank lines excluded,
    except the blank lines a `|+` block keeps)."""
    if isinstance(node, ScalarNode):
        if node.style in ("|", ">"):
            start, end = node.start_mark.index, node.end_mark.index
            header = text[start : _line_end(text, start)].split("#")[0]
            return end if "+" in header else start + len(text[start:end].rstrip())
        return node.end_mark.index
    if node.flow_style or not node.value:
        return node.end_mark.index
    last = node.value[-1]
    return node_end(text, last[1] if isinstance(node, MappingNode) else last)


def _line_end(text: str, position: int) -> int:
    newline = text.find("\n", position)
    return len(text) if newline < 0 else newline


def _after_line(text: str, position: int) -> int:
    """Start of the line after the one holding `position` (a position at a line start counts as after)."""
    if position > 0 and text[position - 1] == "\n":
        return position
    newline = text.find("\n", position)
    return len(text) if newline < 0 else newline + 1


def _end_of_line_holding(text: str, position: int) -> int:
    """End (the newline) of the line holding the character just before `position`."""
    if position > 0 and text[position - 1] == "\n":
        return position - 1
    return _line_end(text, position)

"""The fallback edit: ruamel.yaml round-trip (load, change, dump) for YAML the splice cannot handle.

`yaml_splice` tries this only when its own minimal edit does not load back as intended (aliases, merge keys,
`|+` blocks in awkward places). Round-trip mode keeps comments, key order, quoting and flow/block style, but it
may normalize indentation and spacing of the whole text, which is why it is the second choice. New values are
wrapped so that ruamel (a YAML 1.2 writer) emits text PyYAML (YAML 1.1) reads as the same value.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from dlm_desktop.core.document.yaml_render import BlockStyle, render_float, render_string


class _ExactFloat(float):
    """A float that must be written in the form both YAML versions read as a float (`1.0e-05`, not `1e-05`)."""


def _represent_exact_float(representer, number: _ExactFloat):
    return representer.represent_scalar("tag:yaml.org,2002:float", render_float(number))


def roundtrip_set(text: str, key_path: tuple[str, ...], value: Any, style: BlockStyle) -> str:
    """Set `key_path` to `value` with a ruamel round-trip, creating missing (or null) mappings on the way."""
    round_trip = _round_trip_yaml(style)
    data = round_trip.load(text)
    if data is None:
        data = CommentedMap()
    holder = data
    for key in key_path[:-1]:
        if not isinstance(holder.get(key), dict):
            holder[key] = CommentedMap()
        holder = holder[key]
    holder[key_path[-1]] = _for_ruamel(value)
    return _dump(round_trip, data)


def roundtrip_remove(text: str, key_path: tuple[str, ...], style: BlockStyle) -> str:
    """Remove `key_path` with a ruamel round-trip (a no-op when it is absent)."""
    round_trip = _round_trip_yaml(style)
    data = round_trip.load(text)
    holder = data
    for key in key_path[:-1]:
        holder = holder.get(key) if isinstance(holder, dict) else None
    if isinstance(holder, dict) and key_path[-1] in holder:
        del holder[key_path[-1]]
    return _dump(round_trip, data)


def _round_trip_yaml(style: BlockStyle) -> YAML:
    round_trip = YAML(typ="rt")
    round_trip.preserve_quotes = True
    round_trip.width = 1 << 16  # never fold long lines
    round_trip.indent(mapping=style.step, sequence=style.seq_offset + 2, offset=style.seq_offset)
    round_trip.representer.add_representer(_ExactFloat, _represent_exact_float)
    return round_trip


def _dump(round_trip: YAML, data: Any) -> str:
    if data is None:
        return ""
    buffer = io.StringIO()
    round_trip.dump(data, buffer)
    return buffer.getvalue()


def _for_ruamel(value: Any) -> Any:
    """Wrap a new value so ruamel writes what `yaml_render` would: quoted when ambiguous, floats with a dot."""
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return _ExactFloat(value)
    if isinstance(value, str):
        rendered = render_string(value)
        if rendered.startswith("'"):
            return SingleQuotedScalarString(value)
        return DoubleQuotedScalarString(value) if rendered.startswith('"') else value
    if isinstance(value, (list, tuple)):
        return CommentedSeq(_for_ruamel(item) for item in value)
    return CommentedMap((key, _for_ruamel(item)) for key, item in value.items())

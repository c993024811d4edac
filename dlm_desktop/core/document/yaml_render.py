"""Write Python values as YAML text that every reader of a `.dlm` file reads back as the same value.

Upstream validates frontmatter with PyYAML (YAML 1.1: `yes`/`on` are booleans, `1e-4` is a *string* because a
1.1 float needs a dot and a signed exponent) while editors and ruamel speak YAML 1.2. A value written here
reads back identically under both:

* floats always carry a dot, and exponents a sign (`0.0002`, `1.0e-05`, `.inf`, `.nan`);
* a string is written plain only when both PyYAML and a YAML 1.2 loader read that exact plain text back as
  the same string (`yes`, `1e-4`, `null`, `~`, `007` and `a: b` all get quotes);
* multi-line strings in block context become literal blocks (`|`, `|-`) when that is exact, else escapes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

# Characters PyYAML accepts in a stream, minus the ones it treats as line breaks (NEL, LS, PS) and the BOM.
_UNSAFE_CHAR = re.compile(
    "[^\x09\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_PLAIN_BLOCK = re.compile(r"[\w./][\w .,/:+@=~()-]*\Z")
_PLAIN_FLOW = re.compile(r"[\w./][\w ./+@=~()-]*\Z")
_SHORT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}


@dataclass(frozen=True)
class BlockStyle:
    """How nested blocks are written: `step` spaces per mapping level, `seq_offset` spaces before a `-`, and
    whether multi-line strings may become literal blocks (`|`) rather than escaped one-liners."""

    step: int = 2
    seq_offset: int = 2
    literal_blocks: bool = True


def check_value(value: Any) -> None:
    """Raise TypeError unless `value` is made of None, bool, int, float, str, lists/tuples and str-keyed dicts."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            check_value(item)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"mapping keys must be strings, got {key!r}")
            check_value(item)
        return
    raise TypeError(f"cannot write a {type(value).__name__} into YAML: {value!r}")


def render_float(number: float) -> str:
    """A float in the form both YAML 1.1 and 1.2 read as the same float (shortest round-trip digits)."""
    if math.isnan(number):
        return ".nan"
    if math.isinf(number):
        return ".inf" if number > 0 else "-.inf"
    text = repr(float(number))
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    if "." not in mantissa:
        mantissa += ".0"
    if exponent[0] not in "+-":
        exponent = "+" + exponent
    return f"{mantissa}e{exponent}"


def render_string(text: str, *, flow: bool = False, key: bool = False) -> str:
    """One-line YAML for a string: plain when unambiguous everywhere, else single- or double-quoted."""
    if _plain_is_exact(text, flow, key):
        return text
    if "\n" not in text and not _UNSAFE_CHAR.search(text) and "\r" not in text:
        return "'" + text.replace("'", "''") + "'"
    return _double_quoted(text)


def render_inline(value: Any, *, flow: bool = False) -> str:
    """One-line YAML for a value; containers are written in flow style (`[a, b]`, `{k: v}`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return render_float(value)
    if isinstance(value, str):
        return render_string(value, flow=flow)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render_inline(item, flow=True) for item in value) + "]"
    if isinstance(value, dict):
        items = (f"{render_string(k, flow=True, key=True)}: {render_inline(v, flow=True)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    raise TypeError(f"cannot write a {type(value).__name__} into YAML")


def render_block_value(value: Any, indent: int, style: BlockStyle) -> tuple[str, list[str]] | None:
    """Block form of the value of a key written at column `indent`: (text after `key:`, following lines).

    Returns None when the value is best written inline after `key: ` (scalars, empty containers).
    """
    if isinstance(value, dict) and value:
        lines: list[str] = []
        for key, item in value.items():
            lines += render_block_entry(key, item, indent + style.step, style)
        return "", lines
    if isinstance(value, (list, tuple)) and value:
        return "", _block_sequence(value, indent + style.seq_offset, style)
    if isinstance(value, str) and style.literal_blocks and _literal_is_exact(value):
        pad = " " * (indent + style.step)
        chomp = "" if value.endswith("\n") else "-"
        body = value[:-1] if value.endswith("\n") else value
        return f" |{chomp}", [pad + line if line else "" for line in body.split("\n")]
    return None


def render_block_entry(key: str, value: Any, indent: int, style: BlockStyle) -> list[str]:
    """The lines of `key: value` written at column `indent` in a block mapping (no line breaks included)."""
    head = " " * indent + render_string(key, key=True) + ":"
    block = render_block_value(value, indent, style)
    if block is None:
        return [f"{head} {render_inline(value)}"]
    header, lines = block
    return [head + header, *lines]


def _block_sequence(items: list | tuple, indent: int, style: BlockStyle) -> list[str]:
    """A block sequence whose dashes sit at column `indent`; mappings in it are written in block style."""
    pad = " " * indent
    lines: list[str] = []
    for item in items:
        if isinstance(item, dict) and item:
            entry: list[str] = []
            for key, sub in item.items():
                entry += render_block_entry(key, sub, indent + 2, style)
            entry[0] = pad + "- " + entry[0][indent + 2 :]
            lines += entry
        else:
            lines.append(pad + "- " + render_inline(item))
    return lines


def _literal_is_exact(text: str) -> bool:
    """True when a `|` / `|-` literal block reproduces `text` exactly (with no indentation indicator)."""
    if "\n" not in text.rstrip("\n") or text.endswith("\n\n") or _UNSAFE_CHAR.search(text) or "\r" in text:
        return False
    first = next(line for line in text.split("\n") if line)
    return not first[0].isspace()


def _double_quoted(text: str) -> str:
    """A double-quoted scalar with every non-printable or line-breaking character escaped."""
    out = []
    for char in text:
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif _UNSAFE_CHAR.match(char):
            code = ord(char)
            out.append(f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


@lru_cache(maxsize=4096)
def _plain_is_exact(text: str, flow: bool, key: bool) -> bool:
    """Whether `text` written plain reads back as the same string in YAML 1.1 (PyYAML) and YAML 1.2 (ruamel)."""
    if not text or text != text.strip() or not (_PLAIN_FLOW if flow else _PLAIN_BLOCK).match(text):
        return False
    if ": " in text or text.endswith(":"):
        return False
    if key:
        probe, expected = (f"{{{text}: 0}}", {text: 0}) if flow else (f"{text}: 0\n", {text: 0})
    else:
        probe, expected = (f"[{text}]", [text]) if flow else (f"k: {text}\n", {"k": text})
    return _reads_back(probe, expected)


def _reads_back(probe: str, expected: Any) -> bool:
    from ruamel.yaml import YAML

    try:
        from_pyyaml = yaml.safe_load(probe)
        from_ruamel = YAML(typ="safe", pure=True).load(probe)
    except Exception:  # noqa: BLE001 - any failure to read back means "quote it"
        return False
    return _same_strings(from_pyyaml, expected) and _same_strings(from_ruamel, expected)


def _same_strings(got: Any, expected: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(got, dict) and list(got) == list(expected) and all(type(k) is str for k in got) and all(
            _same_strings(got[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return isinstance(got, list) and len(got) == len(expected) and all(map(_same_strings, got, expected))
    return type(got) is type(expected) and got == expected

"""Shared pieces of the parity-case generator: vocabulary, text snippets, YAML emission, document assembly."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


ODD_SEPARATORS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


ODD_SPACES = ["\xa0", "\u3000", "\u2003", "\t", "\x1f"]


WORDS = (
    "the model learns from every section of this document and keeps the answers short "
    "decorator function returns wrapper parser token heap block memory lexer runtime "
    "gradient adapter weight training prose instruction preference section fence "
    "café naïve résumé Zürich 東京 数据 模型 Ελληνικά русский עברית العربية 🙂 🚀 ✓ ∑ ∞"
).split()


ADAPTER_NAMES = ["knowledge", "tone", "lexer", "runtime", "code", "a", "z9", "x_y", "docs_v2"]


TAG_KEYS = ["lang", "kind", "tier", "domain", "owner", "generated", "docstring"]


TAG_VALUES = ["py", "md", "txt", "core", "extra", "auth", "true", "false", "gold", "low", "é", "x y"]


@dataclass


class Case:
    """One generated case: where its document is and what went into it."""

    name: str
    kind: str
    doc: str  # path of the document relative to the case folder
    features: list[str] = field(default_factory=list)
    a210: bool = False




def words(r: random.Random, lo: int = 2, hi: int = 12) -> str:
    return " ".join(r.choice(WORDS) for _ in range(r.randint(lo, hi)))


def sentence(r: random.Random) -> str:
    text = words(r)
    return text[:1].upper() + text[1:] + r.choice([".", "?", "!", "", ":"])


def ulid(r: random.Random) -> str:
    return "".join(r.choice(CROCKFORD) for _ in range(26))


def paragraph(r: random.Random, feats: list[str]) -> list[str]:
    """A few lines of markdown-ish prose."""
    out: list[str] = []
    for _ in range(r.randint(1, 3)):
        roll = r.random()
        if roll < 0.1:
            out.append("#" * r.randint(1, 4) + " " + words(r, 1, 5))
        elif roll < 0.2:
            out.append(r.choice(["- ", "* ", "1. "]) + words(r))
        elif roll < 0.25:
            out.append("> " + sentence(r))
        elif roll < 0.3:
            out.append("<!-- " + words(r, 1, 4) + " -->")
        elif roll < 0.34:
            out.append(r.choice(["---", "***", "___", "...", "--- ", "----"]))
            feats.append("hr")
        else:
            out.append(sentence(r))
    return out


def code_block(r: random.Random, feats: list[str], tricky: bool = True, qa_headers: bool = True) -> list[str]:
    """A fenced code block, sometimes holding lines that would otherwise be fences or headers."""
    opener = r.choice(["```", "```python", "```yaml", "````", "``` ", "```dlm"])
    body: list[str] = []
    for _ in range(r.randint(1, 5)):
        roll = r.random()
        if tricky and roll < 0.15:
            body.append(r.choice(["::instruction::", "::preference::", "::prose#x::", "::image::", "::weird::"]))
            feats.append("fence_in_code")
        elif tricky and roll < 0.25:
            body.append(r.choice(["### Q", "### A", "### Prompt", "### Chosen", "### Rejected"] if qa_headers
                                 else ["### Prompt", "### Chosen", "### Rejected", "## Q", "### Question"]))
            feats.append("header_in_code")
        elif roll < 0.4:
            body.append("")
            feats.append("blank_in_code")
        else:
            body.append("    " * r.randint(0, 2) + r.choice(["x = 1", "def f(a):", "return a * 2", "print('hi')",
                                                            "SELECT * FROM t;", "let y = z + 1;", words(r, 1, 4)]))
    closer = r.choice(["```", "```", "````", "``` "])
    return [opener, *body, closer]


def sprinkle_unicode(r: random.Random, line: str, feats: list[str]) -> str:
    """Put an odd line separator or an unusual space somewhere inside a line."""
    if not line:
        return line
    ch = r.choice(ODD_SEPARATORS + ODD_SPACES + ["\ufeff", "\u200b", "\x00", "\x7f", "\U0001F600"])
    feats.append("odd_char_" + format(ord(ch), "x"))
    pos = r.randint(0, len(line))
    return line[:pos] + ch + line[pos:]




class Raw:
    """A YAML fragment written verbatim (a scalar spelling, an alias, a flow collection)."""

    def __init__(self, text: str) -> None:
        self.text = text


def yaml_scalar(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if text == "" or any(c in text for c in ":#{}[],&*!|>'\"%@`\n") or text.strip() != text or \
            text.lower() in {"yes", "no", "on", "off", "true", "false", "null", "~", "y", "n"} or \
            text[:1] in "-?" or _looks_numeric(text):
        return json.dumps(text, ensure_ascii=False)
    return text


def _looks_numeric(text: str) -> bool:
    try:
        float(text.replace("_", ""))
        return True
    except ValueError:
        return text[:1].isdigit()


def emit_yaml(obj: dict[str, Any], indent: int = 0) -> list[str]:
    lines: list[str] = []
    pad = "  " * indent
    for key, value in obj.items():
        key_text = key.text if isinstance(key, Raw) else yaml_scalar(key)
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{key_text}:")
            lines.extend(emit_yaml(value, indent + 1))
        elif isinstance(value, dict):
            lines.append(f"{pad}{key_text}: {{}}")
        elif isinstance(value, list) and value:
            lines.append(f"{pad}{key_text}:")
            for item in value:
                if isinstance(item, dict) and item:
                    sub = emit_yaml(item, indent + 2)
                    first = sub[0].lstrip()
                    lines.append(f"{pad}  - {first}")
                    lines.extend(sub[1:])
                else:
                    lines.append(f"{pad}  - {yaml_scalar(item)}")
        elif isinstance(value, list):
            lines.append(f"{pad}{key_text}: []")
        else:
            lines.append(f"{pad}{key_text}: {yaml_scalar(value)}")
    return lines




def assemble(fm_lines: list[str], body: list[str], r: random.Random, feats: list[str],
             *, blank_after_fm: bool | None = None) -> str:
    parts = ["---", *fm_lines, "---"]
    if blank_after_fm if blank_after_fm is not None else r.random() < 0.75:
        parts.append("")
    parts.extend(body)
    text = "\n".join(parts)
    roll = r.random()
    if roll < 0.8:
        text += "\n"
    elif roll < 0.9:
        text += "\n" * r.randint(2, 3)
        feats.append("trailing_newlines")
    else:
        feats.append("no_final_newline")
    return text


def write_doc(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))

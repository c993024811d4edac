"""The Ollama `Modelfile`: FROM/ADAPTER, the dialect's TEMPLATE, stop strings, sampling parameters, SYSTEM
and LICENSE, after a block of header comments.

Values are quoted the way Ollama's Modelfile parser reads them back: it strips `"…"` or `\"\"\"…\"\"\"` and
processes no escape sequences, so a JSON-escaped string would reach the model with literal backslashes
(`\\n` instead of a line break). Plain one-line text is written in double quotes, anything with a line break
or a double quote in triple quotes; text containing three double quotes in a row cannot be represented
and is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dlm_desktop.core.export.errors import ModelfileError
from dlm_desktop.core.export.dialects import dialect, template_text

OLLAMA_NAME = re.compile(r"^(?:[A-Za-z0-9._-]+/)?[A-Za-z0-9._-]+(?::[A-Za-z0-9._-]+)?$")
OLLAMA_NAME_MAX = 128
DEFAULT_TEMPERATURE = 0.7
REASONING_TEMPERATURE = 0.6


@dataclass(frozen=True)
class ModelfileSpec:
    """Everything written into a Modelfile. File names are relative to the Modelfile's folder."""

    base_file: str
    adapter_file: str | None
    dialect: str
    stops: tuple[str, ...]
    temperature: float
    top_p: float
    num_ctx: int
    system: str | None = None
    license: str | None = None
    header: tuple[str, ...] = ()


def ollama_quote(text: str, *, what: str) -> str:
    """`text` quoted so Ollama's Modelfile parser returns it unchanged."""
    if '"""' in text:
        raise ModelfileError(
            f"the {what} contains three double quotes in a row, which a Modelfile cannot hold",
            fix=f"change the {what} so it has no \"\"\" in it",
        )
    if "\n" in text or "\r" in text or '"' in text or text != text.strip():
        return f'"""{text}"""'
    return f'"{text}"'


def render_modelfile(spec: ModelfileSpec) -> str:
    """The Modelfile text: directives in upstream's order, separated by blank lines, ending with LF."""
    blocks = ["\n".join(f"# {line}" for line in spec.header)] if spec.header else []
    sources = [f"FROM ./{spec.base_file}"]
    if spec.adapter_file:
        sources.append(f"ADAPTER ./{spec.adapter_file}")
    blocks.append("\n".join(sources))
    blocks.append(f'TEMPLATE """{template_text(spec.dialect)}"""')
    params = [f"PARAMETER stop {ollama_quote(stop, what='stop string')}" for stop in spec.stops]
    params += [
        f"PARAMETER temperature {_number(spec.temperature)}",
        f"PARAMETER top_p {_number(spec.top_p)}",
        f"PARAMETER num_ctx {int(spec.num_ctx)}",
    ]
    blocks.append("\n".join(params))
    if spec.system:
        blocks.append(f"SYSTEM {ollama_quote(spec.system, what='system prompt')}")
    if spec.license:
        blocks.append(f"LICENSE {ollama_quote(spec.license, what='licence')}")
    return "\n\n".join(blocks) + "\n"


def _number(value: float) -> str:
    return f"{float(value):g}"


def collect_stops(dialect_name: str, tokenizer_dir: Path) -> tuple[str, ...]:
    """The dialect's stop strings, then the tokenizer's EOS and every special added token, de-duplicated
    in that order."""
    found = list(dialect(dialect_name).stops)
    found += tokenizer_special_tokens(tokenizer_dir)
    return tuple(dict.fromkeys(stop for stop in found if stop))


def tokenizer_special_tokens(folder: Path) -> list[str]:
    """EOS, then special added tokens (`tokenizer_config.json`'s `added_tokens_decoder`, else
    `tokenizer.json`'s `added_tokens`), in id order."""
    config = _json_or_empty(folder / "tokenizer_config.json")
    tokens: list[str] = []
    eos = config.get("eos_token")
    if isinstance(eos, dict):
        eos = eos.get("content")
    if isinstance(eos, str):
        tokens.append(eos)
    decoder = config.get("added_tokens_decoder")
    if isinstance(decoder, dict) and decoder:
        entries = sorted(((int(key), value) for key, value in decoder.items()), key=lambda pair: pair[0])
        tokens += [value["content"] for _, value in entries if value.get("special")]
        return tokens
    added = _json_or_empty(folder / "tokenizer.json").get("added_tokens") or []
    tokens += [entry["content"] for entry in sorted(added, key=lambda e: e["id"]) if entry.get("special")]
    return tokens


def _json_or_empty(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def validate_ollama_name(name: str) -> str:
    """`name` if Ollama accepts it (`[namespace/]name[:tag]` of `[A-Za-z0-9._-]`, ≤128 characters, no `..`),
    else `ModelfileError`."""
    if not name or len(name) > OLLAMA_NAME_MAX or ".." in name or not OLLAMA_NAME.fullmatch(name):
        raise ModelfileError(
            f"{name!r} is not a valid Ollama model name",
            fix="use letters, digits, '.', '_' and '-', optionally 'namespace/' before and ':tag' after "
                "(at most 128 characters, no '..')",
        )
    return name


def default_ollama_name(dlm_id: str, adapter_version: int) -> str:
    """`dlm-<lowercase dlm_id>:v<NNNN>`, upstream's default."""
    return validate_ollama_name(f"dlm-{dlm_id.lower()}:v{adapter_version:04d}")


def sampling_defaults(
    dialect_name: str, *, reasoning_tuned: bool, temperature: float | None, top_p: float | None
) -> tuple[float, float]:
    """`(temperature, top_p)`: the document's export settings, else 0.7 (0.6 for reasoning bases) and the
    dialect's top_p."""
    chosen_temperature = temperature if temperature is not None else (
        REASONING_TEMPERATURE if reasoning_tuned else DEFAULT_TEMPERATURE
    )
    chosen_top_p = top_p if top_p is not None else dialect(dialect_name).top_p
    return chosen_temperature, chosen_top_p


def header_lines(pairs: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """`key: value` comment lines (line breaks in values are flattened so a comment stays one line)."""
    return tuple(f"{key}: {' '.join(str(value).split())}" if key else str(value) for key, value in pairs)

"""Seeded generator of `.dlm` parsing-parity cases.

Each case is a folder holding one `.dlm` document and, for some kinds, a source tree that the document's
`training.sources` directives read (nested `.dlm/training.yaml` and `.dlm/ignore` files, default-excluded files,
binaries, symlinks, ...). A `<case name>.json` file next to the folder (never inside it, where a directive could
read it) records the document path, the kind of case and the features that went into it, so differences can be
grouped.

    python benchmarks/parity/generate.py --cases 200 --seed 1 --out /tmp/cases

The same (seed, index) always gives the same case. Kinds:

* ``body``: a valid frontmatter and a rich body (prose, instruction, preference, routed fences, markers,
  code blocks, unicode).
* ``body_invalid``: the same with one deliberate body error (fence, marker, Q/A or preference grammar).
* ``frontmatter``: frontmatter variants (every key, migrations, YAML 1.1 oddities, anchors, unknown keys,
  bounds, adapters, gate rules), valid or not, over a small body.
* ``encoding``: line endings (CRLF, CR, mixed), BOMs, odd line separators, invalid UTF-8.
* ``sources``: source trees read through `training.sources`.
* ``mutation``: a valid document of another kind with a few random byte mutations.
* ``fm_matrix``, ``marker_matrix``, ``fence_matrix``, ``separator_matrix``, ``tree_matrix``: one edge value at a time
  (see `matrix.py`).
* ``a210``: cases that exercise DLM Desktop's deliberate difference A2.10 (implicit `section` / `adapter`
  weight keys, `<doc dir>/.dlm/training.yaml` read without a directive); compared separately.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from matrix import MATRIX_GENERATORS

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


# ----------------------------------------------------------------------------------------------------------------
# small text helpers


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


# ----------------------------------------------------------------------------------------------------------------
# YAML emission with control over every scalar's spelling


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


# ----------------------------------------------------------------------------------------------------------------
# frontmatter


def spell_float(r: random.Random, value: float) -> Any:
    """The same float written in one of the ways YAML 1.1 (PyYAML) reads differently."""
    choice = r.random()
    if choice < 0.5:
        return value
    if choice < 0.65:
        return Raw(f"{value:.0e}".replace("e-0", "e-"))  # `2e-4`: a *string* under YAML 1.1
    if choice < 0.8:
        return Raw(repr(value).replace("e-0", "e-"))
    if choice < 0.9:
        return Raw(f"'{value}'")  # a quoted string that pydantic coerces
    return Raw(f"{value:.1e}")  # `2.0e-04`: a float


def spell_int(r: random.Random, value: int) -> Any:
    choice = r.random()
    if choice < 0.6:
        return value
    if choice < 0.7:
        return Raw(f"{value}.0")
    if choice < 0.78:
        return Raw(f"'{value}'")
    if choice < 0.85 and value >= 0:
        return Raw(hex(value))
    if choice < 0.9 and value > 0:
        return Raw("0" + oct(value)[2:])  # YAML 1.1 octal
    if choice < 0.95 and value >= 1000:
        return Raw(f"{value:_}")
    return Raw(f"+{value}")


def training_key_values(r: random.Random) -> dict[str, Callable[[bool], Any]]:
    """Catalog of training keys: each makes a valid value (True) or a bad one (False)."""

    def pick(good: list[Any], bad: list[Any]) -> Callable[[bool], Any]:
        return lambda ok: r.choice(good) if ok else r.choice(bad)

    return {
        "adapter": pick(["lora", "qlora", "dora"], ["LoRA", "ia3", Raw("~"), 1]),
        "lora_r": lambda ok: spell_int(r, r.choice([1, 4, 8, 16, 64, 256])) if ok else r.choice(
            [0, 257, -1, Raw("8.5"), Raw("yes"), "eight"]),
        "lora_alpha": lambda ok: spell_int(r, r.choice([1, 16, 32, 1024])) if ok else r.choice([0, -3, Raw("1.5")]),
        "lora_dropout": lambda ok: spell_float(r, r.choice([0.0, 0.05, 0.1, 0.5])) if ok else r.choice(
            [0.51, -0.1, Raw("1e-1x")]),
        "target_modules": pick(["auto", ["q_proj", "v_proj"], [], Raw("[q_proj, k_proj, o_proj]")],
                               ["all", Raw("q_proj"), [1, 2], Raw("{a: 1}")]),
        "sequence_len": lambda ok: spell_int(r, r.choice([64, 512, 2048, 32768])) if ok else r.choice(
            [63, 32769, 0, Raw("2k")]),
        "micro_batch_size": pick(["auto", 1, 4, Raw("'auto'"), Raw("2.0")], [0, -1, "Auto", Raw("1.5"), Raw("true")]),
        "grad_accum": pick(["auto", 1, 8], [0, "many", Raw("~")]),
        "learning_rate": lambda ok: spell_float(r, r.choice([2e-4, 1e-4, 5e-5, 3e-3, 1.0])) if ok else r.choice(
            [0, -1e-4, Raw("0.0"), "fast"]),
        "num_epochs": lambda ok: spell_int(r, r.choice([1, 2, 3, 10])) if ok else r.choice([0, -1, Raw("2.5")]),
        "optimizer": pick(["adamw_torch", "adamw_bnb_8bit", "paged_adamw_8bit", "galore_adamw", "galore_adamw_8bit"],
                          ["adam", "sgd", Raw("ADAMW_TORCH")]),
        "lr_scheduler": pick(["cosine", "linear", "constant"], ["step", Raw("Cosine")]),
        "warmup_ratio": lambda ok: spell_float(r, r.choice([0.0, 0.1, 0.5, 0.05])) if ok else r.choice(
            [0.6, -0.1, Raw("10%")]),
        "precision": pick(["bf16", "fp16", "fp32", None, Raw("~")], ["fp8", "FP16", Raw("16")]),
        "seed": lambda ok: spell_int(r, r.choice([0, 1, 42, 1234, 2**31, -7])) if ok else r.choice(
            [Raw("4.2"), "seed", Raw("2024-01-01"), Raw("[1]")]),
        "preference": lambda ok: preference_block(r, ok),
        "cpt": lambda ok: {"schedule": r.choice(["auto", "dapt", "sft"]), "embed_warmup_steps": r.choice([0, 5])}
        if ok else r.choice([{"schedule": "daptx"}, {"embed_warmup_steps": -1}, {"extra": 1}]),
        "gate": lambda ok: gate_block(r, ok),
        "cache": lambda ok: {"enabled": r.choice([True, False, Raw("yes"), Raw("off")]),
                             "max_bytes": spell_int(r, r.choice([1, 1024, 10 * 1024**3])),
                             "prune_older_than_days": r.choice([1, 90, 365])}
        if ok else r.choice([{"max_bytes": 0}, {"prune_older_than_days": 0}, {"enabled": "maybe"}, {"size": 1}]),
        "audio": pick([{"auto_resample": True}, {"auto_resample": Raw("no")}, {}], [{"auto_resample": "sometimes"},
                                                                                  {"rate": 16000}]),
        "sources_policy": pick(["permissive", "strict"], ["lenient", Raw("STRICT")]),
    }


def preference_block(r: random.Random, ok: bool) -> Any:
    if not ok:
        return r.choice([{"method": "ppo"}, {"hyperparams": {"beta": 1.5}}, {"loss_type": "hinge2"},
                         {"reference": "pre_dpo_adapter"}, {"hyperparams": {"gamma": 1}}, Raw("true")])
    block: dict[str, Any] = {}
    for key, make in [("enabled", lambda: r.choice([True, False, Raw("yes")])),
                      ("method", lambda: r.choice(["dpo", "orpo"])),
                      ("hyperparams", lambda: {k: v for k, v in [("beta", r.choice([0.0, 0.1, 1.0])),
                                                                  ("alpha", 0.2),
                                                                  ("learning_rate", spell_float(r, 5e-6)),
                                                                  ("num_epochs", r.choice([1, 3]))]
                                               if r.random() < 0.5}),
                      ("loss_type", lambda: r.choice(["sigmoid", "hinge", "ipo"])),
                      ("reference", lambda: r.choice(["base", "pre_adapter"]))]:
        if r.random() < 0.5:
            block[key] = make()
    return block


def gate_block(r: random.Random, ok: bool) -> Any:
    if not ok:
        return r.choice([{"hidden_proj_dim": 7}, {"steps": 10001}, {"lr": 0}, {"lr": 1.5}, {"cold_start_floor": 0},
                         {"entropy_lambda": 2}, {"mode": "x"}])
    block: dict[str, Any] = {}
    for key, make in [("enabled", lambda: r.choice([True, False])),
                      ("hidden_proj_dim", lambda: r.choice([8, 16, 64, 2048])),
                      ("steps", lambda: r.choice([1, 200, 10000])),
                      ("lr", lambda: spell_float(r, r.choice([3e-4, 1.0, 0.003]))),
                      ("cold_start_floor", lambda: r.choice([1, 4, 1024])),
                      ("entropy_lambda", lambda: r.choice([0, 0.01, 1]))]:
        if r.random() < 0.4:
            block[key] = make()
    return block


def adapters_block(r: random.Random, ok: bool, feats: list[str]) -> tuple[Any, list[str]]:
    names = r.sample(ADAPTER_NAMES, r.randint(1, 3))
    block: dict[Any, Any] = {}
    for name in names:
        cfg: dict[str, Any] = {}
        for key, make in [("adapter", lambda: r.choice(["lora", "qlora", "dora"])),
                          ("lora_r", lambda: r.choice([4, 8, 16])),
                          ("lora_alpha", lambda: r.choice([8, 16, 32])),
                          ("lora_dropout", lambda: r.choice([0.0, 0.05, 0.1])),
                          ("target_modules", lambda: r.choice(["auto", ["q_proj", "v_proj"]])),
                          ("learning_rate", lambda: spell_float(r, r.choice([1e-4, 2e-4])))]:
            if r.random() < 0.3:
                cfg[key] = make()
        block[name] = cfg if cfg or r.random() < 0.5 else Raw(r.choice(["{}", "{}", "{}", "~", "null"]))
    if not ok:
        bad = r.randrange(5)
        if bad == 0:
            block = {}
            names = []
            feats.append("adapters_empty")
        elif bad == 1:
            block[r.choice(["Tone", "1tone", "tone-name", "_tone", "a" * 33, "tóne"])] = {}
            feats.append("adapters_bad_name")
        elif bad == 2:
            block[names[0]] = {"sequence_len": 512}
            feats.append("adapters_unknown_key")
        elif bad == 3:
            block[names[0]] = {"lora_r": 0}
            feats.append("adapters_out_of_bounds")
        else:
            block = Raw("[knowledge, tone]")
            names = []
            feats.append("adapters_list")
    return block, names


def make_frontmatter(r: random.Random, feats: list[str], *, valid: bool = True, rich: bool = False,
                     sources: list[dict[str, Any]] | None = None, policy: str | None = None,
                     adapters: bool | None = None) -> tuple[list[str], list[str], int]:
    """Frontmatter YAML lines (without the `---` delimiters), declared adapter names, and the seed.

    `valid=False` injects exactly one schema or YAML problem.
    """
    fm: dict[Any, Any] = {"dlm_id": ulid(r)}
    version_roll = r.random()
    if version_roll < 0.3:
        pass  # missing: migrates from v1
    elif version_roll < 0.9:
        fm["dlm_version"] = r.choice([1, 2, 5, 7, 8, 10, 14, 15, 15])
    else:
        fm["dlm_version"] = spell_int(r, r.choice([1, 15]))
        feats.append("version_spelled")
    fm["base_model"] = r.choice(["smollm2-135m", "qwen2.5-1.5b", "hf:org/name", "llama-3.2-1b", "x"])
    training: dict[Any, Any] = {}
    catalog = training_key_values(r)
    declared: list[str] = []
    want_adapters = adapters if adapters is not None else r.random() < 0.3
    if want_adapters:
        block, declared = adapters_block(r, True, feats)
        training["adapters"] = block
        feats.append(f"adapters_{len(declared)}")
    keys = list(catalog)
    n_keys = len(keys) if rich else r.choice([0, 0, 1, 2, 3, 5])
    for key in r.sample(keys, min(n_keys, len(keys))):
        if declared and key in ("adapter", "lora_r", "lora_alpha", "lora_dropout", "target_modules",
                                "learning_rate"):
            if r.random() < 0.1:
                training[key] = catalog[key](True)
                feats.append("flat_with_adapters")
                continue
            # with adapters declared the flat fields must stay at their defaults; sometimes spell the default
            training[key] = {"adapter": "lora", "lora_r": 8, "lora_alpha": 16, "lora_dropout": 0.05,
                             "target_modules": "auto", "learning_rate": spell_float(r, 2e-4)}[key]
            feats.append("flat_default_with_adapters")
            continue
        if key == "gate" and len(declared) < 2:
            training[key] = {"enabled": False, "steps": 50}
            continue
        training[key] = catalog[key](True)
    if declared and len(declared) >= 2 and r.random() < 0.3:
        training["gate"] = {"enabled": True, "cold_start_floor": r.choice([1, 4])}
        feats.append("gate_enabled")
    if sources is not None:
        training["sources"] = sources
    if policy is not None:
        training["sources_policy"] = policy
    seed = 42
    if "seed" in training:
        seed = _resolve_seed(training["seed"])
    if training or r.random() < 0.2:
        fm["training"] = training
    if rich or r.random() < 0.2:
        fm["export"] = {"default_quant": r.choice(["Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0"]),
                        "default_temperature": r.choice([None, 0.7, 2.0, Raw("1")]),
                        "default_top_p": r.choice([None, 0.9, 1.0])}
    if rich or r.random() < 0.2:
        fm["system_prompt"] = r.choice(["You are terse.", None, Raw("|\n  multi\n  line: yes\n"), "Ünïcode ✓",
                                        Raw(">-\n  folded\n  text")])
    if r.random() < 0.1 and "training" in fm:
        # v1 document with the old training.dpo block
        fm["dlm_version"] = 1
        fm["training"]["dpo"] = {k: v for k, v in [("enabled", r.choice([True, False])), ("beta", 0.2),
                                                   ("learning_rate", spell_float(r, 5e-6)), ("num_epochs", 2),
                                                   ("loss_type", r.choice(["sigmoid", "ipo"])),
                                                   ("reference", r.choice(["pre_dpo_adapter", "base"])),
                                                   ("unknown_dpo_key", 1)] if r.random() < 0.6}
        fm["training"].pop("preference", None)
        feats.append("v1_dpo")
    if not valid:
        inject_frontmatter_problem(r, fm, feats)
    lines = emit_yaml(fm)
    if r.random() < 0.1:
        lines = decorate_yaml(r, lines, feats)
    return lines, declared, seed


def _resolve_seed(value: Any) -> int:
    if isinstance(value, int):
        return value
    return 42  # spelled variants; only used to pick weights, not for expectations


def decorate_yaml(r: random.Random, lines: list[str], feats: list[str]) -> list[str]:
    """Comments, blank lines, an explicit document end, trailing spaces."""
    out = list(lines)
    for _ in range(r.randint(1, 3)):
        pos = r.randint(0, len(out))
        out.insert(pos, r.choice(["# a comment", "", "   ", "# ---", "#::instruction::"]))
    if r.random() < 0.3:
        idx = r.randrange(len(out))
        out[idx] = out[idx] + r.choice(["  ", " # trailing comment", "\t"])
    feats.append("yaml_decorated")
    return out


def inject_frontmatter_problem(r: random.Random, fm: dict[Any, Any], feats: list[str]) -> None:
    problem = r.randrange(22)
    if not isinstance(fm.get("training", {}), dict):
        fm["training"] = {}
    training = fm.setdefault("training", {})
    if problem == 0:
        fm.pop("dlm_id")
        feats.append("fm_missing_id")
    elif problem == 1:
        fm["dlm_id"] = r.choice([ulid(r).lower(), ulid(r)[:25], "01HZ4X7TGZM3J1A2B3C4D5E6FI", "0" * 27, Raw("12345"),
                                 "01HZ4X7TGZM3J1A2B3C4D5E6FU", "01HZ4X7TGZM3J1A2B3C4D5E6F7 "])
        feats.append("fm_bad_id")
    elif problem == 2:
        fm["dlm_version"] = r.choice([0, 16, 999, -1, Raw("true"), Raw("'15'"), Raw("15.0"), Raw("~"), Raw("[15]")])
        feats.append("fm_bad_version")
    elif problem == 3:
        fm.pop("base_model")
        feats.append("fm_missing_base")
    elif problem == 4:
        fm["base_model"] = r.choice(["", Raw("~"), Raw("123"), Raw("[a]")])
        feats.append("fm_bad_base")
    elif problem == 5:
        fm[r.choice(["extra", "dlm_ids", "Training", "name"])] = 1
        feats.append("fm_unknown_top")
    elif problem == 6:
        training[r.choice(["epochs", "lr", "lora_rank", "batch_size"])] = 3
        feats.append("fm_unknown_training")
    elif problem == 7:
        key = r.choice(list(training_key_values(r)))
        training[key] = training_key_values(r)[key](False)
        feats.append("fm_bad_value_" + key)
    elif problem == 8:
        fm["export"] = r.choice([{"default_quant": "F16"}, {"default_temperature": 0}, {"default_temperature": 2.5},
                                 {"default_top_p": 0}, {"default_top_p": 1.1}, {"quant": "Q8_0"}])
        feats.append("fm_bad_export")
    elif problem == 9:
        training["adapters"] = {"tone": {}}
        training["lora_r"] = r.choice([4, 16, Raw("16")])
        feats.append("fm_adapters_flat_conflict")
    elif problem == 10:
        training["adapters"] = {"tone": {}} if r.random() < 0.5 else None
        training["gate"] = {"enabled": True}
        feats.append("fm_gate_needs_two")
    elif problem == 11:
        block, _ = adapters_block(r, False, feats)
        training["adapters"] = block
    elif problem == 12:
        fm["system_prompt"] = Raw(r.choice(["123", "[a, b]", "{a: 1}", "yes"]))
        feats.append("fm_bad_system_prompt")
    elif problem == 13:
        training["sources"] = r.choice([Raw("'src'"), [{"include": ["*.py"]}], [{"path": ""}],
                                        [{"path": "src", "max_files": 0}], [{"path": "src", "extra": 1}],
                                        [{"path": "src", "max_bytes_per_file": -1}], Raw("{path: src}"),
                                        [{"path": "src", "include": "*.py"}]])
        feats.append("fm_bad_sources")
    elif problem == 14:
        training["cpt"] = {"schedule": "auto", "bogus": True}
        feats.append("fm_unknown_nested")
    elif problem == 15:
        fm["training"] = Raw(r.choice(["[]", "'lora'", "~", "3"]))
        feats.append("fm_training_not_mapping")
    elif problem == 16:
        fm["dlm_version"] = 1
        training["dpo"] = r.choice([{"enabled": True, "reference": "pre_dpo_adapter", "bogus": 1},
                                    Raw("[1, 2]"), Raw("~"), {"beta": 5}])
        training["preference"] = {"method": "orpo"}
        feats.append("fm_v1_dpo_odd")
    elif problem == 17:
        fm["training"] = Raw("&anchor {lora_r: 4}")
        fm["export"] = Raw("*anchor")
        feats.append("fm_anchor_misuse")
    elif problem == 18:
        fm[Raw("? complex")] = Raw("key")
        feats.append("fm_complex_key")
    elif problem == 19:
        training["seed"] = Raw(r.choice(["1:30", "0x2A", "0b101", "1_000", ".inf", "2024-01-01"]))
        feats.append("fm_seed_yaml11")
    elif problem == 20:
        training["micro_batch_size"] = Raw(r.choice(["yes", "'4'", "4.0", "0"]))
        feats.append("fm_mbs_spelled")
    else:
        training["target_modules"] = Raw(r.choice(["[q_proj, 1]", "auto_all", "~", "[]"]))
        feats.append("fm_target_modules_odd")


def raw_yaml_problem(r: random.Random, lines: list[str], feats: list[str]) -> list[str]:
    """Break the YAML text itself (not its schema)."""
    out = list(lines)
    problem = r.randrange(10)
    if problem == 0:
        out.insert(r.randint(0, len(out)), "\tbad: tab")
    elif problem == 1:
        out.append("dlm_id: duplicate-key-01HZ")
    elif problem == 2:
        out.insert(r.randint(0, len(out)), "  - stray list item")
    elif problem == 3:
        out.append("broken: [unclosed")
    elif problem == 4:
        out = ["- " + line for line in out]
    elif problem == 5:
        out.append("key: 'unterminated")
    elif problem == 6:
        out.append("alias: *nowhere")
    elif problem == 7:
        out = ["just a string"]
    elif problem == 8:
        out.append("bad: \x0b")
    else:
        out.append("%YAML 1.2")
    feats.append(f"yaml_broken_{problem}")
    return out


# ----------------------------------------------------------------------------------------------------------------
# body sections


def marker_lines(r: random.Random, kind: str, feats: list[str], valid: bool = True) -> list[str]:
    """Metadata marker comments that may lead an instruction or preference section."""
    out: list[str] = []
    if r.random() < 0.3:
        out.append(f'<!-- dlm-auto-harvest: source="{r.choice(["run_3_sway", "", "x y", "é"])}" -->')
        feats.append("marker_harvest")
    if kind == "preference" and r.random() < 0.4:
        attrs = {"judge_name": r.choice(["sway", "human", ""]),
                 "judge_score_chosen": r.choice(["0.9", "1", "-2.5e3", " 1.5", "1_0"]),
                 "judge_score_rejected": r.choice(["0.1", "0", "inf" if not valid else "0.3"]),
                 "mined_at": r.choice(["2026-04-24T10:18:42Z", "2026-04-24", "2026-04-24T10:18:42+02:00",
                                       "20260424T101842"]),
                 "mined_run_id": r.choice(["1", "7", "+3", "1_2"])}
        if not valid:
            bad = r.randrange(6)
            if bad == 0:
                attrs.pop(r.choice(list(attrs)))
            elif bad == 1:
                attrs["mined_run_id"] = r.choice(["0", "-1", "x", "1.5"])
            elif bad == 2:
                attrs["mined_at"] = r.choice(["yesterday", "2026-13-01", "24/04/2026"])
            elif bad == 3:
                attrs["judge_score_chosen"] = r.choice(["nan", "high", "1e999"])
            elif bad == 4:
                attrs["extra"] = "1"
            else:
                out.append("<!-- dlm-auto-mined:judge_name=\"x\" -->")
                feats.append("marker_mined_bad_syntax")
                return out
            feats.append(f"marker_mined_invalid_{bad}")
        items = list(attrs.items())
        r.shuffle(items)
        out.append("<!-- dlm-auto-mined: " + " ".join(f'{k}="{v}"' for k, v in items) + " -->")
        feats.append("marker_mined")
    if kind == "instruction" and r.random() < 0.4:
        attrs = {"synth_teacher": r.choice(["self", "gpt", "é"]), "synth_strategy": r.choice(["extraction", "qa"]),
                 "synth_at": r.choice(["2026-04-24T10:18:42Z", "2026-04-24"]),
                 "source_section_id": "".join(r.choice("0123456789abcdef") for _ in range(16))}
        if not valid:
            bad = r.randrange(5)
            if bad == 0:
                attrs.pop(r.choice(list(attrs)))
            elif bad == 1:
                attrs["source_section_id"] = r.choice(["ABCDEF0123456789", "abc", "g" * 16])
            elif bad == 2:
                attrs["synth_teacher"] = ""
            elif bad == 3:
                attrs["synth_at"] = "soon"
            else:
                attrs["synth_teacher"] = 'x" y="z'
            feats.append(f"marker_synth_invalid_{bad}")
        out.append("<!-- dlm-auto-synth: " + " ".join(f'{k}="{v}"' for k, v in attrs.items()) + " -->")
        feats.append("marker_synth")
    if r.random() < 0.02:
        # a near-miss marker stays content
        out.append(r.choice(['<!-- dlm-auto-harvest: source="x"-->', '<!--dlm-auto-harvest: source="x" -->',
                             '<!-- dlm-auto-harvest: source="x" --> ', "<!-- dlm-auto-synth -->"]))
        feats.append("marker_near_miss")
    return out


def header(r: random.Random, text: str, feats: list[str]) -> str:
    roll = r.random()
    if roll < 0.85:
        return text
    feats.append("header_padded")
    return r.choice([text + " ", text + "\t", "  " + text, text + "\xa0", "\u3000" + text, text + "  "])


def qa_body(r: random.Random, feats: list[str], long: bool) -> list[str]:
    out: list[str] = []
    for i in range(r.randint(1, 4 if long else 1)):
        if i:
            out.extend([""] * r.randint(1, 2))
            feats.append("multi_paragraph")
        if r.random() < 0.2:
            out.extend(code_block(r, feats, tricky=r.random() < 0.3, qa_headers=r.random() < 0.1))
            feats.append("code_in_answer")
        else:
            out.extend(paragraph(r, feats))
    return out


def instruction_body(r: random.Random, feats: list[str]) -> list[str]:
    out: list[str] = []
    if r.random() < 0.2:
        out.append("")
    for i in range(r.randint(1, 4)):
        if i:
            out.extend([""] * r.choice([0, 1, 1, 2]))
        q = "### Q !probe" if r.random() < 0.15 else "### Q"
        if q != "### Q":
            feats.append("probe")
        out.append(header(r, q, feats))
        out.extend(qa_body(r, feats, long=r.random() < 0.3))
        if r.random() < 0.4:
            out.append("")
        out.append(header(r, "### A", feats))
        out.extend(qa_body(r, feats, long=r.random() < 0.6))
        if r.random() < 0.15:
            out.extend(["", sentence(r)])
            feats.append("prose_between_pairs")
        if r.random() < 0.05:
            out.append("### Q " + words(r, 1, 3))  # not a header: absorbed into the answer
            feats.append("inline_q_in_answer")
    if r.random() < 0.3:
        out.extend([""] * r.randint(1, 3))
        feats.append("trailing_blank")
    return out


def instruction_body_invalid(r: random.Random, feats: list[str]) -> list[str]:
    problem = r.randrange(8)
    feats.append(f"qa_invalid_{problem}")
    good = instruction_body(r, feats)
    if problem == 0:
        return ["### Q " + sentence(r), "### A", sentence(r)]
    if problem == 1:
        return good + ["", "### Q", sentence(r)]
    if problem == 2:
        return ["### A", sentence(r)] + good
    if problem == 3:
        return ["### Q", "", "### A", sentence(r)]
    if problem == 4:
        return good + ["### Q", sentence(r), "### A", "   "]
    if problem == 5:
        return [sentence(r), ""] + good
    if problem == 6:
        return r.choice([[], [""], ["", "  ", ""]])
    return ["### Q", sentence(r), "### Q", sentence(r), "### A", sentence(r)]


def preference_body(r: random.Random, feats: list[str]) -> list[str]:
    out: list[str] = []
    for i in range(r.randint(1, 3)):
        if i:
            out.extend([""] * r.randint(0, 2))
        for name in ("### Prompt", "### Chosen", "### Rejected"):
            out.append(header(r, name, feats))
            out.extend(paragraph(r, feats)[: r.randint(1, 2)])
    if r.random() < 0.2:
        out.extend([""] * r.randint(1, 2))
    return out


def preference_body_invalid(r: random.Random, feats: list[str]) -> list[str]:
    problem = r.randrange(7)
    feats.append(f"pref_invalid_{problem}")
    if problem == 0:
        return ["### Prompt", sentence(r), "### Rejected", sentence(r), "### Chosen", sentence(r)]
    if problem == 1:
        return ["### Prompt", sentence(r), "### Chosen", sentence(r)]
    if problem == 2:
        return ["### Prompt " + sentence(r), "### Chosen", sentence(r), "### Rejected", sentence(r)]
    if problem == 3:
        return ["### Prompt", "", "### Chosen", sentence(r), "### Rejected", sentence(r)]
    if problem == 4:
        # a blank line inside a body ends it under the preference grammar
        return ["### Prompt", sentence(r), "", sentence(r), "### Chosen", sentence(r), "### Rejected", sentence(r)]
    if problem == 5:
        return [sentence(r)] + preference_body(r, feats)
    return r.choice([[], ["  "]])


def prose_body(r: random.Random, feats: list[str]) -> list[str]:
    out: list[str] = []
    for i in range(r.randint(1, 4)):
        if i:
            out.extend([""] * r.randint(1, 2))
        roll = r.random()
        if roll < 0.15:
            out.extend(code_block(r, feats))
        elif roll < 0.2:
            out.append(r.choice(["::instruction:: ", " ::instruction::", "::instruction::\t", ":: instruction::",
                                 "::instruction :: ", "::preference::  ", "::prose::\xa0"]))
            feats.append("near_fence")
        elif roll < 0.25:
            out.append(r.choice(["### Q", "### A", "### Prompt"]))
            feats.append("header_in_prose")
        elif roll < 0.28:
            out.append('<!-- dlm-auto-harvest: source="x" -->')
            feats.append("marker_in_prose")
        else:
            out.extend(paragraph(r, feats))
    if r.random() < 0.2:
        out.extend([""] * r.randint(1, 3))
    return out


def fence_line(r: random.Random, kind: str, declared: list[str], feats: list[str], route_ok: bool = True) -> str:
    """`::kind::` or a routed `::kind#name::`."""
    if r.random() < 0.35:
        if declared and route_ok and r.random() < 0.9:
            name = r.choice(declared)
        elif route_ok and not declared and r.random() < 0.7:
            name = r.choice(ADAPTER_NAMES)
            feats.append("routed_without_adapters")
        else:
            name = r.choice([n for n in ADAPTER_NAMES if n not in declared] or ["other"])
            feats.append("routed_undeclared")
        feats.append(f"routed_{kind}")
        return f"::{kind}#{name}::"
    return f"::{kind}::"


def build_body(r: random.Random, feats: list[str], declared: list[str], *, invalid: bool = False,
               allow_odd: bool = True) -> list[str]:
    """Body lines: leading prose (or not) and a run of fenced sections."""
    lines: list[str] = []
    if r.random() < 0.2:
        lines.append("")
        feats.append("leading_blank")
    if r.random() < 0.6:
        lines.extend(prose_body(r, feats))
    n_sections = r.randint(1, 6)
    bad_at = r.randrange(n_sections) if invalid else -1
    for idx in range(n_sections):
        if lines and r.random() < 0.8:
            lines.append("")
        if idx == bad_at:
            lines.extend(invalid_section(r, feats, declared))
            continue
        kind = r.choices(["instruction", "preference", "prose"], weights=[5, 2, 2])[0]
        lines.append(fence_line(r, kind, declared, feats, route_ok=not declared or r.random() < 0.97))
        if kind == "instruction":
            lines.extend(marker_lines(r, kind, feats))
            lines.extend(instruction_body(r, feats))
        elif kind == "preference":
            lines.extend(marker_lines(r, kind, feats))
            lines.extend(preference_body(r, feats))
        else:
            if r.random() < 0.1:
                lines.extend(marker_lines(r, "instruction", feats))  # markers are content in prose
            if r.random() < 0.1:
                feats.append("empty_prose_fence")
            else:
                lines.extend(prose_body(r, feats))
    if allow_odd and r.random() < 0.15:
        idx = r.randrange(len(lines)) if lines else 0
        if lines:
            lines[idx] = sprinkle_unicode(r, lines[idx], feats)
    if r.random() < 0.1:
        lines.append(r.choice(["", "", "  ", "\t"]))
    return lines


def invalid_section(r: random.Random, feats: list[str], declared: list[str]) -> list[str]:
    problem = r.randrange(12)
    if problem == 0:
        feats.append("fence_unknown")
        return [r.choice(["::Instruction::", "::weird::", "::mystery#tone::", "::#x::", "::prose-x::", "::-::"]),
                sentence(r)]
    if problem == 1:
        feats.append("fence_bad_suffix")
        return [f"::instruction#{r.choice(['', 'Tone', '1tone', 'tone-name', '_tone', 'a#b', 'x' * 33])}::",
                *instruction_body(r, feats)]
    if problem == 2:
        feats.append("fence_media_bare")
        return [r.choice(["::image::", "::audio::", "::image#x::"]), sentence(r)]
    if problem == 3:
        feats.append("fence_attr")
        return [r.choice(['::image path="fig.png"::', '::image path="fig.png" alt="a fig"::',
                          '::audio path="a.wav" transcript="hello"::', '::image path="a.png"   ::',
                          '::image alt="x"::', '::image path="a" path="b"::', '::image path="a" size="3"::',
                          '::image path="é.png"::', '::instruction path="x"::', '::widget path="x"::',
                          '::image\tpath="x.png"::', '::audio path="a.wav"::', '::prose path="x"::']), sentence(r)]
    if problem == 4:
        feats.append("unterminated_code")
        return ["::instruction::", "### Q", sentence(r), "### A", "```python", "x = 1"]
    if problem == 5:
        feats.append("qa_invalid")
        return ["::instruction::", *instruction_body_invalid(r, feats)]
    if problem == 6:
        feats.append("pref_invalid")
        return ["::preference::", *preference_body_invalid(r, feats)]
    if problem == 7:
        feats.append("marker_invalid")
        kind = r.choice(["instruction", "preference"])
        body = instruction_body(r, feats) if kind == "instruction" else preference_body(r, feats)
        return [f"::{kind}::", *marker_lines(r, kind, feats, valid=False), *body]
    if problem == 8:
        feats.append("routed_undeclared")
        name = r.choice([n for n in ADAPTER_NAMES if n not in declared])
        return [f"::instruction#{name}::", *instruction_body(r, feats)]
    if problem == 9:
        feats.append("empty_instruction")
        return ["::instruction::"]
    if problem == 10:
        feats.append("fence_in_qa_code")
        return ["::instruction::", "### Q", sentence(r), "### A", "```", "### Q", "inside code", "```"]
    feats.append("adjacent_fences")
    return ["::preference::", "::instruction::", *instruction_body(r, feats)]


# ----------------------------------------------------------------------------------------------------------------
# assembling documents


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


def gen_body_case(r: random.Random, case_dir: Path, feats: list[str], invalid: bool) -> str:
    fm, declared, _ = make_frontmatter(r, feats)
    body = build_body(r, feats, declared, invalid=invalid)
    text = assemble(fm, body, r, feats)
    write_doc(case_dir / "doc.dlm", text)
    return "doc.dlm"


def gen_frontmatter_case(r: random.Random, case_dir: Path, feats: list[str]) -> str:
    valid = r.random() < 0.45
    fm, declared, _ = make_frontmatter(r, feats, valid=valid, rich=r.random() < 0.3)
    if not valid and r.random() < 0.2:
        fm = raw_yaml_problem(r, fm, feats)
    if r.random() < 0.08:
        fm = YAML_SPECIALS[r.randrange(len(YAML_SPECIALS))](r, feats)
    body = build_body(r, feats, declared) if r.random() < 0.7 else []
    text = assemble(fm, body, r, feats)
    roll = r.random()
    if roll < 0.04:
        text = text.replace("---\n", "--- \n", 1)
        feats.append("open_delim_trailing_space")
    elif roll < 0.08:
        idx = text.find("\n---", 3)
        text = text[:idx] + "\n--- " + text[idx + 4:]
        feats.append("close_delim_trailing_space")
    elif roll < 0.1:
        text = "\n" + text
        feats.append("leading_newline")
    elif roll < 0.12:
        text = "---\n" + "\n".join(fm)
        feats.append("no_closing_delim")
    elif roll < 0.14:
        text = "---\n---\n" + "\n".join(build_body(r, feats, []))
        feats.append("empty_frontmatter")
    write_doc(case_dir / "doc.dlm", text)
    return "doc.dlm"


def _yaml_anchor_doc(r: random.Random, feats: list[str]) -> list[str]:
    feats.append("yaml_anchors")
    return [f"dlm_id: {ulid(r)}", "base_model: &bm smollm2-135m", "dlm_version: 15", "training:",
            "  adapters:", "    knowledge: &cfg {lora_r: 4, lora_alpha: 8}", "    tone: *cfg",
            "  cache: &c", "    enabled: false", "  seed: &s 7", "  num_epochs: *s",
            "system_prompt: *bm"]


def _yaml_merge_doc(r: random.Random, feats: list[str]) -> list[str]:
    feats.append("yaml_merge_key")
    return [f"dlm_id: {ulid(r)}", "base_model: smollm2-135m", "base: &base", "  lora_r: 16", "training:",
            "  <<: *base", "  lora_alpha: 32"]


def _yaml_merge_ok_doc(r: random.Random, feats: list[str]) -> list[str]:
    feats.append("yaml_merge_key_ok")
    return [f"dlm_id: {ulid(r)}", "base_model: smollm2-135m", "training: &t", "  lora_r: 16",
            "export:", "  <<: {default_quant: Q8_0}", "  default_top_p: 0.5"]


def _yaml_flow_doc(r: random.Random, feats: list[str]) -> list[str]:
    feats.append("yaml_flow")
    return ["{dlm_id: " + ulid(r) + ", base_model: 'hf:org/name', training: {seed: 3, lora_r: 0x10,",
            "  sources_policy: strict, learning_rate: 1e-3, warmup_ratio: .5}}"]


def _yaml_bool_doc(r: random.Random, feats: list[str]) -> list[str]:
    feats.append("yaml_11_bools")
    return [f"dlm_id: {ulid(r)}", "base_model: smollm2-135m", "training:", "  preference:",
            f"    enabled: {r.choice(['yes', 'no', 'on', 'off', 'Yes', 'NO', 'y', 'n'])}",
            f"  cache: {{enabled: {r.choice(['On', 'OFF', 'true', 'False'])}}}",
            f"  precision: {r.choice(['~', 'null', 'Null', 'NULL', ''])}"]


def _yaml_dup_doc(r: random.Random, feats: list[str]) -> list[str]:
    feats.append("yaml_duplicate_key")
    return [f"dlm_id: {ulid(r)}", "base_model: smollm2-135m", "training:", "  seed: 1", "  seed: 2"]


def _yaml_version_doc(r: random.Random, feats: list[str]) -> list[str]:
    feats.append("yaml_version_spelling")
    return [f"dlm_id: {ulid(r)}", "base_model: smollm2-135m",
            f"dlm_version: {r.choice(['0o17', '0xF', '017', '15', '+15', '1_5', '15.0', '1.5e1', '0b1111', 'true'])}"]


def _yaml_unicode_doc(r: random.Random, feats: list[str]) -> list[str]:
    feats.append("yaml_unicode")
    return [f"dlm_id: {ulid(r)}", "base_model: \"hf:org/ñame-✓\"", "system_prompt: \"line\\nbreak\\u2028sep\"",
            "training:", "  seed: 5"]


YAML_SPECIALS = [_yaml_anchor_doc, _yaml_merge_doc, _yaml_merge_ok_doc, _yaml_flow_doc, _yaml_bool_doc,
                 _yaml_dup_doc, _yaml_version_doc, _yaml_unicode_doc]


def gen_encoding_case(r: random.Random, case_dir: Path, feats: list[str]) -> str:
    fm, declared, _ = make_frontmatter(r, feats)
    body = build_body(r, feats, declared, allow_odd=False)
    # odd characters in several lines
    for _ in range(r.randint(1, 4)):
        if body:
            idx = r.randrange(len(body))
            body[idx] = sprinkle_unicode(r, body[idx], feats)
    if r.random() < 0.3 and body:
        # a separator right after a Q/A header or a fence
        for idx, line in enumerate(body):
            if line.strip() in ("### Q", "### A", "### Prompt") or line.startswith("::"):
                body[idx] = line + r.choice(ODD_SEPARATORS) + sentence(r)
                feats.append("separator_after_header")
                break
    text = assemble(fm, body, r, feats)
    style = r.randrange(8)
    if style == 0:
        text = text.replace("\n", "\r\n")
        feats.append("crlf")
    elif style == 1:
        text = text.replace("\n", "\r")
        feats.append("cr")
    elif style == 2:
        text = "".join(ch if ch != "\n" else r.choice(["\n", "\r\n", "\r"]) for ch in text)
        feats.append("mixed_eol")
    elif style == 3:
        text = text.replace("\n", "\r\r\n", 2)
        feats.append("double_cr")
    data = text.encode("utf-8")
    roll = r.random()
    if roll < 0.3:
        data = b"\xef\xbb\xbf" + data
        feats.append("bom")
    elif roll < 0.35:
        data = b"\xef\xbb\xbf\xef\xbb\xbf" + data
        feats.append("double_bom")
    elif roll < 0.45:
        pos = r.randint(len(data) // 2, len(data))
        data = data[:pos] + r.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf5\x80\x80\x80"]) + data[pos:]
        feats.append("invalid_utf8")
    elif roll < 0.5:
        data = data.replace(b"\n::", b"\n\xef\xbb\xbf::", 1)
        feats.append("bom_before_fence")
    elif roll < 0.55:
        idx = data.find(b"\n---", 3)
        if idx > 0:
            data = data[:idx + 1] + b"\xef\xbb\xbf" + data[idx + 1:]
            feats.append("bom_before_closing_delim")
    elif roll < 0.6:
        data = data.replace(b"---\n", b"---\r\n", 1)
        feats.append("crlf_first_line_only")
    write_doc(case_dir / "doc.dlm", data)
    return "doc.dlm"


# ----------------------------------------------------------------------------------------------------------------
# source trees


def tree_file_text(r: random.Random, feats: list[str]) -> bytes:
    roll = r.random()
    if roll < 0.05:
        feats.append("src_binary")
        return bytes(r.randrange(256) for _ in range(r.randint(10, 80))) + b"\x00" + b"tail"
    if roll < 0.08:
        feats.append("src_bad_utf8")
        return b"hello \xff\xfe world\n"
    if roll < 0.1:
        feats.append("src_empty")
        return b""
    if roll < 0.12:
        feats.append("src_whitespace")
        return b"  \n\n\t\n"
    if roll < 0.15:
        feats.append("src_crlf_bom")
        return b"\xef\xbb\xbf" + ("\r\n".join(sentence(r) for _ in range(3)) + "\r\n").encode()
    if roll < 0.18:
        feats.append("src_nul_late")
        return (sentence(r) + "\n").encode() * 120 + b"\x00"
    if roll < 0.2:
        feats.append("src_fence_like")
        return "::instruction::\n### Q\nq\n### A\na\n```\nunclosed\n".encode()
    lines = [sentence(r) for _ in range(r.randint(1, 8))]
    if r.random() < 0.2:
        lines.insert(0, "def f():\n    return 1")
    if r.random() < 0.1:
        lines.append(r.choice(ODD_SEPARATORS).join(["a", "b"]))
    return ("\n".join(lines) + r.choice(["\n", "", "\n\n"])).encode()


def tag_vocab(r: random.Random) -> tuple[list[str], list[str]]:
    """A small per-case set of tag keys and values, so metadata and weights of one tree meet often."""
    return r.sample(TAG_KEYS, r.randint(1, 3)), r.sample(TAG_VALUES, r.randint(1, 3))


def make_training_yaml(r: random.Random, feats: list[str], *, a210: bool = False,
                       vocab: tuple[list[str], list[str]] | None = None) -> str:
    keys, values = vocab if vocab is not None and r.random() < 0.85 else (TAG_KEYS, TAG_VALUES)
    cfg: dict[str, Any] = {}
    if r.random() < 0.5:
        cfg["dlm_training_version"] = r.choice([1, 1, 1, 2])
    if r.random() < 0.6:
        meta = {k: r.choice(values) for k in r.sample(keys, r.randint(1, len(keys)))}
        if r.random() < 0.08:
            meta[r.choice(TAG_KEYS)] = r.choice([Raw("3"), Raw("yes"), Raw("~"), Raw("[a]")])
            feats.append("yaml_meta_non_str")
        cfg["metadata"] = meta
    if r.random() < 0.6:
        weights: dict[str, Any] = {}
        for key in r.sample(keys, r.randint(1, len(keys))):
            weights[key] = {v: r.choice([0, 0.0, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 0.999, 1e-9, Raw("'2'"), 4, 10,
                                         Raw("1e0"), Raw(".5")])
                            for v in r.sample(values, r.randint(1, len(values)))}
        if r.random() < 0.05:
            weights[r.choice(TAG_KEYS)] = {r.choice(TAG_VALUES): r.choice([-1, Raw("yes"), Raw("heavy"), Raw("~")])}
            feats.append("yaml_weight_invalid")
        if r.random() < 0.03:
            weights[r.choice(TAG_KEYS)] = {Raw(r.choice(["1", "true", "~", "2024-01-01"])): 2}
            feats.append("yaml_weight_odd_key")
        if a210:
            weights[r.choice(["section", "adapter"])] = {r.choice(["prose", "instruction", "knowledge", "tone"]):
                                                         r.choice([0, 2, 3])}
            feats.append("a210_implicit_key")
        cfg["weights"] = weights
        feats.append("weights")
    if r.random() < 0.3:
        cfg["include"] = r.sample(["**/*.py", "**/*.md", "*.txt", "**/*", "docs/**", "**/test_*"], r.randint(1, 2))
    if r.random() < 0.3:
        cfg["exclude"] = r.sample(["**/*.txt", "secret*", "**/skip/**", "*.md", "a?.py"], r.randint(1, 2))
    if r.random() < 0.15:
        cfg["exclude_defaults"] = r.choice([False, True, Raw("no")])
        feats.append("exclude_defaults")
    if r.random() < 0.04:
        cfg["unknown_key"] = 1
        feats.append("yaml_training_unknown_key")
    if r.random() < 0.03:
        feats.append("yaml_training_broken")
        return "weights: [unclosed\n"
    if not cfg and r.random() < 0.5:
        return ""
    return "\n".join(emit_yaml(cfg)) + "\n"


def make_ignore(r: random.Random, feats: list[str]) -> str:
    feats.append("dlm_ignore")
    rules = r.sample(["# comment", "*.log", "!keep.log", "/top.txt", "build/", "**/tmp/**", "!", "/", "docs/*.md",
                      "!important.md", "*.txt", "sub/", "  ", "a?.py", "!**/*.py", "data/"], r.randint(1, 5))
    return "\n".join(rules) + "\n"


DEFAULT_EXCLUDED = [".git/config", ".git/HEAD", ".env", ".env.local", "sub/.env", "id_rsa", "keys/id_ed25519",
                    "cert.pem", "a.key", "secrets.yaml", "__pycache__/m.cpython-311.pyc", "m.pyc", ".venv/lib.py",
                    "node_modules/x/index.js", "app.min.js", "style.min.css", "app.js.map", "target/debug.txt",
                    "build/out.txt", "dist/pkg.txt", "generated/x.py", "package-lock.json", "yarn.lock",
                    "Cargo.lock", "uv.lock", "poetry.lock", "x.pdf", "a.zip", "b.tar.gz", "lib.so", "icon.ico",
                    "book.dlm/x.md"]
NEAR_DEFAULT = ["prod.env", "notsecrets.md", "my_id_rsa", "keynote.md", "env.txt", "builder/x.md", "distance.md",
                "sub/build/out.txt", "mapping.md", "x.maps", "node_modules.md", "target.md", "Cargo.lock.md"]


def build_tree(r: random.Random, root: Path, feats: list[str], case_dir: Path, *,
               a210: bool = False) -> tuple[list[str], tuple[list[str], list[str]]]:
    """Fill `root` with a small source tree; return its directories (relative, posix) and its tag vocabulary."""
    vocab = tag_vocab(r)
    dirs = ["."]
    for sub in r.sample(["docs", "pkg", "pkg/sub", "pkg/sub/deep", "tests", "skip", "tmp", "data", "pkg-extra",
                         "pkg.old", "pkg sub", "Docs", "docs_b"], r.randint(1, 6)):
        dirs.append(sub)
    files: list[str] = []
    for _ in range(r.randint(1, 10)):
        d = r.choice(dirs)
        name = r.choice(["a.py", "b.md", "c.txt", "README.md", "test_x.py", "keep.log", "x.log", "important.md",
                         "top.txt", "ü ñ.md", "space name.txt", "UPPER.TXT", "noext", ".hidden", "a1.py",
                         "img.png", "clip.wav", "clip.txt", "日本.md", "#hash.md", "tab\tname.md", "a-b.md",
                         "a.b.md", "new\nline.md", "back\\slash.md", "colon:name.md", "e\u0301.md", "é.md"])
        files.append(name if d == "." else f"{d}/{name}")
    if r.random() < 0.4:
        files.extend(r.sample(DEFAULT_EXCLUDED, r.randint(1, 4)))
        feats.append("default_excluded")
    if r.random() < 0.3:
        files.extend(r.sample(NEAR_DEFAULT, r.randint(1, 3)))
        feats.append("near_default_excluded")
    for rel in files:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(tree_file_text(r, feats))
    # nested .dlm configs
    for d in dirs:
        if r.random() < 0.5:
            meta_dir = (root / d / ".dlm")
            meta_dir.mkdir(parents=True, exist_ok=True)
            yaml_text = make_training_yaml(r, feats, a210=a210, vocab=vocab).encode("utf-8")
            style = r.random()
            if style < 0.05:
                yaml_text = b"\xef\xbb\xbf" + yaml_text.replace(b"\n", b"\r\n")
                feats.append("yaml_bom_crlf")
            elif style < 0.07:
                yaml_text += b"# \xff\n"
                feats.append("yaml_not_utf8")
            (meta_dir / "training.yaml").write_bytes(yaml_text)
            feats.append("training_yaml")
        if r.random() < 0.15:
            meta_dir = (root / d / ".dlm")
            meta_dir.mkdir(parents=True, exist_ok=True)
            (meta_dir / "ignore").write_text(make_ignore(r, feats), encoding="utf-8")
    if r.random() < 0.05:
        (root / "pkg" / ".dlm").mkdir(parents=True, exist_ok=True)  # bare .dlm directory
        feats.append("bare_dlm_dir")
    if r.random() < 0.05:
        (root / ".git" / ".dlm").mkdir(parents=True, exist_ok=True)
        (root / ".git" / ".dlm" / "training.yaml").write_text("exclude_defaults: false\nmetadata: {kind: vcs}\n")
        (root / ".git" / "config").write_text("[core]\n")
        feats.append("dlm_in_git")
    if r.random() < 0.15:
        make_symlinks(r, root, feats, case_dir)
    if r.random() < 0.05:
        big = root / "big.txt"
        big.write_text(sentence(r) * 400)
        feats.append("big_file")
    return dirs, vocab


def make_symlinks(r: random.Random, root: Path, feats: list[str], case_dir: Path) -> None:
    existing = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    kind = r.randrange(4)
    try:
        if kind == 0 and existing:
            src = r.choice(existing)
            link = root / ("link_" + src.name)
            if not link.exists():
                os.symlink(os.path.relpath(src, link.parent), link)
            feats.append("symlink_file")
        elif kind == 1:
            (root / "linked_dir").symlink_to("docs" if (root / "docs").is_dir() else ".", target_is_directory=True)
            feats.append("symlink_dir")
        elif kind == 2:
            (root / "dangling.md").symlink_to("does-not-exist.md")
            feats.append("symlink_dangling")
        elif root.resolve() != case_dir.resolve():
            outside = case_dir / "outside_tree"
            outside.mkdir(exist_ok=True)
            (outside / "secret_notes.md").write_text("outside the tree\n")
            (root / "escape.md").symlink_to(os.path.relpath(outside / "secret_notes.md", root))
            feats.append("symlink_escape")
    except OSError:
        pass


def gen_sources_case(r: random.Random, case_dir: Path, feats: list[str], *, a210: bool = False) -> str:
    layout = r.randrange(10)
    if layout < 6:
        doc_rel = "doc.dlm"
        corpus = case_dir
    elif layout < 8:
        doc_rel = "proj/notes.dlm"
        corpus = case_dir / "proj"
        (case_dir / "other").mkdir(parents=True, exist_ok=True)
        (case_dir / "other" / "o.md").write_text(sentence(r) + "\n")
        feats.append("doc_in_subdir")
    else:
        doc_rel = ".dlm/corpus.dlm"
        corpus = case_dir
        feats.append("scaffold_layout")
    corpus.mkdir(parents=True, exist_ok=True)
    tree_root = corpus / "src" if r.random() < 0.7 else corpus
    tree_root.mkdir(parents=True, exist_ok=True)
    dirs, vocab = build_tree(r, tree_root, feats, case_dir, a210=a210)
    prefix = "src/" if tree_root != corpus else ""
    directives: list[dict[str, Any]] = []
    for _ in range(r.randint(1, 3)):
        roll = r.random()
        d: dict[str, Any] = {}
        if roll < 0.35:
            d["path"] = (prefix or ".") if r.random() < 0.7 else r.choice(["./" + prefix, prefix + "." if prefix else "./"])
        elif roll < 0.55:
            sub = r.choice(dirs)
            d["path"] = (prefix + sub).rstrip("/.") or "."
        elif roll < 0.65:
            files = [p for p in tree_root.rglob("*") if p.is_file()]
            d["path"] = (r.choice(files).relative_to(corpus).as_posix() if files else "missing.txt")
            feats.append("directive_single_file")
        elif roll < 0.69:
            d["path"] = r.choice(["missing_dir", "src/nope.md", "/nonexistent/path/x"])
            feats.append("directive_missing")
        elif roll < 0.8:
            if doc_rel.startswith("proj/"):
                # leaves the document's folder but stays inside the case folder
                d["path"] = r.choice(["../other", "../other/o.md", "..", "src/../..", "../other/../proj"])
                feats.append("directive_escape")
            else:
                d["path"] = r.choice(["src/..", "./src/../src", "src/./", "src//"])
                feats.append("directive_dotted")
        else:
            d["path"] = "."
            feats.append("directive_dot")
        if r.random() < 0.3:
            d["include"] = r.sample(["**/*.py", "**/*.md", "*.txt", "**/*", "docs/**", "**/*.log", "?.md", "**"],
                                    r.randint(1, 2))
        if r.random() < 0.25:
            d["exclude"] = r.sample(["**/*.txt", "tests/**", "*.md", "**/README.md", "**/.hidden"], r.randint(1, 2))
        if r.random() < 0.15:
            d["max_files"] = r.choice([1, 2, 5])
            feats.append("max_files")
        if r.random() < 0.15:
            d["max_bytes_per_file"] = r.choice([1, 20, 100, 5000])
            feats.append("max_bytes")
        directives.append(d)
    covers_doc_dir = any(d["path"] in (".", "./") for d in directives)
    if (covers_doc_dir or a210) and r.random() < 0.6:
        meta = corpus / ".dlm"
        meta.mkdir(parents=True, exist_ok=True)
        (meta / "training.yaml").write_text(make_training_yaml(r, feats, a210=a210, vocab=vocab), encoding="utf-8")
        feats.append("doc_dir_training_yaml")
    if a210 and r.random() < 0.5:
        directives = [d for d in directives if d["path"] not in (".", "./")] or []
    own_yaml = corpus / ".dlm" / "training.yaml"
    if not a210 and own_yaml.exists() and not any(_covers(corpus, d["path"]) for d in directives):
        # A2.10: DLM Desktop reads the document folder's own training.yaml even when no directive reaches it;
        # upstream only when a directive does. Keep ordinary cases comparable.
        own_yaml.unlink()
        feats.append("own_training_yaml_dropped")
    policy = r.choice([None, None, "permissive", "strict"])
    if policy == "strict":
        feats.append("strict")
    fm, declared, _ = make_frontmatter(r, feats, sources=directives or None, policy=policy)
    body = build_body(r, feats, declared) if r.random() < 0.7 else []
    text = assemble(fm, body, r, feats)
    write_doc(case_dir / doc_rel, text)
    return doc_rel


def _covers(corpus: Path, directive_path: str) -> bool:
    """Whether a directive's tree contains the document folder (so upstream discovers its `.dlm/`)."""
    target = (corpus / directive_path).resolve()
    try:
        corpus.resolve().relative_to(target)
    except ValueError:
        return False
    return target.is_dir()


def gen_a210_case(r: random.Random, case_dir: Path, feats: list[str]) -> str:
    feats.append("a210")
    if r.random() < 0.5:
        # weights in the document's own folder, with no directive reaching it
        fm, declared, _ = make_frontmatter(r, feats)
        body = build_body(r, feats, declared)
        write_doc(case_dir / "doc.dlm", assemble(fm, body, r, feats))
        meta = case_dir / ".dlm"
        meta.mkdir(parents=True, exist_ok=True)
        (meta / "training.yaml").write_text(make_training_yaml(r, feats, a210=True), encoding="utf-8")
        feats.append("doc_dir_training_yaml_no_directive")
        return "doc.dlm"
    return gen_sources_case(r, case_dir, feats, a210=True)


def mutate(r: random.Random, data: bytes, feats: list[str]) -> bytes:
    out = bytearray(data)
    for _ in range(r.randint(1, 4)):
        if not out:
            break
        op = r.randrange(8)
        pos = r.randrange(len(out))
        if op == 0:
            out[pos] = r.randrange(256)
        elif op == 1:
            out[pos:pos] = r.choice([b"\n", b"\r", b":", b"::", b"#", b"`", b"```", b"-", b"---", b" ", b"\t",
                                     b"\x00", b"\xff", b"\xc3", b"\xe2\x80\xa8", b"### Q", b"### A", b"\n\n"])
        elif op == 2:
            del out[pos:pos + r.randint(1, 12)]
        elif op == 3:
            lines = bytes(out).split(b"\n")
            i = r.randrange(len(lines))
            lines.insert(i, lines[i])
            out = bytearray(b"\n".join(lines))
        elif op == 4:
            lines = bytes(out).split(b"\n")
            i, j = r.randrange(len(lines)), r.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            out = bytearray(b"\n".join(lines))
        elif op == 5:
            lines = bytes(out).split(b"\n")
            lines.insert(r.randrange(len(lines) + 1), r.choice([b"::instruction::", b"::preference::", b"::prose::",
                                                                 b"```", b"### Q", b"### A", b"### Prompt", b"",
                                                                 b"::instruction#tone::", b"---"]))
            out = bytearray(b"\n".join(lines))
        elif op == 6:
            del out[pos:]
        else:
            lines = bytes(out).split(b"\n")
            i = r.randrange(len(lines))
            lines[i] = lines[i] + b" "
            out = bytearray(b"\n".join(lines))
        feats.append(f"mut_{op}")
    return bytes(out)


def gen_mutation_case(r: random.Random, case_dir: Path, feats: list[str]) -> str:
    base_kind = r.choice(["body", "body", "frontmatter", "encoding", "sources"])
    feats.append("mutated_" + base_kind)
    doc_rel = GENERATORS[base_kind](r, case_dir, feats)
    path = case_dir / doc_rel
    path.write_bytes(mutate(r, path.read_bytes(), feats))
    return doc_rel


GENERATORS: dict[str, Callable[..., str]] = {
    "body": lambda r, d, f: gen_body_case(r, d, f, invalid=False),
    "body_invalid": lambda r, d, f: gen_body_case(r, d, f, invalid=True),
    "frontmatter": gen_frontmatter_case,
    "encoding": gen_encoding_case,
    "sources": gen_sources_case,
    "mutation": gen_mutation_case,
    "a210": gen_a210_case,
    **MATRIX_GENERATORS,
}
KIND_WEIGHTS = {"body": 18, "body_invalid": 8, "frontmatter": 11, "encoding": 8, "sources": 20, "mutation": 11,
                "a210": 3, "fm_matrix": 8, "marker_matrix": 4, "fence_matrix": 4, "separator_matrix": 4, "tree_matrix": 6}


def generate_case(out_dir: Path, seed: int, index: int, kind: str | None = None) -> Case:
    r = random.Random(f"{seed}:{index}")
    if kind is None:
        kind = r.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
    name = f"case_{index:05d}"
    case_dir = out_dir / name
    if case_dir.is_symlink() or case_dir.is_file():
        case_dir.unlink()
    elif case_dir.exists():
        shutil.rmtree(case_dir)
    case_dir.mkdir(parents=True)
    feats: list[str] = []
    doc_rel = GENERATORS[kind](r, case_dir, feats)
    case = Case(name=name, kind=kind, doc=doc_rel, features=sorted(set(feats)), a210=kind == "a210")
    # the description lives beside the case folder, never inside it (a directive could ingest it)
    (out_dir / f"{name}.json").write_text(json.dumps(case.__dict__, indent=1, ensure_ascii=False), encoding="utf-8")
    return case


def generate(out_dir: Path, n: int, seed: int, kind: str | None = None) -> list[Case]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [generate_case(out_dir, seed, i, kind) for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate .dlm parsing-parity cases.")
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--kind", choices=sorted(GENERATORS), default=None)
    args = parser.parse_args()
    cases = generate(args.out, args.cases, args.seed, args.kind)
    counts: dict[str, int] = {}
    for c in cases:
        counts[c.kind] = counts.get(c.kind, 0) + 1
    print(f"generated {len(cases)} cases in {args.out}: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()

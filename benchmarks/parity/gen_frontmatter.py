"""Frontmatter for parity cases: every schema key, YAML 1.1 spellings, migrations, and one injected problem."""

from __future__ import annotations

import random
from typing import Any, Callable

from gen_common import ADAPTER_NAMES, Raw, emit_yaml, ulid


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

"""Systematic parity cases: one edge value at a time, where the random generator is unlikely to land.

Kinds (registered in `generate.GENERATORS`):

* ``fm_matrix``: one frontmatter key (any nesting level) set to one YAML spelling from a large pool (YAML 1.1
  numbers, bools, nulls, dates, tags, anchors, flow collections, bounds), sometimes with `adapters` declared so
  flat-field defaults spelled differently are checked too.
* ``marker_matrix``: harvest / auto-mined / auto-synth marker lines with edge attribute values.
* ``fence_matrix``: fence lines with unusual whitespace, names, suffixes and attributes.
* ``separator_matrix``: instruction and preference bodies where odd line separators and unusual spaces sit at
  header lines and inside bodies (`str.splitlines` and `str.split("\\n")` disagree on them).
"""

from __future__ import annotations

import random
from pathlib import Path

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SEPARATORS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
SPACES = ["\xa0", "\u3000", "\u2003", "\t", "\x1f", "\u200b", "\ufeff", "\u180e", "\u202f", " "]

SPELLINGS = [
    "0", "1", "-1", "2", "4", "8", "8.0", "8.5", "'8'", '"8"', "0x8", "010", "0o10", "0b11", "1_000", "+8", "1e3",
    "1.0e+3", "1e-4", "2e-4", "0.0002", "2.0e-4", "'2e-4'", "0.00020", ".5", "-.5", ".inf", "-.inf", ".nan", "true",
    "false", "yes", "no", "on", "off", "y", "n", "True", "FALSE", "~", "null", "Null", "''", '""', "auto", "'auto'",
    "Auto", "lora", "qlora", "dora", "cosine", "dpo", "orpo", "strict", "permissive", "Q8_0", "F16", "bf16", "fp32",
    "[]", "{}", "[q_proj]", "[q_proj, v_proj]", "[auto]", "[1]", "{a: 1}", "2024-01-01", "2024-01-01T00:00:00Z",
    "1:30", "!!str 8", "!!int '8'", "!!float 1", "!!bool yes", "&a 8", "|\n    text", ">-\n    folded", "é",
    "32768", "32769", "63", "64", "256", "257", "0.5", "0.51", "1.0", "2.0", "0.05", "0.050", "5e-2", "10737418240",
    "99999999999999999999999", "-0", "0.0", "1e400", "0.1", "3e-4", "5e-06", "5.0e-6", "200", "10000", "10001",
    "2048", "2047.9", "1024", "1025", "7", "'16'", "16.0", "0.01", "1", "src", "'**/*.py'", "['**/*.py']",
]

# key paths: a tuple of keys; "[0]" marks the first item of a list
KEY_PATHS = [
    ("dlm_id",), ("dlm_version",), ("base_model",), ("system_prompt",), ("training",), ("export",),
    ("training", "adapter"), ("training", "lora_r"), ("training", "lora_alpha"), ("training", "lora_dropout"),
    ("training", "target_modules"), ("training", "sequence_len"), ("training", "micro_batch_size"),
    ("training", "grad_accum"), ("training", "learning_rate"), ("training", "num_epochs"), ("training", "optimizer"),
    ("training", "lr_scheduler"), ("training", "warmup_ratio"), ("training", "precision"), ("training", "seed"),
    ("training", "preference"), ("training", "preference", "enabled"), ("training", "preference", "method"),
    ("training", "preference", "hyperparams"), ("training", "preference", "hyperparams", "beta"),
    ("training", "preference", "hyperparams", "alpha"), ("training", "preference", "hyperparams", "learning_rate"),
    ("training", "preference", "hyperparams", "num_epochs"), ("training", "preference", "loss_type"),
    ("training", "preference", "reference"), ("training", "cpt"), ("training", "cpt", "schedule"),
    ("training", "cpt", "embed_warmup_steps"), ("training", "gate"), ("training", "gate", "enabled"),
    ("training", "gate", "hidden_proj_dim"), ("training", "gate", "steps"), ("training", "gate", "lr"),
    ("training", "gate", "cold_start_floor"), ("training", "gate", "entropy_lambda"), ("training", "cache"),
    ("training", "cache", "enabled"), ("training", "cache", "max_bytes"), ("training", "cache", "prune_older_than_days"),
    ("training", "audio"), ("training", "audio", "auto_resample"), ("training", "adapters"),
    ("training", "adapters", "knowledge"), ("training", "adapters", "knowledge", "adapter"),
    ("training", "adapters", "knowledge", "lora_r"), ("training", "adapters", "knowledge", "lora_alpha"),
    ("training", "adapters", "knowledge", "lora_dropout"), ("training", "adapters", "knowledge", "target_modules"),
    ("training", "adapters", "knowledge", "learning_rate"), ("training", "sources"), ("training", "sources_policy"),
    ("training", "sources", "[0]", "path"), ("training", "sources", "[0]", "include"),
    ("training", "sources", "[0]", "exclude"), ("training", "sources", "[0]", "max_bytes_per_file"),
    ("training", "sources", "[0]", "max_files"), ("export", "default_quant"), ("export", "default_temperature"),
    ("export", "default_top_p"), ("training", "dpo"), ("training", "dpo", "beta"), ("training", "dpo", "reference"),
    ("training", "dpo", "enabled"), ("training", "dpo", "learning_rate"), ("training", "dpo", "num_epochs"),
    ("training", "dpo", "loss_type"), ("training", "dpo", "other"), ("unknown",), ("training", "unknown"),
    ("training", "gate", "unknown"), ("training", "adapters", "knowledge", "unknown"), ("export", "unknown"),
]
FLAT_FIELDS = {"adapter", "lora_r", "lora_alpha", "lora_dropout", "target_modules", "learning_rate"}


def ulid(r: random.Random) -> str:
    return "".join(r.choice(CROCKFORD) for _ in range(26))


def _indent(text: str, pad: str) -> str:
    """A spelling placed after `key: `; block scalars continue on indented lines."""
    return text.replace("\n    ", "\n" + pad + "  ")


def frontmatter_yaml(r: random.Random, path: tuple[str, ...], spelling: str, feats: list[str]) -> list[str]:
    """A valid frontmatter with the value at `path` replaced by `spelling` (YAML text)."""
    tree: dict = {"dlm_id": ulid(r), "base_model": "smollm2-135m"}
    if path[:2] == ("training", "dpo") or r.random() < 0.2:
        tree["dlm_version"] = 1 if path[:2] == ("training", "dpo") else r.choice([1, 15])
    if path[-1] in FLAT_FIELDS and path[:2] == ("training", path[-1]) and r.random() < 0.4:
        tree.setdefault("training", {})["adapters"] = {"knowledge": {}, "tone": {}}
        feats.append("matrix_flat_with_adapters")
    if path[:2] == ("training", "gate") and r.random() < 0.5:
        tree.setdefault("training", {})["adapters"] = {"knowledge": {}, "tone": {}}
        tree["training"]["gate"] = {"enabled": True}
    node = tree
    for i, key in enumerate(path[:-1]):
        nxt = path[i + 1]
        if key == "[0]":
            continue
        if nxt == "[0]":
            node = node.setdefault(key, [{"path": "src"}])[0]
        else:
            existing = node.get(key)
            node = node.setdefault(key, {}) if existing is None or isinstance(existing, dict) else node
            if not isinstance(existing, (dict, type(None))):
                break
    node[path[-1]] = _RawSpelling(spelling)
    return _emit(tree, 0)


class _RawSpelling:
    def __init__(self, text: str) -> None:
        self.text = text


def _emit(tree: dict, depth: int) -> list[str]:
    pad = "  " * depth
    out: list[str] = []
    for key, value in tree.items():
        if isinstance(value, _RawSpelling):
            out.append(f"{pad}{key}: {_indent(value.text, pad)}")
        elif isinstance(value, dict) and value:
            out.append(f"{pad}{key}:")
            out.extend(_emit(value, depth + 1))
        elif isinstance(value, dict):
            out.append(f"{pad}{key}: {{}}")
        elif isinstance(value, list):
            out.append(f"{pad}{key}:")
            for item in value:
                lines = _emit(item, depth + 2)
                out.append(f"{pad}  - {lines[0].lstrip()}")
                out.extend(lines[1:])
        else:
            out.append(f"{pad}{key}: {value}")
    return out


BODY = ["", "# Notes", "", "::instruction::", "### Q", "What is a token?", "### A", "The smallest unit.", "",
        "::preference::", "### Prompt", "Say hi.", "### Chosen", "Hi.", "### Rejected", "Go away."]


def gen_fm_matrix(r: random.Random, case_dir: Path, feats: list[str]) -> str:
    path = r.choice(KEY_PATHS)
    spelling = r.choice(SPELLINGS)
    feats.append("matrix_key_" + ".".join(path))
    feats.append("matrix_spelling_" + spelling.split("\n")[0])
    lines = frontmatter_yaml(r, path, spelling, feats)
    (case_dir / "src").mkdir(exist_ok=True)
    (case_dir / "src" / "a.py").write_text("print('hi')\n")
    (case_dir / "src" / "b.md").write_text("# B\n")
    text = "\n".join(["---", *lines, "---", *BODY]) + "\n"
    (case_dir / "doc.dlm").write_text(text, encoding="utf-8")
    return "doc.dlm"


SCORE_VALUES = ["0.9", "1", "-2.5e3", " 1.5", "1.5 ", "1_0", "1e5", "inf", "-inf", "nan", "infinity", "1e999",
                "0x10", "", "+1", "-0", "1.", ".5", "१", "½", "1,5", "1e-400"]
TIME_VALUES = ["2026-04-24T10:18:42Z", "2026-04-24", "2026-04-24T10:18:42+02:00", "20260424T101842", "2026-W17-5",
               "2026-04-24 10:18", "2026-04-24T10", "2026-04-24T10:18:42.123456", "2026-04-24T10:18:42,5",
               "2026-4-24", "24/04/2026", "", "Z", "2026-04-24T25:00", "2026-04-24T10:18:42ZZ", "2026-04-24t10:18",
               "2026-04-24T10:18:42.1234567", "2026-04-24T10:18:42+0200", "2026-114", "2026-04-24T10:18:42-00:00"]
RUN_IDS = ["1", "7", "+3", "1_2", "0", "-1", "x", "1.5", " 4", "4 ", "01", "١", "99999999999999999999", ""]
SECTION_IDS = ["0123456789abcdef", "0123456789ABCDEF", "abc", "g" * 16, "0123456789abcde", "0123456789abcdef0",
               " 123456789abcdef", "٠123456789abcdef"]
TEXT_VALUES = ["self", "", " ", "x y", "é", "a'b", "a=b", "<!--", "-->"]


VALID = {"judge_name": "sway", "judge_score_chosen": "0.9", "judge_score_rejected": "0.1",
         "mined_at": "2026-04-24T10:18:42Z", "mined_run_id": "3", "synth_teacher": "self", "synth_strategy": "qa",
         "synth_at": "2026-04-24", "source_section_id": "0123456789abcdef"}


def _attrs(r: random.Random, names: list[str], pools: dict[str, list[str]]) -> str:
    edge = r.choice(names)  # one attribute gets an edge value, the others stay valid
    items = [(n, r.choice(pools[n]) if n == edge else VALID[n]) for n in names]
    roll = r.random()
    if roll < 0.08:
        items.pop(r.randrange(len(items)))
    elif roll < 0.14:
        items.append((r.choice(names), "dup"))
    elif roll < 0.18:
        items.append(("extra", "1"))
    r.shuffle(items)
    sep = r.choice([" ", " ", " ", "  ", "\t", "\xa0"])
    return sep.join(f'{k}="{v}"' for k, v in items)


def marker_line(r: random.Random, feats: list[str]) -> tuple[str, str]:
    """(marker line, section kind it is placed on)."""
    kind = r.choice(["harvest", "mined", "synth"])
    feats.append("matrix_marker_" + kind)
    if kind == "harvest":
        source = r.choice(TEXT_VALUES + ['a"b', "run_1"])
        line = r.choice([f'<!-- dlm-auto-harvest: source="{source}" -->', f'<!-- dlm-auto-harvest: source="{source}"  -->',
                         f'<!-- dlm-auto-harvest:  source="{source}" -->', f"<!-- dlm-auto-harvest: source='{source}' -->"])
        return line, r.choice(["instruction", "preference", "prose"])
    if kind == "mined":
        pools = {"judge_name": TEXT_VALUES, "judge_score_chosen": SCORE_VALUES, "judge_score_rejected": SCORE_VALUES,
                 "mined_at": TIME_VALUES, "mined_run_id": RUN_IDS}
        line = f"<!-- dlm-auto-mined: {_attrs(r, list(pools), pools)} -->"
        return line, r.choice(["preference", "preference", "preference", "instruction"])
    pools = {"synth_teacher": TEXT_VALUES, "synth_strategy": TEXT_VALUES, "synth_at": TIME_VALUES,
             "source_section_id": SECTION_IDS}
    line = f"<!-- dlm-auto-synth: {_attrs(r, list(pools), pools)} -->"
    return line, r.choice(["instruction", "instruction", "instruction", "preference"])


def section_body(kind: str) -> list[str]:
    if kind == "instruction":
        return ["### Q", "Why?", "### A", "Because."]
    if kind == "preference":
        return ["### Prompt", "Pick one.", "### Chosen", "This.", "### Rejected", "That."]
    return ["Some prose."]


def gen_marker_matrix(r: random.Random, case_dir: Path, feats: list[str]) -> str:
    body: list[str] = ["Intro prose."]
    for _ in range(r.randint(1, 3)):
        markers = []
        kind = None
        for _ in range(r.choice([1, 1, 1, 2, 3])):
            line, k = marker_line(r, feats)
            kind = kind or k
            markers.append(line)
        body.extend(["", f"::{kind}::", *markers, *section_body(kind)])
        if r.random() < 0.1:
            body.insert(len(body) - 2, markers[0])  # a marker after the first content line stays content
            feats.append("matrix_marker_late")
    text = "\n".join(["---", f"dlm_id: {ulid(r)}", "base_model: smollm2-135m", "---", *body]) + "\n"
    (case_dir / "doc.dlm").write_text(text, encoding="utf-8")
    return "doc.dlm"


FENCE_NAMES = ["prose", "instruction", "preference", "image", "audio", "Prose", "INSTRUCTION", "instructions", "video",
               "prose_", "pro-se", "", "#", "prose#", "prose#a", "instruction#a_b", "instruction#" + "a" * 32,
               "instruction#" + "a" * 33, "instruction#a#b", "preference#z9", "instruction#9a", "instruction#ä",
               "instruction#A", "instruction#a-b", "#a", "prose##a", "instruction#_a", "image#a", "audio#x"]
ATTR_KEYS = ["path", "alt", "transcript", "Path", "size", "path_", "p1"]
ATTR_VALUES = ["fig.png", "", "a b.png", "é.png", "a'b", "../x.wav", "x\x0by", "sub/dir/c.jpg"]


def fence_variant(r: random.Random, feats: list[str]) -> str:
    roll = r.random()
    if roll < 0.45:
        name = r.choice(FENCE_NAMES)
        line = f"::{name}::"
        feats.append("matrix_fence_bare")
    else:
        kind = r.choice(["image", "audio", "image", "prose", "instruction", "widget", "Image", "9x"])
        ws = [r.choice(SEPARATORS + SPACES + [" ", " ", "  "]) for _ in range(3)]
        attrs = "".join(f'{ws[i % 3]}{r.choice(ATTR_KEYS)}="{r.choice(ATTR_VALUES)}"' for i in range(r.randint(1, 3)))
        closing = r.choice(["", "", " ", "\t", "\u2028", "\xa0", "  "])
        line = f"::{kind}{attrs}{closing}::"
        feats.append("matrix_fence_attr")
    if r.random() < 0.15:
        line = r.choice(["", " ", "\t"]) + line + r.choice(["", " ", "\t", "\u2028", "\x85", "\x0c"])
        feats.append("matrix_fence_padded")
    return line


def gen_fence_matrix(r: random.Random, case_dir: Path, feats: list[str]) -> str:
    adapters = r.random() < 0.5
    body: list[str] = ["Intro prose."]
    for _ in range(r.randint(1, 3)):
        line = fence_variant(r, feats)
        kind = "instruction" if "instruction" in line else "preference" if "preference" in line else "prose"
        body.extend(["", line, *section_body(kind)])
    head = ["---", f"dlm_id: {ulid(r)}", "base_model: smollm2-135m"]
    if adapters:
        head += ["training:", "  adapters:", "    a: {}", "    z9: {}", "    a_b: {}", "    " + "a" * 32 + ": {}"]
    text = "\n".join([*head, "---", *body]) + "\n"
    (case_dir / "doc.dlm").write_text(text, encoding="utf-8")
    return "doc.dlm"


def _odd(r: random.Random) -> str:
    return r.choice(SEPARATORS + SPACES)


def gen_separator_matrix(r: random.Random, case_dir: Path, feats: list[str]) -> str:
    kind = r.choice(["instruction", "instruction", "preference"])
    lines = section_body(kind) * r.randint(1, 2)
    if kind == "instruction" and r.random() < 0.3:
        lines[0] = "### Q !probe"
    for _ in range(r.randint(1, 3)):
        i = r.randrange(len(lines))
        where = r.randrange(4)
        ch = _odd(r)
        if where == 0:
            lines[i] = ch + lines[i]
        elif where == 1:
            lines[i] = lines[i] + ch
        elif where == 2:
            lines[i] = lines[i] + ch + r.choice(["more text", "### A", "### Q", "### Chosen", "", "::prose::"])
        else:
            lines.insert(i, r.choice([ch, ch * 2, "", ch + " "]))
        feats.append(f"matrix_sep_{where}_{ord(ch):x}")
    body = ["Intro.", "", f"::{kind}::", *lines]
    if r.random() < 0.3:
        body = [ln + _odd(r) if ln.startswith("::") else ln for ln in body]
    if r.random() < 0.2:
        body.insert(0, _odd(r))  # leading prose made only of an odd character
    text = "\n".join(["---", f"dlm_id: {ulid(r)}", "base_model: smollm2-135m", "---", *body]) + "\n"
    (case_dir / "doc.dlm").write_text(text, encoding="utf-8")
    return "doc.dlm"


MATRIX_GENERATORS = {
    "fm_matrix": gen_fm_matrix,
    "marker_matrix": gen_marker_matrix,
    "fence_matrix": gen_fence_matrix,
    "separator_matrix": gen_separator_matrix,
}


GLOBS = ["**/*.py", "*.py", "**/*.md", "*.md", "**", "**/*", "*", "docs/**", "docs/*", "pkg/**/x.py", "**/x.py",
         "pkg/**", "**/sub/**", "?.md", "??.txt", "a*", "**/a*", "*.[ch]", "x+y.md", "(a).md", "**/*.log", "***",
         "a**b", "**/", "pkg/", "/pkg/**", "./a.py", "**/.hidden", ".*", "**/.*", "*.txt", "**/*.TXT", "tests/**",
         "**/test_*", "sub/deep/**", "", "**/*.min.js", "docs/**/*.md", "**/docs/**"]
IGNORE_RULES = ["*.log", "!keep.log", "/top.txt", "build/", "**/tmp/**", "docs/*.md", "!docs/keep.md", "*.txt",
                "sub/", "a?.py", "!**/*.py", "data/", "/pkg/", "pkg/sub/", "!pkg/sub/x.py", "**", "!*", "*.md",
                "deep", "/deep", "x.py", "# x.py", "  *.md  ", "\\#hash.md", "!", "/", "//", "*/", "**/", "!/top.txt",
                "docs", "/docs/", "tmp/"]
TREE_FILES = ["a.py", "b.md", "top.txt", "keep.log", "x.log", "docs/a.md", "docs/keep.md", "docs/sub/b.md",
              "pkg/x.py", "pkg/a.py", "pkg/sub/x.py", "pkg/sub/deep/y.md", "pkg/sub/deep/x.py", "tmp/t.txt",
              "data/d.txt", "build/b.txt", "tests/test_a.py", "a1.py", "ab.py", ".hidden", "x+y.md", "(a).md",
              "a.c", "a.h", "UP.TXT", "sub/s.md", "deep/d.md", "#hash.md", "pkg-extra/e.md", "pkg.old/o.md",
              "docs-old/z.md", "a b/c.md", "lib.min.js", "secrets.txt", ".env.sample", "x.pem.md"]


def gen_tree_matrix(r: random.Random, case_dir: Path, feats: list[str]) -> str:
    """A tree with many files and many include / exclude / ignore rules, read by one or two directives."""
    root = case_dir / "src"
    values = r.sample(["py", "md", "core", "x y", "é"], 3)
    keys = r.sample(["lang", "tier", "kind"], 2)
    for rel in r.sample(TREE_FILES, r.randint(8, len(TREE_FILES))):
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        ending = r.choice(["\n", "\r\n", "\r", ""])
        target.write_bytes(f"content of {rel}{ending}line two{ending}".encode())
    dirs = sorted({p.parent.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()})
    for d in r.sample(dirs, min(len(dirs), r.randint(1, 4))):
        meta = root / d / ".dlm"
        meta.mkdir(parents=True, exist_ok=True)
        lines = []
        if r.random() < 0.4:
            lines.append("include: [" + ", ".join(f"'{g}'" for g in r.sample(GLOBS, r.randint(1, 2))) + "]")
        if r.random() < 0.5:
            lines.append("exclude: [" + ", ".join(f"'{g}'" for g in r.sample(GLOBS, r.randint(1, 2))) + "]")
        if r.random() < 0.2:
            lines.append(f"exclude_defaults: {r.choice(['false', 'true'])}")
        if r.random() < 0.7:
            lines.append("metadata: {" + ", ".join(f"{k}: '{r.choice(values)}'" for k in r.sample(keys, r.randint(1, 2)))
                         + "}")
        if r.random() < 0.6:
            lines.append("weights: {" + ", ".join(
                f"{k}: {{'{r.choice(values)}': {r.choice(['0', '0.5', '1.5', '2', '3', '0.25', '1'])}}}"
                for k in r.sample(keys, r.randint(1, 2))) + "}")
        if r.random() < 0.08:
            lines.append(r.choice(["weights: {lang: {}}", "weights: {}", "weights: ~", "metadata: {}", "metadata: ~",
                                   "weights: {kind: {'x y': 1e6}}", "weights: {tier: {'é': 0.1}, lang: {py: 30}}",
                                   "dlm_training_version: 1", "weights: {lang: {py: .nan}}",
                                   "weights: {lang: {py: .inf}}"]))
            feats.append("tree_yaml_edge_weights")
        if r.random() < 0.05:
            lines = ["include: [unclosed"]
            feats.append("tree_yaml_broken")
        (meta / "training.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        if r.random() < 0.5:
            (meta / "ignore").write_text("\n".join(r.sample(IGNORE_RULES, r.randint(1, 5))) + "\n", encoding="utf-8")
            feats.append("tree_ignore")
    if r.random() < 0.2:
        (root / "docs_link").symlink_to("docs", target_is_directory=True)
        feats.append("tree_symlink_dir")
    directives = []
    for _ in range(r.choice([1, 1, 2])):
        d = [f"    - path: {r.choice(['src', 'src/', 'src/pkg', 'src/docs', 'src/a.py', str(root), 'src/docs_link', 'doc.dlm', '.'])}"]
        if r.random() < 0.4:
            d.append("      include: [" + ", ".join(f"'{g}'" for g in r.sample(GLOBS, r.randint(1, 3))) + "]")
        if r.random() < 0.3:
            d.append("      exclude: [" + ", ".join(f"'{g}'" for g in r.sample(GLOBS, r.randint(1, 2))) + "]")
        if r.random() < 0.15:
            d.append(f"      max_files: {r.choice([1, 3, 10])}")
        if r.random() < 0.15:
            d.append(f"      max_bytes_per_file: {r.choice([5, 25, 40])}")
        directives.extend(d)
    feats.append("tree_matrix")
    head = ["---", f"dlm_id: {ulid(r)}", "base_model: smollm2-135m", "training:",
            f"  seed: {r.choice([0, 1, 42, 7])}", "  sources:", *directives]
    if r.random() < 0.3:
        head.append("  sources_policy: strict")
    text = "\n".join([*head, "---", "Body prose."]) + "\n"
    (case_dir / "doc.dlm").write_text(text, encoding="utf-8")
    return "doc.dlm"


MATRIX_GENERATORS["tree_matrix"] = gen_tree_matrix

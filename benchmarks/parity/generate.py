"""Seeded generator of `.dlm` parsing-parity cases.

Each case is a folder holding one `.dlm` document and, for some kinds, a source tree that the document's
`training.sources` directives read (nested `.dlm/training.yaml` and `.dlm/ignore` files, default-excluded files,
binaries, symlinks, ...). A `<case name>.json` file next to the folder (never inside it, where a directive could
read it) records the document path, the kind of case and the features that went into it, so differences can be
grouped.

    python benchmarks/parity/generate.py --cases 200 --seed 1 --out /tmp/cases

The pieces live in `gen_common.py` (text, YAML emission), `gen_frontmatter.py`, `gen_body.py`, `gen_sources.py`
and `matrix.py`; this module holds the kinds of cases and the command line.

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
import random
import shutil
from pathlib import Path
from typing import Callable

from gen_body import build_body
from gen_common import Case, ODD_SEPARATORS, assemble, sentence, sprinkle_unicode, write_doc
from gen_frontmatter import YAML_SPECIALS, make_frontmatter, raw_yaml_problem
from gen_sources import gen_a210_case, gen_sources_case
from matrix import MATRIX_GENERATORS


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

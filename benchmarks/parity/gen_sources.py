"""Source trees for parity cases: files, nested `.dlm/training.yaml` and `.dlm/ignore`, symlinks, directives."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

from gen_body import build_body
from gen_common import ODD_SEPARATORS, Raw, TAG_KEYS, TAG_VALUES, assemble, emit_yaml, sentence, write_doc
from gen_frontmatter import make_frontmatter


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
    symlinked_doc = r.random() < 0.06
    if symlinked_doc:
        layout = 0
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
    if symlinked_doc:
        # the document is a link into another folder that has a tree of its own: relative directive paths
        # start at the link's folder, not the target's
        real = case_dir / "real_home"
        (real / "src").mkdir(parents=True, exist_ok=True)
        (real / "src" / "elsewhere.md").write_text("the link target's own tree\n")
        write_doc(real / "doc.dlm", text)
        (case_dir / doc_rel).symlink_to(os.path.relpath(real / "doc.dlm", (case_dir / doc_rel).parent))
        feats.append("doc_symlink")
    else:
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

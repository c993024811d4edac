"""Glob dialect, default excludes, `.dlm/ignore` parsing/matching and `.dlm/training.yaml` loading."""

from __future__ import annotations

import pytest

from dlm_desktop.core.document.errors import TrainingConfigError
from dlm_desktop.core.document.sources import (
    DEFAULT_EXCLUDES,
    IgnoreRule,
    glob_matches,
    load_training_yaml,
    looks_binary,
    parse_ignore_text,
    parse_training_yaml,
    rule_matches,
)
from dlm_desktop.core.document.sources.globs import matches_any


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.py", "main.py", True),
        ("*.py", "src/main.py", False),  # `*` never crosses a slash
        ("**/*.py", "src/deep/main.py", True),
        ("**/*.py", "main.py", True),  # `**/` may match nothing
        ("docs/**/x.md", "docs/x.md", True),
        ("docs/**/x.md", "docs/a/b/x.md", True),
        ("tests/**", "tests/a/b.txt", True),
        ("tests/**", "mytests/a.txt", False),
        ("?.txt", "a.txt", True),
        ("?.txt", "ab.txt", False),
        ("[ab].txt", "a.txt", False),  # no character classes: brackets are literal
        ("[ab].txt", "[ab].txt", True),
        ("a+b.md", "a+b.md", True),  # regex metacharacters are literal
    ],
)
def test_glob_dialect(pattern: str, path: str, expected: bool) -> None:
    assert glob_matches(pattern, path) is expected


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        (".git/config", True),
        ("sub/.git/config", False),  # VCS patterns are root-level only, as upstream
        (".env", True),
        ("app/.env.local", True),
        ("prod.env", True),  # `**/.env` needs no folder boundary
        ("keys/id_rsa", True),
        ("certs/server.pem", True),
        ("config/secrets.yaml", True),
        ("mysecrets.txt", True),  # `**/secrets.*` again without a boundary
        ("pkg/__pycache__/m.cpython-311.pyc", True),
        ("node_modules/x/index.js", True),
        ("web/node_modules/x/index.js", False),
        ("package-lock.json", True),
        ("rust/Cargo.lock", True),
        ("dist/app.js", True),
        ("archive.tar", True),
        ("logo.png", False),  # images are not default-excluded (they are media, skipped later)
        (".dlm/training.yaml", True),
        ("corpus.dlm/notes.md", True),  # `**/.dlm/**` also catches a folder named `*.dlm`
        ("src/main.py", False),
        ("README.md", False),
    ],
)
def test_default_excludes(path: str, excluded: bool) -> None:
    assert matches_any(path, DEFAULT_EXCLUDES) is excluded


def test_default_exclude_list_is_upstreams() -> None:
    assert len(DEFAULT_EXCLUDES) == 52 and len(set(DEFAULT_EXCLUDES)) == 52
    assert DEFAULT_EXCLUDES[0] == ".git/**" and DEFAULT_EXCLUDES[-1] == "**/.dlm/**"


def test_binary_sniff_looks_at_the_first_kib_only() -> None:
    assert looks_binary(b"abc\x00def")
    assert not looks_binary(b"plain text\n")
    assert not looks_binary(b"x" * 1024 + b"\x00")
    assert looks_binary(b"x" * 1023 + b"\x00")


def test_ignore_parsing_flags_comments_and_bad_lines() -> None:
    text = "# comment\n\n*.log\n!keep.log\n/build/\ndocs/\n!\n/\n//\n  lead\ntrail   \n"
    rules, warnings = parse_ignore_text(text, origin="x/.dlm/ignore")
    assert [(r.pattern, r.anchored, r.directory_only, r.negate) for r in rules] == [
        ("*.log", False, False, False),
        ("keep.log", False, False, True),
        ("build", True, True, False),
        ("docs", False, True, False),
        ("  lead", False, False, False),  # leading spaces stay part of the pattern
        ("trail", False, False, False),
    ]
    assert [w.split(":")[1] for w in warnings] == ["7", "8", "9"]
    assert all(w.startswith("x/.dlm/ignore:") and "skipped" in w for w in warnings)


def _rule(pattern: str, *, anchored=False, directory_only=False, negate=False) -> IgnoreRule:
    return IgnoreRule(pattern, anchored, directory_only, negate)


def test_ignore_unanchored_rule_matches_any_tail() -> None:
    assert rule_matches(_rule("*.md"), "a/b/readme.md")
    assert rule_matches(_rule("docs/*.md"), "vendor/docs/x.md")  # unlike git, tails are tried
    assert not rule_matches(_rule("docs/*.md", anchored=True), "vendor/docs/x.md")
    assert rule_matches(_rule("docs/*.md", anchored=True), "docs/x.md")


def test_ignore_directory_rules() -> None:
    assert rule_matches(_rule("build", directory_only=True), "a/build/out.txt")
    assert not rule_matches(_rule("build", directory_only=True), "a/build")  # a *file* named build
    assert rule_matches(_rule("build", directory_only=True), "a/build", is_dir=True)
    # an anchored folder rule never hides a file (upstream quirk kept for parity)
    assert not rule_matches(_rule("build", anchored=True, directory_only=True), "build/out.txt")


def test_training_yaml_valid(tmp_path) -> None:
    path = tmp_path / "training.yaml"
    path.write_text("dlm_training_version: 1\nmetadata: {lang: py}\nweights: {lang: {py: 2}}\ninclude: ['**/*.py']\n")
    config, warnings = load_training_yaml(path)
    assert warnings == ()
    assert dict(config.metadata) == {"lang": "py"}
    assert config.weights["lang"]["py"] == 2.0
    assert config.include == ("**/*.py",) and config.exclude_defaults is True


def test_training_yaml_missing_and_empty(tmp_path) -> None:
    assert load_training_yaml(tmp_path / "nope.yaml") == (None, ())
    config, warnings = parse_training_yaml("  \n", origin="t")
    assert config is not None and warnings is None
    config, warnings = parse_training_yaml("# just a comment\n", origin="t")
    assert config is not None and warnings is None


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("key: [unclosed\n", "not valid YAML"),
        ("- a\n- b\n", "not a mapping"),
        ("bogus: 1\n", "bogus"),
        ("metadata: {generated: true}\n", "metadata.generated"),  # unquoted true is a bool: refused
        ("weights: {a: {b: -1}}\n", "0 (drop) or more"),
        ("dlm_training_version: 2\n", "dlm_training_version"),
        ("include: '*.py'\n", "include"),
    ],
)
def test_malformed_training_yaml_warns_and_counts_as_absent(text: str, hint: str) -> None:
    config, warning = parse_training_yaml(text, origin="tree/.dlm/training.yaml")
    assert config is None
    assert warning.startswith("tree/.dlm/training.yaml: ignored") and hint in warning


def test_training_yaml_not_utf8_warns(tmp_path) -> None:
    path = tmp_path / "training.yaml"
    path.write_bytes(b"metadata: {a: caf\xe9}\n")
    config, warnings = load_training_yaml(path)
    assert config is None and len(warnings) == 1 and "UTF-8" in warnings[0]


def test_training_yaml_that_cannot_be_read_raises(tmp_path, monkeypatch) -> None:
    path = tmp_path / "training.yaml"
    path.write_text("metadata: {}\n")

    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(path), "read_bytes", refuse)
    with pytest.raises(TrainingConfigError) as info:
        load_training_yaml(path)
    assert info.value.path == path and info.value.fix

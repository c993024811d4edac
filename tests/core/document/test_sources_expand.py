"""`expand_sources` on real source trees: discovery, metadata, weights, ignore files, caps, links, policy."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from dlm_desktop.core.document.errors import SourceDirectiveError, SourcePathError, SourcePolicyError
from dlm_desktop.core.document.sections import SectionType
from dlm_desktop.core.document.sources import expand_sources


def directive(path: str, **fields) -> SimpleNamespace:
    values = {"include": ("**/*",), "exclude": (), "max_bytes_per_file": None, "max_files": None}
    values.update({key: tuple(v) if isinstance(v, list) else v for key, v in fields.items()})
    return SimpleNamespace(path=path, **values)


def frontmatter(*directives: SimpleNamespace, policy: str = "permissive") -> SimpleNamespace:
    return SimpleNamespace(training=SimpleNamespace(sources=tuple(directives), sources_policy=policy))


def write(root: Path, relpath: str, data: str | bytes) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def headers(expansion) -> list[str]:
    return [section.content.split("\n", 1)[0].removeprefix("# source: ") for section in expansion.sections]


def test_no_sources_is_an_empty_expansion(tmp_path) -> None:
    empty = expand_sources(SimpleNamespace(training=SimpleNamespace(sources=None)), tmp_path)
    assert empty.sections == () and empty.discovered == () and empty.provenance == () and empty.warnings == ()


def test_each_file_becomes_a_prose_section_with_a_source_header(tmp_path) -> None:
    write(tmp_path, "src/a.py", "print('a')\r\n")
    write(tmp_path, "src/b.md", "\ufeff# B\n")
    result = expand_sources(frontmatter(directive("src")), tmp_path)
    first, second = result.sections
    assert first.type is SectionType.PROSE and first.start_line == 0 and first.adapter is None
    assert first.content == "# source: a.py\n\nprint('a')\n"  # CRLF normalised, relpath from the root
    assert second.content == "# source: b.md\n\n# B\n"  # BOM stripped
    assert dict(first.tags) == {}
    assert result.provenance[0].path == "src" and result.provenance[0].file_count == 2
    assert result.provenance[0].total_bytes == len("print('a')\r\n") + len("\ufeff# B\n".encode())


def test_same_text_in_two_files_gives_two_section_ids(tmp_path) -> None:
    write(tmp_path, "a.txt", "same\n")
    write(tmp_path, "b.txt", "same\n")
    a, b = expand_sources(frontmatter(directive(".")), tmp_path).sections
    assert a.section_id != b.section_id


def test_walk_order_is_by_path_components(tmp_path) -> None:
    for name in ["a-c.txt", "a/b.txt", "B.txt", "a/a/z.txt", "ä.txt", ".hidden"]:
        write(tmp_path, name, name)
    assert headers(expand_sources(frontmatter(directive(".")), tmp_path)) == [
        ".hidden", "B.txt", "a/a/z.txt", "a/b.txt", "a-c.txt", "ä.txt",
    ]


def test_default_excludes_and_skips_are_counted(tmp_path) -> None:
    write(tmp_path, "keep.py", "x = 1\n")
    write(tmp_path, ".env", "SECRET=1\n")
    write(tmp_path, "node_modules/lib/index.js", "js\n")
    write(tmp_path, "package-lock.json", "{}\n")
    write(tmp_path, "data.txt", b"abc\x00def")  # binary by the NUL sniff
    write(tmp_path, "latin.txt", b"caf\xe9\n")  # not UTF-8
    write(tmp_path, "logo.png", b"\x89PNG")
    write(tmp_path, "clip.wav", b"RIFF")
    result = expand_sources(frontmatter(directive(".")), tmp_path)
    assert headers(result) == ["keep.py"]
    record = result.provenance[0]
    assert (record.skipped_by_descent, record.skipped_binary, record.skipped_encoding) == (3, 1, 1)
    assert (record.skipped_image_no_store, record.skipped_audio_no_store) == (1, 1)
    assert any("latin.txt" in w and "UTF-8" in w for w in result.warnings)
    assert any("1 binary files" in w and "2 image/audio" in w for w in result.warnings)


def test_exclude_defaults_false_trains_on_them(tmp_path) -> None:
    write(tmp_path, ".dlm/training.yaml", "exclude_defaults: false\n")
    write(tmp_path, ".env", "SECRET=1\n")
    assert headers(expand_sources(frontmatter(directive(".")), tmp_path)) == [".dlm/training.yaml", ".env"]


def test_nested_metadata_merges_shallow_to_deep_and_weights_are_discovered(tmp_path) -> None:
    write(tmp_path, "repo/.dlm/training.yaml", "metadata: {lang: py, domain: core}\nweights: {lang: {py: 2.0}}\n")
    write(tmp_path, "repo/auth/.dlm/training.yaml", "metadata: {domain: auth}\nweights: {domain: {auth: 3}, lang: {py: 0.5}}\n")
    write(tmp_path, "repo/root.py", "r\n")
    write(tmp_path, "repo/auth/login.py", "l\n")
    result = expand_sources(frontmatter(directive("repo")), tmp_path)
    tags = {h: dict(s.tags) for h, s in zip(headers(result), result.sections)}
    assert tags == {"auth/login.py": {"lang": "py", "domain": "auth"}, "root.py": {"lang": "py", "domain": "core"}}
    assert [d.anchor for d in result.discovered] == [tmp_path / "repo", tmp_path / "repo" / "auth"]
    assert [dict(m) for m in result.weights_maps] == [{"lang": {"py": 2.0}}, {"domain": {"auth": 3.0}, "lang": {"py": 0.5}}]
    assert result.discovered[1].weights["domain"]["auth"] == 3.0


def test_nearest_include_wins_and_anchor_excludes_are_relative_to_their_anchor(tmp_path) -> None:
    write(tmp_path, "docs/.dlm/training.yaml", "include: ['**/*.md']\nexclude: ['drafts/**']\n")
    write(tmp_path, "docs/guide.md", "g\n")
    write(tmp_path, "docs/conf.py", "c\n")
    write(tmp_path, "docs/drafts/wip.md", "w\n")
    write(tmp_path, "main.py", "m\n")
    write(tmp_path, "notes.md", "n\n")
    result = expand_sources(frontmatter(directive(".", include=["**/*.py"])), tmp_path)
    assert headers(result) == ["docs/guide.md", "main.py"]


def test_malformed_training_yaml_is_a_warning_and_counts_as_no_config(tmp_path) -> None:
    write(tmp_path, ".dlm/training.yaml", "metadata: {generated: true}\n")  # unquoted bool: refused
    write(tmp_path, ".dlm/ignore", "*.log\n")
    write(tmp_path, "a.txt", "a\n")
    write(tmp_path, "b.log", "b\n")
    result = expand_sources(frontmatter(directive(".")), tmp_path)
    assert headers(result) == ["a.txt"]  # the ignore file beside the broken config still applies
    assert dict(result.sections[0].tags) == {}
    assert result.discovered[0].config is None and len(result.discovered[0].ignore_rules) == 1
    assert any("training.yaml: ignored" in w and "metadata.generated" in w for w in result.warnings)


def test_ignore_negation_can_undo_a_default_exclude(tmp_path) -> None:
    write(tmp_path, ".dlm/ignore", "*.md\n!keep.md\n!.env\nbuild/\n")
    for name in ["a.md", "keep.md", ".env", "x.txt", "sub/build/out.txt"]:
        write(tmp_path, name, name)
    assert headers(expand_sources(frontmatter(directive(".")), tmp_path)) == [".env", "keep.md", "x.txt"]


def test_caps_on_size_and_count(tmp_path) -> None:
    for index in range(6):
        write(tmp_path, f"f{index}.txt", "x" * (10 if index % 2 else 100))
    result = expand_sources(frontmatter(directive(".", max_bytes_per_file=50, max_files=2)), tmp_path)
    assert headers(result) == ["f1.txt", "f3.txt"]
    record = result.provenance[0]
    assert record.skipped_over_size == 2 and record.not_visited == 2
    assert any("max_files=2" in w for w in result.warnings)


def test_single_file_directive_uses_its_name_and_default_excludes(tmp_path) -> None:
    write(tmp_path, "docs/.dlm/training.yaml", "metadata: {a: b}\n")
    write(tmp_path, "docs/guide.md", "g\n")
    write(tmp_path, "docs/prod.env", "p\n")
    result = expand_sources(frontmatter(directive("docs/guide.md"), directive("docs/prod.env")), tmp_path)
    assert headers(result) == ["guide.md"]
    assert dict(result.sections[0].tags) == {}  # no discovery for a single file
    assert result.discovered == () and [p.file_count for p in result.provenance] == [1, 0]


def test_relative_paths_start_above_a_dlm_folder(tmp_path) -> None:
    write(tmp_path, "corpus/notes.txt", "n\n")
    doc_dir = tmp_path / "corpus" / ".dlm"
    doc_dir.mkdir()
    result = expand_sources(frontmatter(directive(".")), doc_dir)
    assert headers(result) == ["notes.txt"]


def test_missing_path_raises_a_typed_error(tmp_path) -> None:
    with pytest.raises(SourcePathError) as info:
        expand_sources(frontmatter(directive("nope")), tmp_path, document_path=tmp_path / "doc.dlm")
    assert info.value.path == tmp_path / "doc.dlm" and "does not exist" in info.value.message and info.value.fix
    with pytest.raises(SourcePathError):
        expand_sources(frontmatter(directive("~no_such_user_h1/x")), tmp_path)


@pytest.fixture()
def linked_tree(tmp_path) -> Path:
    outside = tmp_path / "outside"
    write(outside, "secret.txt", "outside\n")
    base = tmp_path / "doc"
    write(base, "corpus/own.txt", "own\n")
    write(base, "corpus/deep/real.md", "real\n")
    os.symlink(outside / "secret.txt", base / "corpus" / "to_outside.txt")
    os.symlink(base / "corpus" / "deep" / "real.md", base / "corpus" / "alias.md")
    os.symlink(outside, base / "corpus" / "outdir", target_is_directory=True)
    os.symlink(base / "corpus" / "loop", base / "corpus" / "loop")
    os.symlink(base / "corpus" / "gone", base / "corpus" / "dangling.txt")
    os.symlink(outside, base / "ext", target_is_directory=True)
    return base


def test_links_inside_a_tree(linked_tree) -> None:
    result = expand_sources(frontmatter(directive("corpus")), linked_tree)
    # linked folders are not entered; loops and dangling links are not files; file links are read
    assert headers(result) == ["alias.md", "deep/real.md", "own.txt", "to_outside.txt"]
    assert result.sections[0].content.endswith("real\n")
    assert any("to_outside.txt" in w and "outside the source folder" in w for w in result.warnings)


def test_strict_policy_refuses_a_path_leaving_the_document_folder(linked_tree) -> None:
    for path in ("ext", "../outside", str(linked_tree.parent / "outside")):
        with pytest.raises(SourcePolicyError) as info:
            expand_sources(frontmatter(directive(path), policy="strict"), linked_tree)
        assert "strict" in info.value.message and "permissive" in info.value.fix
        assert isinstance(info.value, SourceDirectiveError)
    # strict confines the directive path only: a file link inside the tree is still read (as upstream)
    inside = expand_sources(frontmatter(directive("corpus"), policy="strict"), linked_tree)
    assert "to_outside.txt" in headers(inside)


def test_permissive_policy_follows_the_link_and_warns(linked_tree) -> None:
    result = expand_sources(frontmatter(directive("ext")), linked_tree)
    assert headers(result) == ["secret.txt"]
    assert any("permissive" in w for w in result.warnings)


def test_strict_policy_checks_before_existence(tmp_path) -> None:
    with pytest.raises(SourcePolicyError):
        expand_sources(frontmatter(directive("../missing"), policy="strict"), tmp_path)


def test_directives_concatenate_in_order(tmp_path) -> None:
    write(tmp_path, "a/.dlm/training.yaml", "weights: {k: {v: 2}}\n")
    write(tmp_path, "b/.dlm/training.yaml", "weights: {k: {v: 5}}\n")
    write(tmp_path, "a/x.txt", "x\n")
    write(tmp_path, "b/y.txt", "y\n")
    result = expand_sources(frontmatter(directive("b"), directive("a")), tmp_path)
    assert headers(result) == ["y.txt", "x.txt"]
    assert [dict(m)["k"]["v"] for m in result.weights_maps] == [5.0, 2.0]

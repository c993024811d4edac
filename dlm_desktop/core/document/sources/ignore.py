"""`.dlm/ignore`: a small subset of `.gitignore`, evaluated relative to the folder holding `.dlm/`.

One rule per line. `#` lines and blank lines are skipped; `!` re-includes; a leading `/` anchors the rule to
the folder holding `.dlm/`; a trailing `/` restricts the rule to folders. Globs follow `globs.py` (no
character classes, no backslash escapes). A line that reduces to nothing is skipped with a warning, never an
error: an ignore file is a convenience and a typo must not stop training.

Differences from git that upstream `dlm` has and that we keep, because they decide which files train:

* an unanchored rule is tried against every tail of the path, so `docs/*.md` also hides `a/docs/x.md`;
* leading spaces are part of the pattern (only trailing spaces are trimmed);
* an anchored folder rule (`/build/`) never hides a file, since only unanchored folder rules look at a
  file's parent folders.
"""

from __future__ import annotations

from dataclasses import dataclass

from dlm_desktop.core.document.sources.globs import compile_glob


@dataclass(frozen=True)
class IgnoreRule:
    """One parsed ignore line: the bare glob plus its three flags, and the 1-based line it came from."""

    pattern: str
    anchored: bool
    directory_only: bool
    negate: bool
    line: int = 0


def parse_ignore_text(text: str, *, origin: str = ".dlm/ignore") -> tuple[tuple[IgnoreRule, ...], tuple[str, ...]]:
    """Parse an ignore file's text into rules, plus one warning per line that had to be skipped.

    `origin` names the file in the warnings.
    """
    rules: list[IgnoreRule] = []
    warnings: list[str] = []
    # str.splitlines on purpose: upstream splits on every Unicode line boundary, not only on LF.
    for number, raw_line in enumerate(text.splitlines(), start=1):
        rule, problem = _parse_line(raw_line.rstrip(), number)
        if rule is not None:
            rules.append(rule)
        elif problem:
            warnings.append(f"{origin}:{number}: {problem}; line skipped")
    return tuple(rules), tuple(warnings)


def _parse_line(line: str, number: int) -> tuple[IgnoreRule | None, str]:
    """One trimmed line → (rule, "") or (None, why) ; comments and blanks give (None, "")."""
    if not line or line.lstrip().startswith("#"):
        return None, ""
    negate = line.startswith("!")
    body = line[1:] if negate else line
    if not body:
        return None, "'!' with no pattern after it"
    anchored = body.startswith("/")
    body = body[1:] if anchored else body
    if not body:
        return None, "'/' with no pattern after it"
    directory_only = body.endswith("/")
    body = body[:-1] if directory_only else body
    if not body:
        return None, "the pattern is empty once its '/' are removed"
    return IgnoreRule(body, anchored, directory_only, negate, number), ""


def rule_matches(rule: IgnoreRule, relpath: str, *, is_dir: bool = False) -> bool:
    """True when `rule` applies to `relpath` (POSIX, relative to the folder that holds `.dlm/`)."""
    regex = compile_glob(rule.pattern)
    parts = relpath.split("/")
    tails = [relpath] if rule.anchored else ["/".join(parts[start:]) for start in range(len(parts))]
    whole_path_hit = any(regex.fullmatch(tail) is not None for tail in tails)
    # A folder-only rule may match the path itself only when the path is a folder.
    if whole_path_hit and (is_dir or not rule.directory_only):
        return True
    if rule.directory_only and not rule.anchored:
        # ...but it also hides everything below any folder component it names.
        folders = parts if is_dir else parts[:-1]
        return any(regex.fullmatch(component) is not None for component in folders)
    return False

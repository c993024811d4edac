"""Path globs as the `.dlm` format understands them, the default excludes, and the binary sniff.

The glob dialect is deliberately small and is shared by directive `include`/`exclude`, `training.yaml`
`include`/`exclude` and `.dlm/ignore` lines, so the same pattern selects the same files wherever it is
written:

* `**` spans any number of characters, slashes included; a `/` right after it is swallowed, so
  `docs/**/x.md` selects both `docs/x.md` and `docs/a/b/x.md`;
* `*` spans characters other than `/`, and `?` is exactly one such character;
* everything else is literal (no character classes, no escapes);
* a pattern must match the whole POSIX relative path.

Two consequences users meet (kept for parity with upstream `dlm`): `**/.env` also selects `prod.env`, and
`**/secrets.*` also selects `mysecrets.txt`, because `**/` does not require a directory boundary.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

# What every source walk leaves out unless the nearest `training.yaml` says `exclude_defaults: false`.
# The exact list and spelling are upstream's; changing one entry changes which files train.
DEFAULT_EXCLUDES: tuple[str, ...] = (
    # version-control metadata (root-level only: the patterns are not `**/`-prefixed)
    ".git/**",
    ".hg/**",
    ".svn/**",
    # secrets and local configuration; a convenience, not a security boundary
    ".env",
    ".env.*",
    "**/.env",
    "**/.env.*",
    "**/id_rsa",
    "**/id_ed25519",
    "**/*.pem",
    "**/*.key",
    "**/secrets.*",
    # Python
    "**/__pycache__/**",
    "**/*.pyc",
    "**/*.pyo",
    ".venv/**",
    "venv/**",
    ".tox/**",
    # JavaScript
    "node_modules/**",
    "**/*.min.js",
    "**/*.min.css",
    "**/*.map",
    # compiled output of Rust, Go, Java, C and C++
    "target/**",
    "**/*.rlib",
    "**/*.class",
    "**/*.jar",
    "**/*.o",
    "**/*.so",
    "**/*.dylib",
    "**/*.dll",
    # build trees
    "build/**",
    "dist/**",
    "__generated__/**",
    "generated/**",
    # lock files
    "**/package-lock.json",
    "**/yarn.lock",
    "**/pnpm-lock.yaml",
    "**/Cargo.lock",
    "**/uv.lock",
    "**/poetry.lock",
    "**/Pipfile.lock",
    # archives and other non-image binaries (images are routed to the media path instead)
    "**/*.ico",
    "**/*.pdf",
    "**/*.zip",
    "**/*.tar",
    "**/*.gz",
    "**/*.xz",
    "**/*.bz2",
    "**/*.7z",
    "**/*.wasm",
    # the training configuration itself
    ".dlm/**",
    "**/.dlm/**",
)

# How much of a file the binary sniff looks at.
BINARY_SNIFF_BYTES = 1024


@lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Translate one glob of the `.dlm` dialect (see the module docstring) into an anchored regex."""
    pieces: list[str] = []
    pos = 0
    while pos < len(pattern):
        char = pattern[pos]
        if pattern.startswith("**", pos):
            pieces.append(".*")
            pos += 2
            if pattern.startswith("/", pos):
                pos += 1
            continue
        if char == "*":
            pieces.append("[^/]*")
        elif char == "?":
            pieces.append("[^/]")
        else:
            pieces.append(re.escape(char))
        pos += 1
    # `.` without DOTALL: a name holding a newline is not spanned by `**` (upstream behaves the same).
    return re.compile("^" + "".join(pieces) + "$")


def glob_matches(pattern: str, relpath: str) -> bool:
    """True when `pattern` matches the whole POSIX relative path `relpath`."""
    return compile_glob(pattern).fullmatch(relpath) is not None


def matches_any(relpath: str, patterns: Iterable[str]) -> bool:
    """True when at least one pattern matches `relpath`; an empty pattern list matches nothing."""
    return any(glob_matches(pattern, relpath) for pattern in patterns)


def looks_binary(data: bytes) -> bool:
    """The git/grep heuristic: a NUL byte within the first KiB means the file is not text."""
    return b"\x00" in data[:BINARY_SNIFF_BYTES]

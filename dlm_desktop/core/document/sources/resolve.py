"""Where a `training.sources` path points, and whether the document's policy allows it.

* A relative path is taken from the document's folder; `~` paths and absolute paths are used as written.
* A document inside a `.dlm/` folder (the scaffolded `<corpus>/.dlm/corpus.dlm`) uses the folder above as
  its base, both for relative paths and for confinement.
* `sources_policy: strict` refuses a path whose fully resolved form (links followed) is outside the base.
  `permissive` accepts it; when the path *as written* is inside the base but a link takes it outside, the
  user gets a warning.
* A path that does not exist is refused under both policies (after the policy check, as upstream).
"""

from __future__ import annotations

from pathlib import Path

from dlm_desktop.core.document.errors import SourcePathError, SourcePolicyError


def source_base(base_dir: Path) -> Path:
    """The folder directive paths are taken from: `base_dir`, or its parent when it is a `.dlm/` folder."""
    return base_dir.parent if base_dir.name == ".dlm" else base_dir


def _resolve(path: Path, *, label: str, raw: str, document_path: Path | None) -> Path:
    """`expanduser().resolve()`, with its failures (unknown `~user`, a link loop) made typed."""
    try:
        return path.expanduser().resolve()
    except (RuntimeError, OSError) as exc:
        raise SourcePathError(
            f"{label} path {raw!r} cannot be resolved: {exc}",
            path=document_path or path,
            fix="write an existing folder or file (relative paths start at the document's folder)",
        ) from exc


def resolve_directive_root(
    raw: str,
    *,
    index: int,
    base: Path,
    strict: bool,
    warnings: list[str],
    document_path: Path | None = None,
) -> Path:
    """Resolve directive `index`'s path `raw` against `base` and enforce the policy (module docstring)."""
    label = f"training.sources[{index}]"
    written = Path(raw)
    if not written.is_absolute() and not raw.startswith("~"):
        written = base / written
    resolved = _resolve(written, label=label, raw=raw, document_path=document_path)
    base_resolved = _resolve(base, label=label, raw=str(base), document_path=document_path)
    inside = resolved.is_relative_to(base_resolved)
    if strict and not inside:
        raise SourcePolicyError(
            f"{label} path {raw!r} resolves to {resolved}, outside the document's folder {base_resolved} "
            "(training.sources_policy is strict)",
            path=document_path or resolved,
            fix="move the files under the document's folder, or set `training.sources_policy: permissive`",
        )
    if not strict and not inside and written.is_relative_to(base):
        warnings.append(f"{label} ({raw!r}): a link takes it outside {base} to {resolved}; used anyway (permissive)")
    if not resolved.exists():
        raise SourcePathError(
            f"{label} path {raw!r} does not exist (looked for {resolved})",
            path=document_path or resolved,
            fix=f"correct the path; relative paths start at {base_resolved}",
        )
    return resolved

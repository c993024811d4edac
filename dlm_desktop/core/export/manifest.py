"""`export_manifest.json`: upstream's fields (SPEC-upstream §7.5) plus what DLM Desktop adds: `gate_mode`,
`adapter_mix` (the weights used), `adapter_versions` and `parity` (the llama.cpp-vs-torch check).

Written with sorted keys, 2-space indentation and a trailing LF. `artifacts` lists the base GGUF and, when
not merged, `adapter.gguf`, each with its path relative to the export folder, sha256 and size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dlm_desktop.core.export.staging import file_sha256

MANIFEST_NAME = "export_manifest.json"
GATE_MODES = ("static_mean", "uniform", "manual", "single")


@dataclass(frozen=True)
class Artifact:
    """One published file: its name in the export folder, sha256 and size."""

    path: str
    sha256: str
    size_bytes: int

    @classmethod
    def of(cls, file: Path, name: str | None = None) -> "Artifact":
        return cls(name or file.name, file_sha256(file), file.stat().st_size)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size_bytes": self.size_bytes}


def created_by() -> str:
    """`dlm-desktop-<version>`."""
    from dlm_desktop import __version__

    return f"dlm-desktop-{__version__}"


def llama_cpp_tag() -> str | None:
    """The llama.cpp build that quantized and checked the files (llama-cpp-python's version), or None."""
    try:
        import importlib.metadata

        return f"llama-cpp-python-{importlib.metadata.version('llama_cpp_python')}"
    except Exception:  # not installed: the manifest says so with null
        return None


def build_manifest(
    *,
    quant: str,
    merged: bool,
    ollama_name: str | None,
    base_model_hf_id: str,
    base_model_revision: str | None,
    adapter_versions: Mapping[str, int],
    artifacts: Sequence[Artifact],
    gate_mode: str,
    adapter_mix: Sequence[tuple[str, float]],
    parity: Mapping[str, Any] | None = None,
    target: str = "ollama",
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """The manifest object. `adapter_version` is the highest version among the exported adapters (≥1)."""
    if gate_mode not in GATE_MODES:
        raise ValueError(f"gate_mode must be one of {GATE_MODES}, not {gate_mode!r}")
    when = (created_at or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)
    return {
        "target": target, "quant": quant, "merged": merged, "dequantized": False, "ollama_name": ollama_name,
        "created_at": when.isoformat(), "created_by": created_by(), "llama_cpp_tag": llama_cpp_tag(),
        "base_model_hf_id": base_model_hf_id, "base_model_revision": base_model_revision,
        "adapter_version": max(adapter_versions.values(), default=1),
        "adapter_versions": dict(adapter_versions),
        "artifacts": [artifact.to_json() for artifact in artifacts],
        "gate_mode": gate_mode,
        "adapter_mix": [[name, float(weight)] for name, weight in adapter_mix],
        "parity": dict(parity) if parity is not None else None,
    }


def manifest_text(manifest: Mapping[str, Any]) -> str:
    """The exact file text: sorted keys, indent 2, trailing LF."""
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def read_manifest(export_dir: Path) -> dict[str, Any] | None:
    """The manifest of an export folder, or None when there is none (or it cannot be read)."""
    try:
        value = json.loads((export_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None

"""What the Export pane decides without Qt: which document and adapters can be exported, the default name,
quant and folder, the mix choices, the `ExportRequest` to send, and the words for progress and results.

Everything here reads the core's own rules (`validate_ollama_name`, `default_ollama_name`, `default_out_dir`,
the store's `current.txt` pointers), so the pane and `dlm-desktop export` can never disagree. Qt-free.
"""

from __future__ import annotations

import re

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlm_desktop.core.errors import DlmDesktopError
from dlm_desktop.core.export.modelfile import default_ollama_name, validate_ollama_name
from dlm_desktop.core.export.request import EXPORT_QUANTS, ExportRequest
from dlm_desktop.core.export.run import default_out_dir
from dlm_desktop.core.store.paths import StorePaths
from dlm_desktop.core.store.versions import parse_version_name, resolve_current

# (quant, what it means for the user) in the order the menu shows them.
QUANT_CHOICES: tuple[tuple[str, str], ...] = (
    ("Q4_K_M", "smallest file, slightly less precise"),
    ("Q5_K_M", "small file, good precision"),
    ("Q6_K", "medium file, very close to the original"),
    ("Q8_0", "larger file, practically identical to the original"),
    ("F16", "largest file, the original precision"),
)
FALLBACK_QUANT = "Q8_0"

STAGE_NAMES = {
    "resolve": "Finding the base model",
    "adapters": "Reading the trained adapters",
    "mix": "Mixing the adapters",
    "convert-base": "Converting the base model to GGUF",
    "quantize": "Quantizing",
    "convert-adapter": "Converting the adapter to GGUF",
    "modelfile": "Writing the Modelfile",
    "parity": "Checking the export against the app's model",
    "publish": "Publishing the files",
    "ollama": "Adding the model to Ollama",
}

MIX_STATIC_MEAN, MIX_UNIFORM, MIX_SINGLE = "static_mean", "uniform", "single"


@dataclass(frozen=True)
class ExportTarget:
    """The open document as far as exporting is concerned.

    `adapters` are the declared names (empty for a single-adapter document); `trained` the ones with a
    current version (`default` stands for a single adapter); `version` the highest current version number;
    `gate_trained` whether a learned gate has been trained (its mean mix can then be frozen); `problem` says
    why the store could not be read ("" when it could)."""

    document_path: Path
    dlm_id: str
    adapters: tuple[str, ...]
    trained: tuple[str, ...]
    version: int
    default_quant: str
    gate_trained: bool
    problem: str = ""

    @property
    def has_adapter(self) -> bool:
        return bool(self.trained)

    @property
    def several_adapters(self) -> bool:
        return len(self.adapters) > 1


@dataclass(frozen=True)
class MixChoice:
    """One entry of the "Adapters" menu: what it says and what it asks the core for."""

    key: str
    label: str
    tooltip: str
    adapter: str | None = None
    mix: dict[str, float] | None = None


def export_target(document_path: Path | None, frontmatter: Any, home: Path | None = None) -> ExportTarget | None:
    """The export view of a checked document, or None when it has no file yet (untitled) or no frontmatter."""
    if document_path is None or frontmatter is None:
        return None
    training = frontmatter.training
    declared = tuple(training.adapter_names())
    quant = frontmatter.export.default_quant
    base = dict(document_path=Path(document_path), dlm_id=frontmatter.dlm_id, adapters=declared,
                default_quant=quant if quant in EXPORT_QUANTS else FALLBACK_QUANT)
    try:
        store = StorePaths.for_dlm(frontmatter.dlm_id, home=home)
        versions = _current_versions(store, declared)
        gate_trained = bool(training.gate.enabled and store.gate_config.is_file())
    except (DlmDesktopError, OSError) as exc:
        message = exc.message if isinstance(exc, DlmDesktopError) else str(exc)
        return ExportTarget(**base, trained=(), version=0, gate_trained=False, problem=message)
    return ExportTarget(**base, trained=tuple(versions), version=max(versions.values(), default=0),
                        gate_trained=gate_trained)


def _current_versions(store: StorePaths, declared: tuple[str, ...]) -> dict[str, int]:
    """`{adapter name: current version}` for the adapters that have one (`default` for a flat store)."""
    found: dict[str, int] = {}
    for name in declared or (None,):
        folder = resolve_current(store, name)
        if folder is not None:
            found[name or "default"] = parse_version_name(folder.name) or 1
    return found


def default_name(target: ExportTarget) -> str:
    """The name proposed in the form: the document's file name as Ollama accepts it, tagged with the adapter
    version (`my-notes.dlm` → `my-notes:v0001`), so `ollama run` is easy to type. A file name with nothing
    usable in it falls back to the core's (upstream's) default `dlm-<dlm_id>:v<NNNN>`."""
    version = max(target.version, 1)
    stem = re.sub(r"[^a-z0-9._-]+", "-", target.document_path.stem.lower())
    stem = re.sub(r"\.{2,}", ".", stem).strip("-._")[:100]
    if stem:
        try:
            return validate_ollama_name(f"{stem}:v{version:04d}")
        except DlmDesktopError:
            pass
    return default_ollama_name(target.dlm_id, version)


def name_problem(name: str) -> str:
    """Why Ollama would refuse `name` (the core's rule and its fix), or "" when it is fine."""
    if not name.strip():
        return "Give the model a name (for example my-notes:v1)."
    try:
        validate_ollama_name(name)
    except DlmDesktopError as exc:
        return f"{exc.message[:1].upper()}{exc.message[1:]}: {exc.fix}."
    return ""


def default_destination(target: ExportTarget) -> Path:
    """Beside the document: `<document folder>/<document name>-export/`."""
    return default_out_dir(target.document_path.resolve())


def mix_choices(target: ExportTarget) -> list[MixChoice]:
    """The ways to export a document with several adapters (empty for one adapter)."""
    if not target.several_adapters:
        return []
    choices = []
    if target.gate_trained:
        choices.append(MixChoice(MIX_STATIC_MEAN, "Gate's average mix (static mean)",
                                 "Ollama cannot run the learned gate, so each adapter gets the average weight the "
                                 "gate gave it on the document's prompts."))
    if set(target.adapters) <= set(target.trained):
        equal = 1.0 / len(target.adapters)
        mix = None if not target.gate_trained else {name: equal for name in target.adapters}
        choices.append(MixChoice(MIX_UNIFORM, "Equal weights (uniform)",
                                 "Every adapter counts the same: " + ", ".join(
                                     f"{name} {equal:.2f}" for name in target.adapters), mix=mix))
    for name in target.adapters:
        if name in target.trained:
            choices.append(MixChoice(f"{MIX_SINGLE}:{name}", f"Only the adapter “{name}”",
                                     f"Export the {name} adapter alone, without the others.", adapter=name))
    return choices


def build_request(target: ExportTarget, *, quant: str, name: str, out_dir: Path, choice: MixChoice | None,
                  ollama: bool = True, parity: bool = True) -> ExportRequest:
    """The core request for the pane's settings (the name as the form shows it, proposed or typed)."""
    return ExportRequest(
        document_path=target.document_path, quant=quant, name=name.strip() or None, out_dir=out_dir,
        mix=choice.mix if choice else None, adapter=choice.adapter if choice else None,
        ollama=ollama, parity=parity,
    )


def stage_name(stage: str) -> str:
    return STAGE_NAMES.get(stage, stage.replace("-", " ").capitalize())


def human_size(size: int) -> str:
    """`512 B`, `14.2 kB`, `271.5 MB`, `1.3 GB` (decimal units, as file managers show them)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


@dataclass(frozen=True)
class ParityVerdict:
    """The parity check in words: `level` is success, warning or error; `headline` one sentence."""

    level: str
    headline: str
    details: str


def parity_verdict(parity: dict[str, Any] | None) -> ParityVerdict:
    """Say whether the exported model behaves like the app's model, and by how much."""
    if not parity or not parity.get("prompts"):
        return ParityVerdict("warning", "Not checked against the app's model",
                             "The exported model was not compared with the in-app model.")
    agreement = float(parity.get("top1_agreement", 0.0))
    greedy = float(parity.get("greedy_exact", 0.0))
    prompts = int(parity["prompts"])
    same = round(greedy * prompts)
    details = (f"Next-token agreement {agreement:.1%} (needs {float(parity.get('threshold', 0)):.0%} for "
               f"{parity.get('quant', '')}); identical greedy answers on {same} of {prompts} of the document's "
               f"questions.")
    if parity.get("passed"):
        return ParityVerdict("success", "Matches the app's model", details)
    return ParityVerdict("error", "Differs from the app's model",
                         details + " The exported model may answer differently from the one you chatted with; "
                                   "try a larger quantization such as Q8_0.")


def run_command(name: str) -> str:
    return f"ollama run {name}"


def artifact_files(result: Any) -> list[tuple[str, Path, int]]:
    """`(what, path, size in bytes)` for every published file of an `ExportResult`."""
    rows = [("Base model", result.base_gguf)]
    if result.adapter_gguf is not None:
        rows.append(("Adapter", result.adapter_gguf))
    rows += [("Modelfile", result.modelfile), ("Manifest", result.manifest)]
    return [(what, path, path.stat().st_size if path.exists() else 0) for what, path in rows]


def ollama_installed() -> bool:
    """Whether an `ollama` executable is on PATH or in one of its usual install folders (no process is run)."""
    import os
    import shutil

    from dlm_desktop.core.export.ollama import candidate_paths

    if shutil.which("ollama"):
        return True
    return any(path.is_file() and os.access(path, os.X_OK) for path in candidate_paths())

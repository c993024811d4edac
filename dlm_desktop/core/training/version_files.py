"""The files of one adapter version folder, in upstream `dlm`'s layout (SPEC-upstream §3.9):

* `adapter_config.json`, `adapter_model.safetensors`: the PEFT adapter, loadable with
  `PeftModel.from_pretrained(base, folder)`;
* the tokenizer files and its chat template (inference and export read the tokenizer from here);
* `training_state.pt` (optimizer, scheduler, torch RNG, step, epoch, best validation loss, base revision,
  QLoRA flag; loadable with `weights_only=True`), `training_state.pt.sha256` (hex digest and LF),
  `training_state.rng.json` (numpy and Python RNG), `pinned_versions.json`, `training_run.json`.

`write_version` checks the weights after writing them: NaN or infinity raises `NonFiniteWeightsError`, which
`commit_version` turns into a `vNNNN-rejected` folder while `current.txt` stays where it was.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from dlm_desktop.core.document.text import atomic_write_bytes, atomic_write_text
from dlm_desktop.core.store.errors import NonFiniteWeightsError
from dlm_desktop.core.training.adapters import non_finite_tensors

ADAPTER_WEIGHTS = "adapter_model.safetensors"
STATE_FILE = "training_state.pt"
STATE_SHA_FILE = "training_state.pt.sha256"
RNG_FILE = "training_state.rng.json"
PINNED_FILE = "pinned_versions.json"
TRAINING_RUN_FILE = "training_run.json"
STATE_FORMAT = 2


def pinned_versions() -> dict[str, str]:
    """The versions of the libraries that shaped the weights (upstream's keys, installed ones only)."""
    from importlib import metadata

    found = {}
    for name in ("torch", "transformers", "peft", "trl", "bitsandbytes"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def write_json(path: Path, data: Any) -> None:
    """Pretty JSON with sorted keys and a trailing LF, written atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def save_tensors(path: Path, tensors: Mapping[str, Any]) -> None:
    """A safetensors file of CPU tensors, written atomically."""
    from safetensors.torch import save

    atomic_write_bytes(path, save(dict(tensors), metadata={"format": "pt"}))


def load_tensors(path: Path) -> dict[str, Any]:
    """The tensors of a safetensors file, on the CPU."""
    from safetensors.torch import load_file

    return load_file(str(path), device="cpu")


def save_torch_blob(path: Path, payload: Mapping[str, Any]) -> str:
    """`torch.save` of `payload` to `path` plus `<path>.sha256`; returns the hex digest."""
    import torch

    buffer = io.BytesIO()
    torch.save(dict(payload), buffer)
    blob = buffer.getvalue()
    digest = hashlib.sha256(blob).hexdigest()
    atomic_write_bytes(path, blob)
    atomic_write_text(path.with_name(path.name + ".sha256"), digest + "\n")
    return digest


def load_torch_blob(path: Path) -> dict[str, Any] | None:
    """The payload saved by `save_torch_blob`, or None when it is missing or fails its checksum."""
    import torch

    sha_path = path.with_name(path.name + ".sha256")
    try:
        blob = path.read_bytes()
        expected = sha_path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if hashlib.sha256(blob).hexdigest() != expected:
        return None
    return torch.load(io.BytesIO(blob), weights_only=True)


@dataclass(frozen=True)
class VersionContent:
    """What goes into a version folder besides the PEFT model itself."""

    adapter_name: str
    weights: Mapping[str, Any]
    peft_config: Any
    tokenizer: Any
    base_model_ref: str
    base_model_revision: str | None
    training_state: Mapping[str, Any]
    host_rng: Mapping[str, Any]
    use_qlora: bool = False
    diverged_at: str | None = None  # set when the loss diverged: the version is written, then rejected


def write_version(folder: Path, content: VersionContent) -> None:
    """Fill a version folder (see the module docstring); raises `NonFiniteWeightsError` after writing
    non-finite weights, or weights of a run whose loss diverged, so they are kept only as rejected."""
    save_tensors(folder / ADAPTER_WEIGHTS, content.weights)
    config = copy.deepcopy(content.peft_config)
    config.base_model_name_or_path = content.base_model_ref
    config.revision = content.base_model_revision
    config.inference_mode = True
    config.save_pretrained(str(folder))
    content.tokenizer.save_pretrained(str(folder))
    pinned = pinned_versions()
    state = {"_state_sidecar_version": STATE_FORMAT, **content.training_state, "pinned_versions": pinned,
             "base_model_revision": content.base_model_revision, "use_qlora": content.use_qlora}
    save_torch_blob(folder / STATE_FILE, state)
    write_json(folder / RNG_FILE, dict(content.host_rng))
    write_json(folder / PINNED_FILE, pinned)
    write_json(folder / TRAINING_RUN_FILE, {"use_qlora": content.use_qlora})
    offending = non_finite_tensors(dict(content.weights))
    if content.diverged_at is not None:
        offending = offending or [content.diverged_at]
    if offending:
        raise NonFiniteWeightsError(offending)

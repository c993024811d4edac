"""llama.cpp through llama-cpp-python, quietly: its native log lines are collected instead of being printed.

llama.cpp logs through a callback (which llama-cpp-python prints to stderr) and, in a few places, writes to
the process's stderr directly. `native_output_captured` installs a collecting callback and points file
descriptor 2 at a temporary file for the duration of a call, then restores both and hands back the lines.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dlm_desktop.core.export.errors import ParityError

_CAPTURE_LOCK = threading.Lock()  # fd 2 is process-wide: one capture at a time


@contextlib.contextmanager
def native_output_captured(lines: list[str]) -> Iterator[None]:
    """Collect llama.cpp's log lines and anything written to fd 2 into `lines` while the block runs."""
    import llama_cpp
    from llama_cpp import _logger

    pending: list[str] = []

    @llama_cpp.llama_log_callback
    def collect(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        pending.append(text.decode("utf-8", errors="replace"))

    with _CAPTURE_LOCK, tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        llama_cpp.llama_log_set(collect, ctypes.c_void_p(0))
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            llama_cpp.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))
            sink.seek(0)
            direct = sink.read().decode("utf-8", errors="replace")
            lines.extend(line for line in "".join(pending).splitlines() if line.strip())
            lines.extend(line for line in direct.splitlines() if line.strip())


def load_llama(
    model_path: Path,
    *,
    lora_path: Path | None = None,
    vocab_only: bool = False,
    logits_all: bool = True,
    n_ctx: int = 512,
    kv_f32: bool = True,
    log: list[str] | None = None,
) -> Any:
    """A `llama_cpp.Llama` on `model_path` (with the GGUF LoRA `lora_path` applied), loaded quietly on the
    CPU. `kv_f32` keeps the attention cache in float32 so comparisons measure the file, not the cache's
    rounding. Raises `ParityError` with llama.cpp's last log lines when it refuses the file."""
    import llama_cpp

    cache_type = llama_cpp.GGML_TYPE_F32 if kv_f32 else None

    lines: list[str] = [] if log is None else log
    try:
        with native_output_captured(lines):
            return llama_cpp.Llama(
                model_path=str(model_path), lora_path=str(lora_path) if lora_path else None,
                vocab_only=vocab_only, logits_all=logits_all, n_ctx=n_ctx, n_threads=max(1, os.cpu_count() or 1),
                n_gpu_layers=0, seed=0, verbose=False, type_k=cache_type, type_v=cache_type,
            )
    except (ValueError, RuntimeError) as exc:
        detail = " | ".join(lines[-4:])
        raise ParityError(
            f"llama.cpp cannot load {model_path.name}{' with ' + lora_path.name if lora_path else ''}: {exc}"
            + (f" ({detail})" if detail else ""),
            fix="export again; if it keeps failing, report it with the export folder",
            path=model_path,
        ) from exc


def logits_for(llama: Any, token_ids: list[int]) -> Any:
    """The logits (float32 numpy `[len(token_ids), vocab]`) llama.cpp computes for `token_ids` from a fresh
    context. The Llama must have been loaded with `logits_all=True`."""
    import numpy as np

    llama.reset()
    llama.eval(token_ids)
    return np.array(llama.scores[: len(token_ids)], dtype=np.float32)


def greedy_continuation(llama: Any, token_ids: list[int], max_new_tokens: int, stop_ids: set[int]) -> list[int]:
    """The argmax continuation of `token_ids` (at most `max_new_tokens`, ending at a stop id)."""
    import numpy as np

    llama.reset()
    llama.eval(token_ids)
    produced: list[int] = []
    for _ in range(max_new_tokens):
        token = int(np.argmax(llama.scores[llama.n_tokens - 1]))
        produced.append(token)
        if token in stop_ids:
            break
        llama.eval([token])
    return produced

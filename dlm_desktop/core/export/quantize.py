"""Quantize a GGUF with llama.cpp's own quantizer, called through llama-cpp-python (no external binary).

llama.cpp picks per-tensor fallbacks itself (a K-quant needs rows divisible by 256; SmolLM2's 576-wide
tensors fall back) and logs one line per fallback: those lines are collected and returned, not printed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from dlm_desktop.core.export.errors import QuantizationError

# llama.cpp's file types (enum llama_ftype)
LLAMA_FTYPES = {"F32": 0, "F16": 1, "Q8_0": 7, "Q4_K_M": 15, "Q5_K_M": 17, "Q6_K": 18}
QUANTS = ("F16", "Q8_0", "Q4_K_M", "Q5_K_M", "Q6_K")


@dataclass(frozen=True)
class QuantizeResult:
    """A finished quantization: the output, its size, the time taken and llama.cpp's log lines."""

    path: Path
    quant: str
    size_bytes: int
    seconds: float
    log: tuple[str, ...]


def quantize_gguf(source: Path, target: Path, quant: str, *, threads: int = 0) -> QuantizeResult:
    """Write `source` (an F16 or F32 GGUF) quantized to `quant` as `target`.

    Raises `QuantizationError` for an unknown quant or when llama.cpp fails (with its last log lines).
    """
    import ctypes

    import llama_cpp

    from dlm_desktop.core.export.llama_runtime import native_output_captured

    if quant not in LLAMA_FTYPES:
        raise QuantizationError(f"unknown quantization {quant!r}", fix=f"use one of {', '.join(QUANTS)}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = LLAMA_FTYPES[quant]
    params.nthread = threads
    target.parent.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    started = time.monotonic()
    with native_output_captured(lines):
        status = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params))
    seconds = time.monotonic() - started
    if status != 0 or not target.is_file():
        target.unlink(missing_ok=True)
        detail = " | ".join(lines[-3:])
        raise QuantizationError(
            f"llama.cpp could not quantize {source.name} to {quant} (status {status})" + (f": {detail}" if detail else ""),
            fix="check there is enough free disk space, then export again",
            path=source,
        )
    return QuantizeResult(target, quant, target.stat().st_size, seconds, tuple(lines))

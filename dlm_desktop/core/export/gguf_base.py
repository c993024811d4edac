"""Convert a transformers model folder into a GGUF file llama.cpp loads: hyper-parameters, tokenizer and
every weight, in F32, F16 or Q8_0, streamed one tensor at a time.

`weight_delta` lets the merged export add a LoRA product to a weight on its way through (in transformers'
row order, before any llama.cpp reordering), so merging needs no second copy of the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from dlm_desktop.core.export.errors import ExportCancelled, UnsupportedModelError
from dlm_desktop.core.export.events import ExportEvent, ExportProgress, ShouldStop, never_stop
from dlm_desktop.core.export.gguf_arch import (
    ArchSupport,
    arch_support,
    gguf_tensor_name,
    interleave_rotary_rows,
    rope_freq_factors,
    rotary_heads,
    write_hparams,
)
from dlm_desktop.core.export.gguf_vocab import tokenizer_pre_for, write_tokenizer
from dlm_desktop.core.export.hf_checkpoint import HfCheckpoint, open_checkpoint, read_json

if TYPE_CHECKING:
    import numpy as np

OutType = Literal["F32", "F16", "Q8_0"]
WeightDelta = Callable[[str], "np.ndarray | None"]
FILE_TYPES = {"F32": 0, "F16": 1, "Q8_0": 7}  # llama.cpp's general.file_type
QUANT_BLOCK = 32
CONVERTER_VERSION = "dlm-desktop-gguf-1"  # bump when the bytes written for the same input change


@dataclass(frozen=True)
class PlannedTensor:
    """One tensor of the output: where it comes from and how it is stored."""

    hf_name: str  # "" for tensors computed here (rope_freqs)
    gguf_name: str
    shape: tuple[int, ...]
    qtype: str  # F32, F16 or Q8_0


@dataclass(frozen=True)
class BaseConversion:
    """A finished conversion."""

    path: Path
    outtype: str
    gguf_arch: str
    tensor_count: int
    seconds: float


def plan_tensors(checkpoint: HfCheckpoint, outtype: OutType) -> list[PlannedTensor]:
    """The output tensors, in checkpoint order. A tied output head is left out (llama.cpp reuses the
    embeddings); a weight llama.cpp has no slot for is an error rather than a silent loss."""
    tied = bool(checkpoint.config.get("tie_word_embeddings", False))
    planned = []
    for name in checkpoint.tensor_names():
        if name == "lm_head.weight" and tied:
            continue
        target = gguf_tensor_name(name)
        if target is None:
            raise UnsupportedModelError(
                f"the weight {name} has no place in a llama.cpp model",
                fix="this model variant is not supported by the GGUF export",
                path=checkpoint.folder,
            )
        shape = checkpoint.shapes[name]
        planned.append(PlannedTensor(name, target, shape, storage_type(shape, outtype)))
    factors = rope_freq_factors(checkpoint.config)
    if factors is not None:
        planned.append(PlannedTensor("", "rope_freqs.weight", tuple(factors.shape), "F32"))
    return planned


def storage_type(shape: tuple[int, ...], outtype: str) -> str:
    """Vectors (norms, biases) stay F32; matrices take `outtype` (F16 when a row does not split into Q8_0
    blocks)."""
    if len(shape) < 2 or outtype == "F32":
        return "F32"
    if outtype == "Q8_0" and shape[-1] % QUANT_BLOCK != 0:
        return "F16"
    return outtype


def encode(array: "np.ndarray", qtype: str) -> "np.ndarray":
    """`array` (float32) in its storage type, as the bytes/values GGUFWriter writes."""
    import numpy as np
    from gguf import GGMLQuantizationType, quants

    if qtype == "F32":
        return np.ascontiguousarray(array, dtype=np.float32)
    if qtype == "F16":
        return np.ascontiguousarray(array, dtype=np.float16)
    return quants.quantize(np.ascontiguousarray(array, dtype=np.float32), GGMLQuantizationType.Q8_0)


def _declare(writer, tensor: PlannedTensor) -> None:
    import numpy as np
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, quants

    count = 1
    for size in tensor.shape:
        count *= size
    if tensor.qtype == "Q8_0":
        qtype = GGMLQuantizationType.Q8_0
        byte_shape = quants.quant_shape_to_byte_shape(tensor.shape, qtype)
        block, type_size = GGML_QUANT_SIZES[qtype]
        writer.add_tensor_info(tensor.gguf_name, byte_shape, np.dtype(np.uint8), count // block * type_size, qtype)
    else:
        dtype = np.dtype(np.float32 if tensor.qtype == "F32" else np.float16)
        writer.add_tensor_info(tensor.gguf_name, tensor.shape, dtype, count * dtype.itemsize)


def write_base_gguf(
    model_dir: Path,
    out_path: Path,
    *,
    outtype: OutType = "F16",
    tokenizer_pre: str | None = None,
    name: str | None = None,
    context_length: int | None = None,
    weight_delta: WeightDelta | None = None,
    should_stop: ShouldStop = never_stop,
) -> Generator[ExportEvent, None, BaseConversion]:
    """Write `model_dir` (a transformers folder of a supported architecture) as the GGUF `out_path`.

    Yields one `ExportProgress("convert-base", ...)` per tensor. A `should_stop()` that turns True raises
    `ExportCancelled` (the partial file is removed). Raises `UnsupportedModelError` for architectures,
    tokenizers or rope schemes llama.cpp cannot be given.
    """
    if outtype not in FILE_TYPES:
        raise UnsupportedModelError(f"unknown GGUF output type {outtype!r}", fix="use F32, F16 or Q8_0")
    started = time.monotonic()
    config = read_json(Path(model_dir) / "config.json", what="the model's config.json")
    support = arch_support(str((config.get("architectures") or [""])[0]))
    checkpoint = open_checkpoint(model_dir)
    planned = plan_tensors(checkpoint, outtype)
    writer = _header_writer(checkpoint, support, outtype, tokenizer_pre, name, context_length)
    for tensor in planned:
        _declare(writer, tensor)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        writer.write_header_to_file(out_path)
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        yield from _write_data(writer, checkpoint, support, planned, weight_delta, should_stop)
    except BaseException:
        writer.close()
        out_path.unlink(missing_ok=True)
        raise
    writer.close()
    return BaseConversion(out_path, outtype, support.gguf_arch, len(planned), time.monotonic() - started)


def _header_writer(checkpoint, support: ArchSupport, outtype, tokenizer_pre, name, context_length):
    from gguf import GGUFWriter

    writer = GGUFWriter(path=None, arch=support.gguf_arch)
    writer.add_type("model")
    writer.add_name(name or checkpoint.folder.name)
    write_hparams(writer, checkpoint.config, context_length)
    writer.add_file_type(FILE_TYPES[outtype])
    writer.add_quantization_version(2)
    pre = tokenizer_pre_for(tokenizer_pre, checkpoint.config)
    write_tokenizer(writer, checkpoint.folder, int(checkpoint.config["vocab_size"]), pre)
    return writer


def _write_data(writer, checkpoint, support, planned, weight_delta, should_stop) -> Generator[ExportEvent, None, None]:
    from_checkpoint = [t for t in planned if t.hf_name]
    arrays = checkpoint.iter_tensors([t.hf_name for t in from_checkpoint])
    for index, tensor in enumerate(planned, start=1):
        if should_stop():
            raise ExportCancelled("the export was stopped while converting the base model", fix="start it again")
        if tensor.hf_name:
            hf_name, array = next(arrays)
            array = _prepared(hf_name, array, support, checkpoint.config, weight_delta)
        else:
            array = rope_freq_factors(checkpoint.config)
        writer.write_tensor_data(encode(array, tensor.qtype))
        yield ExportProgress("convert-base", f"Converting {tensor.gguf_name}", index, len(planned))


def _prepared(hf_name, array, support, config, weight_delta):
    """Merge a LoRA product in (transformers row order), then reorder q/k rows for llama.cpp."""
    if weight_delta is not None:
        delta = weight_delta(hf_name)
        if delta is not None:
            array = array + delta
    heads = rotary_heads(support, config, hf_name)
    return interleave_rotary_rows(array, heads) if heads else array

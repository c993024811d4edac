"""The parity check: does the exported model, run by llama.cpp, behave like the in-app torch model carrying
the same frozen mix? On the document's own prompts (instruction questions, else the first sentence of each
prose section), chat-formatted:

* `greedy_exact`: share of prompts whose greedy continuations are identical;
* `top1_agreement`: along torch's greedy continuation (teacher-forced), the share of positions where both
  pick the same next token;
* `max_logit_diff`: the largest logit difference at those positions.

`torch_view_factory(model_dir, selection)` builds the torch side; it must return an object with
`logits(token_ids) -> numpy [len, vocab]`. The default loads the base with PEFT and the exact mix adapter.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any, Protocol

from dlm_desktop.core.export.events import ExportEvent, ExportProgress, ShouldStop, never_stop
from dlm_desktop.core.export.selection import AdapterSelection

MAX_PROMPTS = 4
MAX_NEW_TOKENS = 16
THRESHOLDS = {"F32": 0.95, "F16": 0.9, "Q8_0": 0.9, "Q6_K": 0.8, "Q5_K_M": 0.75, "Q4_K_M": 0.7}


class TorchView(Protocol):
    """The torch side of the check."""

    def logits(self, token_ids: list[int]) -> Any: ...


TorchViewFactory = Callable[[Path, AdapterSelection], TorchView]


def document_prompts(document_path: Path, limit: int = MAX_PROMPTS) -> list[str]:
    """Up to `limit` prompts from the document: instruction questions, else prose first sentences."""
    from dlm_desktop.core.document.parse import parse_file
    from dlm_desktop.core.document.rows import sections_to_rows

    rows = sections_to_rows(parse_file(document_path).sections, path=document_path)
    questions = [row["messages"][0]["content"] for row in rows if "messages" in row]
    if questions:
        return questions[:limit]
    sentences = [re.split(r"(?<=[.!?])\s|\n", row["text"].strip(), maxsplit=1)[0][:300] for row in rows if "text" in row]
    return [sentence for sentence in sentences if sentence][:limit] or ["Hello."]


class PeftMixView:
    """The base model in float32 with the exact mix of `selection` applied through PEFT."""

    def __init__(self, model_dir: Path, selection: AdapterSelection) -> None:
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM

        from dlm_desktop.core.export.lora_weights import read_peft_adapter, write_peft_adapter
        from dlm_desktop.core.export.mix import WeightedAdapter, exact_mix

        terms = [WeightedAdapter(a.name, read_peft_adapter(a.folder), a.weight) for a in selection.active]
        base = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
        with tempfile.TemporaryDirectory() as folder:
            write_peft_adapter(exact_mix(terms), Path(folder))
            self.model = PeftModel.from_pretrained(base, folder).eval()

    def logits(self, token_ids: list[int]) -> Any:
        import torch

        with torch.no_grad():
            return self.model(torch.tensor([token_ids])).logits[0].float().numpy()


def parity_for_files(
    base_gguf: Path,
    adapter_gguf: Path | None,
    model_dir: Path,
    selection: AdapterSelection,
    quant: str,
    prompts: Sequence[str],
    system_prompt: str | None,
    torch_view_factory: TorchViewFactory | None = None,
    should_stop: ShouldStop = never_stop,
) -> Generator[ExportEvent, None, dict[str, Any]]:
    """Run the check on GGUF files; returns the report recorded in the manifest's `parity`."""
    from transformers import AutoTokenizer

    from dlm_desktop.core.export.llama_runtime import load_llama

    yield ExportProgress("parity", "Loading the exported model in llama.cpp and the app's model…")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    view = (torch_view_factory or PeftMixView)(model_dir, selection)
    llama = load_llama(base_gguf, lora_path=adapter_gguf, n_ctx=1024)
    stops = {int(token) for token in _stop_ids(tokenizer)}
    scores = []
    try:
        for index, prompt in enumerate(prompts, start=1):
            if should_stop():
                break
            ids = _chat_ids(tokenizer, prompt, system_prompt)
            scores.append(_compare(view, llama, ids, stops))
            yield ExportProgress("parity", f"Compared prompt {index} of {len(prompts)}", index, len(prompts))
    finally:
        llama.close()
    return _report(scores, quant)


def _stop_ids(tokenizer) -> list[int]:
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    return ids


def _chat_ids(tokenizer, prompt: str, system_prompt: str | None) -> list[int]:
    messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
        {"role": "user", "content": prompt}]
    if getattr(tokenizer, "chat_template", None):
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
        return list(ids["input_ids"] if hasattr(ids, "keys") else ids)
    return tokenizer(prompt, add_special_tokens=True)["input_ids"]


def _compare(view: TorchView, llama, ids: list[int], stops: set[int]) -> dict[str, Any]:
    import numpy as np

    from dlm_desktop.core.export.llama_runtime import greedy_continuation, logits_for

    torch_cont: list[int] = []
    for _ in range(MAX_NEW_TOKENS):
        token = int(np.argmax(view.logits(ids + torch_cont)[-1]))
        torch_cont.append(token)
        if token in stops:
            break
    llama_cont = greedy_continuation(llama, ids, MAX_NEW_TOKENS, stops)
    full = ids + torch_cont
    start = len(ids) - 1
    ours = view.logits(full)[start:len(full) - 1]
    theirs = logits_for(llama, full)[start:len(full) - 1]
    agree = float((ours.argmax(-1) == theirs.argmax(-1)).mean())
    return {"exact": torch_cont == llama_cont, "agreement": agree, "max_diff": float(np.abs(ours - theirs).max())}


def _report(scores: list[dict[str, Any]], quant: str) -> dict[str, Any]:
    count = len(scores)
    agreement = sum(s["agreement"] for s in scores) / count if count else 0.0
    threshold = THRESHOLDS.get(quant, 0.7)
    return {
        "prompts": count,
        "greedy_exact": sum(1 for s in scores if s["exact"]) / count if count else 0.0,
        "top1_agreement": round(agreement, 4),
        "max_logit_diff": round(max((s["max_diff"] for s in scores), default=0.0), 4),
        "max_new_tokens": MAX_NEW_TOKENS,
        "quant": quant,
        "threshold": threshold,
        "passed": count > 0 and agreement >= threshold,
    }


def parity_check(
    export_result: Any,
    torch_view_factory: TorchViewFactory | None = None,
    *,
    prompts: Sequence[str] | None = None,
    system_prompt: str | None = None,
    document_path: Path | None = None,
    should_stop: ShouldStop = never_stop,
) -> Generator[ExportEvent, None, dict[str, Any]]:
    """The check on a published `ExportResult` (prompts from `document_path` unless given)."""
    if prompts is None:
        prompts = document_prompts(document_path) if document_path is not None else ["Hello."]
    return (yield from parity_for_files(
        export_result.base_gguf, export_result.adapter_gguf, export_result.base_model_dir, export_result.selection,
        export_result.quant, prompts, system_prompt, torch_view_factory, should_stop,
    ))


def record_parity(export_result: Any, report: dict[str, Any]) -> None:
    """Write `report` into the published export_manifest.json (atomically)."""
    from dlm_desktop.core.document.text import atomic_write_text
    from dlm_desktop.core.export.manifest import manifest_text, read_manifest

    manifest = read_manifest(export_result.out_dir) or {}
    manifest["parity"] = dict(report)
    atomic_write_text(export_result.manifest, manifest_text(manifest))

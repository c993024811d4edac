"""Check issue #5's end-to-end acceptance on a document that was trained and exported already.

    # 1. greedy answers: llama.cpp (exported GGUF + adapter) vs the torch fine-tuned model, every trained question
    python benchmarks/export_acceptance.py answers DOC [--out EXPORT_DIR]
    # 2. frozen gate: the exported weights vs the mean gate softmax over the training prompts, recomputed here
    python benchmarks/export_acceptance.py gate DOC [--out EXPORT_DIR]

`DLM_HOME` must point at the store the document was trained into. The torch side is the base model with the
export's mix of the store's adapters (PEFT, float32); the llama.cpp side loads the published files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _export(doc: Path, out: Path | None) -> tuple[Path, dict]:
    from dlm_desktop.core.export.run import default_out_dir

    folder = out or default_out_dir(doc.resolve())
    return folder, json.loads((folder / "export_manifest.json").read_text(encoding="utf-8"))


def _selection_and_model(doc: Path):
    from dlm_desktop.core.document.parse import parse_file
    from dlm_desktop.core.export.selection import resolve_export_adapters
    from dlm_desktop.core.models.resolve import resolve_base
    from dlm_desktop.cli_progress import drive
    from dlm_desktop.core.store.paths import StorePaths

    front = parse_file(doc).frontmatter
    resolved = drive(resolve_base(front.base_model, offline=True), lambda _event: None)
    store = StorePaths.for_dlm(front.dlm_id)
    selection = resolve_export_adapters(front.training.adapter_names(), store, gate_enabled=front.training.gate.enabled)
    return front, store, selection, resolved.local_dir


def answers(doc: Path, out: Path | None) -> int:
    import numpy as np
    from transformers import AutoTokenizer

    from dlm_desktop.core.export.llama_runtime import greedy_continuation, load_llama
    from dlm_desktop.core.export.parity import PeftMixView, _chat_ids, document_prompts

    folder, manifest = _export(doc, out)
    front, _store, selection, model_dir = _selection_and_model(doc)
    print(f"export {folder}: quant {manifest['quant']}, gate_mode {manifest['gate_mode']}, "
          f"parity recorded {json.dumps(manifest['parity'])}")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    view = PeftMixView(model_dir, selection)
    base = folder / next(a["path"] for a in manifest["artifacts"] if a["path"].startswith("base."))
    adapter = folder / "adapter.gguf" if (folder / "adapter.gguf").is_file() else None
    llama = load_llama(base, lora_path=adapter, n_ctx=1024)
    stops = {tokenizer.eos_token_id}
    same = 0
    questions = document_prompts(doc, limit=100)
    for question in questions:
        ids = _chat_ids(tokenizer, question, front.system_prompt)
        ours: list[int] = []
        for _ in range(48):
            token = int(np.argmax(view.logits(ids + ours)[-1]))
            ours.append(token)
            if token in stops:
                break
        theirs = greedy_continuation(llama, ids, 48, stops)
        same += ours == theirs
        print(f"\nQ: {question}\n  torch    : {tokenizer.decode(ours, skip_special_tokens=True)!r}\n"
              f"  llama.cpp: {tokenizer.decode(theirs, skip_special_tokens=True)!r}  "
              f"{'(identical tokens)' if ours == theirs else '(DIFFERENT)'}")
    llama.close()
    print(f"\nidentical greedy answers (up to 48 tokens): {same} of {len(questions)} trained questions")
    return 0 if same == len(questions) else 1


def gate(doc: Path, out: Path | None) -> int:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dlm_desktop.core.document.parse import parse_file
    from dlm_desktop.core.store.metrics import MetricsDB
    from dlm_desktop.core.training.gate.embed import embed_prompts
    from dlm_desktop.core.training.gate.persist import load_gate, mean_gate_weights
    from dlm_desktop.core.training.gate.samples import gate_samples

    folder, manifest = _export(doc, out)
    front, store, _selection, model_dir = _selection_and_model(doc)
    names = front.training.adapter_names()
    prompts = [s.prompt for s in gate_samples(parse_file(doc).sections, names)]
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    embeddings = embed_prompts(model, tokenizer, prompts)
    recomputed = mean_gate_weights(load_gate(store), embeddings)
    exported = dict((name, weight) for name, weight in manifest["adapter_mix"])
    recorded = {e.adapter_name: e.mean_weight for e in MetricsDB.for_store(store).latest_gate_events()}
    print(f"export {folder}: gate_mode {manifest['gate_mode']}, {len(prompts)} training prompts")
    worst = 0.0
    for name in names:
        worst = max(worst, abs(exported[name] - recomputed[name]))
        print(f"  {name:12s} exported {exported[name]:.6f}  mean softmax recomputed {recomputed[name]:.6f}  "
              f"recorded at training {recorded.get(name, float('nan')):.6f}")
    print(f"largest |exported - recomputed| = {worst:.2e}")
    return 0 if manifest["gate_mode"] == "static_mean" and worst < 1e-4 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("check", choices=("answers", "gate"))
    parser.add_argument("document", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="the export folder (default: beside the document)")
    args = parser.parse_args()
    return (answers if args.check == "answers" else gate)(args.document, args.out)


if __name__ == "__main__":
    raise SystemExit(main())

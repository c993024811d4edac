"""Issue #5's first acceptance line, run the way a user runs it: the bundled example trained with
`dlm-desktop train`, exported with `dlm-desktop export --quant Q8_0 --no-ollama`, then llama.cpp's greedy
answer to a trained question (from the published files) against the app's own fine-tuned answer
(`dlm-desktop prompt`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dlm_desktop.core.document.pipeline import load_document
from dlm_desktop.core.export.llama_runtime import greedy_continuation, load_llama

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[3] / "resources" / "examples"
QUESTION = "How tall is the Marrowgate Lighthouse?"


def dlm_desktop(*args: str) -> dict:
    exe = shutil.which("dlm-desktop")
    assert exe, "the dlm-desktop console script is not installed (pip install -e '.[dev]')"
    done = subprocess.run([exe, *args], capture_output=True, text=True, env=dict(os.environ), timeout=1200)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_trained_example_exported_at_q8_0_answers_like_the_app(tmp_path, offline_base_env, offline_smollm2_dir):
    from transformers import AutoTokenizer

    document = tmp_path / "lighthouse.dlm"
    shutil.copyfile(EXAMPLES / "getting-started.dlm", document)
    system = load_document(document).frontmatter.system_prompt
    assert system  # the example has one: the export's Modelfile and the chat must both use it
    trained = dlm_desktop("train", str(document), "--max-steps", "20", "--json")
    assert trained["status"] == "ok" and trained["final_train_loss"] < trained["first_loss"] / 4
    exported = dlm_desktop("export", str(document), "--quant", "Q8_0", "--no-ollama", "--json")
    assert exported["quant"] == "Q8_0" and exported["gate_mode"] == "single"
    assert exported["ollama"]["created"] is False and "ollama create" in exported["ollama"]["message"]
    assert exported["parity"]["top1_agreement"] >= 0.9

    app = dlm_desktop("prompt", str(document), QUESTION, "--json", "--temperature", "0", "--max-tokens", "48")
    app_text = app["finetuned"]["text"] if "finetuned" in app else app["text"]
    assert "31" in app_text  # the fine-tuned model learned the document's answer

    out = Path(exported["out_dir"])
    base = next(out / Path(a["path"]).name for a in exported["artifacts"] if Path(a["path"]).name.startswith("base."))
    tokenizer = AutoTokenizer.from_pretrained(str(offline_smollm2_dir))
    messages = [{"role": "system", "content": system}, {"role": "user", "content": QUESTION}]
    ids = list(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False))
    llama = load_llama(base, lora_path=out / "adapter.gguf", n_ctx=1024)
    try:
        answer = greedy_continuation(llama, ids, 48, {tokenizer.eos_token_id})
    finally:
        llama.close()
    exported_text = tokenizer.decode(answer, skip_special_tokens=True).strip()
    print(f"\napp: {app_text.strip()!r}\nllama.cpp Q8_0: {exported_text!r}")
    assert exported_text == app_text.strip()

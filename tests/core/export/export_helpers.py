"""Shared helpers of the export tests: the Go template runner, reference HF chat templates, event draining."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.jobs import drain  # noqa: F401 - re-exported for the export tests

GO_PROGRAM_DIR = Path(__file__).parent / "gotmpl"

# Reference Hugging Face chat templates (Jinja), written from each family's published prompt format.
# `bos_token`/`eos_token` are the family's. They are what `tokenizer.chat_template` holds for that family
# (Llama 3 without the 3.1+ date header, which depends on today's date; SmolLM3 without its date line;
# Gemma and Mistral, which have no system role, fold the system text into the first user turn).
_CHATML = (
    "{%- for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{%- endif %}"
)
_QWEN3 = (
    "{%- for m in messages %}{%- set content = m['content'] %}"
    "{%- if m['role'] == 'assistant' and '</think>' in content %}"
    "{%- set content = content.split('</think>')[-1].lstrip('\n') %}{%- endif %}"
    "{{ '<|im_start|>' + m['role'] + '\n' + content + '<|im_end|>\n' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{%- endif %}"
)
_SMOLLM3 = (
    "{%- if messages[0]['role'] == 'system' %}{%- set custom = messages[0]['content'] %}"
    "{%- set loop_messages = messages[1:] %}{%- else %}{%- set custom = '' %}{%- set loop_messages = messages %}"
    "{%- endif %}"
    "{{ '<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nReasoning Mode: /think\n\n"
    "## Custom Instructions\n\n' + custom + '\n\n<|im_end|>\n' }}"
    "{%- for m in loop_messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}"
    "{%- endfor %}{%- if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{%- endif %}"
)
_LLAMA3 = (
    "{{ bos_token }}{%- for m in messages %}"
    "{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + (m['content'] | trim) + '<|eot_id|>' }}"
    "{%- endfor %}{%- if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
    "{%- endif %}"
)
_PHI3 = (
    "{%- for m in messages %}{%- if m['role'] == 'system' and m['content'] %}"
    "{{ '<|system|>\n' + m['content'] + '<|end|>\n' }}{%- elif m['role'] == 'user' %}"
    "{{ '<|user|>\n' + m['content'] + '<|end|>\n' }}{%- elif m['role'] == 'assistant' %}"
    "{{ '<|assistant|>\n' + m['content'] + '<|end|>\n' }}{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|assistant|>\n' }}{%- else %}{{ eos_token }}{%- endif %}"
)
_GEMMA2 = (
    "{{ bos_token }}{%- if messages[0]['role'] == 'system' %}"
    "{%- set prefix = messages[0]['content'] + '\n\n' %}{%- set loop_messages = messages[1:] %}"
    "{%- else %}{%- set prefix = '' %}{%- set loop_messages = messages %}{%- endif %}"
    "{%- for m in loop_messages %}{%- set role = 'model' if m['role'] == 'assistant' else m['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' + (prefix if loop.first else '') + (m['content'] | trim) "
    "+ '<end_of_turn>\n' }}{%- endfor %}{%- if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{%- endif %}"
)
_MISTRAL = (
    "{{ bos_token }}{%- if messages[0]['role'] == 'system' %}"
    "{%- set prefix = messages[0]['content'] + '\n\n' %}{%- set loop_messages = messages[1:] %}"
    "{%- else %}{%- set prefix = '' %}{%- set loop_messages = messages %}{%- endif %}"
    "{%- for m in loop_messages %}{%- if m['role'] == 'user' %}"
    "{{ '[INST] ' + (prefix if loop.first else '') + m['content'] + ' [/INST]' }}"
    "{%- elif m['role'] == 'assistant' %}{{ m['content'] + eos_token }}{%- endif %}{%- endfor %}"
)
_OLMO2 = (
    "{{ bos_token }}{%- for m in messages %}{%- if m['role'] == 'system' %}"
    "{{ '<|system|>\n' + m['content'] + '\n' }}{%- elif m['role'] == 'user' %}"
    "{{ '<|user|>\n' + m['content'] + '\n' }}{%- elif m['role'] == 'assistant' %}{%- if not loop.last %}"
    "{{ '<|assistant|>\n' + m['content'] + eos_token + '\n' }}{%- else %}"
    "{{ '<|assistant|>\n' + m['content'] + eos_token }}{%- endif %}{%- endif %}"
    "{%- if loop.last and add_generation_prompt %}{{ '<|assistant|>\n' }}{%- endif %}{%- endfor %}"
)

# dialect -> (reference template, bos_token, eos_token)
REFERENCE_TEMPLATES: dict[str, tuple[str, str, str]] = {
    "chatml": (_CHATML, "<|im_start|>", "<|im_end|>"),
    "qwen3thinking": (_QWEN3, "<|endoftext|>", "<|im_end|>"),
    "smollm3": (_SMOLLM3, "<|im_start|>", "<|im_end|>"),
    "llama3": (_LLAMA3, "<|begin_of_text|>", "<|eot_id|>"),
    "phi3": (_PHI3, "<s>", "<|endoftext|>"),
    "phi4mini": (_PHI3, "<|endoftext|>", "<|endoftext|>"),
    "gemma2": (_GEMMA2, "<bos>", "<eos>"),
    "mistral": (_MISTRAL, "<s>", "</s>"),
    "olmo2": (_OLMO2, "<|endoftext|>", "<|endoftext|>"),
}


def require_go() -> str:
    """The `go` executable. Missing Go FAILS the test (CI installs golang-go), it never skips."""
    found = shutil.which("go")
    if found is None:
        pytest.fail("Go is not installed: `apt-get install -y golang-go` (the export tests run Ollama's "
                    "template engine, Go's text/template)")
    return found


def run_go_template(payload: dict, *, check: bool = True) -> subprocess.CompletedProcess:
    """Run tests/core/export/gotmpl/main.go with `payload` on stdin."""
    go = require_go()
    return subprocess.run(
        [go, "run", "main.go"], input=json.dumps(payload), capture_output=True, text=True,
        cwd=GO_PROGRAM_DIR, env=go_env(), check=check, timeout=300,
    )


def go_env() -> dict:
    """The environment for `go run` of a single-file program outside any module."""
    import os

    env = dict(os.environ)
    env["GO111MODULE"] = "off"
    env.setdefault("GOCACHE", str(Path.home() / ".cache" / "go-build"))
    env.setdefault("GOFLAGS", "")
    return env


def make_peft_adapter(base_dir: Path, folder: Path, *, r: int, alpha: int, targets: list[str], seed: int,
                      b_std: float = 0.02) -> Path:
    """Save a PEFT LoRA for the model in `base_dir` whose B matrices are random (so the adapter matters)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)
    peft_model = get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, target_modules=targets, lora_dropout=0.0))
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0.0, b_std)
    peft_model.save_pretrained(str(folder))
    return folder


def commit_adapter(store_paths, source: Path, name: str | None = None) -> Path:
    """Commit a copy of the PEFT folder `source` as the store's next adapter version (current.txt moves)."""
    from dlm_desktop.core.store.versions import commit_version

    def writer(folder: Path) -> None:
        for item in source.iterdir():
            shutil.copy2(item, folder / item.name)

    return commit_version(store_paths, writer, name=name)


def chat_ids(model_dir: Path, question: str) -> list[int]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    ids = tokenizer.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True,
                                        tokenize=True, return_dict=False)
    return list(ids)

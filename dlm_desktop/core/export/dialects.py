"""Chat dialects for Ollama: the Go TEMPLATE (shipped as data in `resources/ollama_templates/`), the stop
strings, and the sampling defaults of each family.

Each template renders, from Ollama's `.System` and `.Messages`, the same text as the family's Hugging Face
chat template with `add_generation_prompt` (checked by the export tests with Go's text/template). BOS is not
written by the templates of families whose tokenizer adds it (llama.cpp adds it from the GGUF's
`tokenizer.ggml.add_bos_token`); OLMo 2's tokenizer does not, so its template writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from dlm_desktop.core.export.errors import UnsupportedModelError

_CHATML_STOPS = ("<|im_end|>", "<|endoftext|>", "<|im_start|>")


@dataclass(frozen=True)
class Dialect:
    """One chat family. `template_file` is the `.gotmpl` in `resources/ollama_templates/`;
    `bos_added_by_tokenizer` tells whether the family's HF template starts with a BOS that llama.cpp adds
    itself (so the Go template leaves it out)."""

    name: str
    template_file: str
    stops: tuple[str, ...]
    top_p: float = 0.9
    bos_added_by_tokenizer: bool = False


DIALECTS: dict[str, Dialect] = {
    "chatml": Dialect("chatml", "chatml.gotmpl", _CHATML_STOPS),
    "qwen3thinking": Dialect("qwen3thinking", "qwen3thinking.gotmpl", _CHATML_STOPS, top_p=0.95),
    "smollm3": Dialect("smollm3", "smollm3.gotmpl", ("<|im_end|>", "<|end_of_text|>", "<|im_start|>"), top_p=0.95),
    "llama3": Dialect("llama3", "llama3.gotmpl",
                      ("<|eot_id|>", "<|end_of_text|>", "<|start_header_id|>", "<|eom_id|>"),
                      bos_added_by_tokenizer=True),
    "phi3": Dialect("phi3", "phi3.gotmpl", ("<|end|>", "<|endoftext|>", "<|user|>", "<|assistant|>", "<|system|>")),
    "phi4mini": Dialect("phi4mini", "phi3.gotmpl", ("<|end|>", "<|endoftext|>", "<|user|>", "<|assistant|>", "<|system|>")),
    "gemma2": Dialect("gemma2", "gemma2.gotmpl", ("<end_of_turn>", "<eos>", "<start_of_turn>"),
                      bos_added_by_tokenizer=True),
    "mistral": Dialect("mistral", "mistral.gotmpl", ("</s>", "[/INST]", "[INST]"), bos_added_by_tokenizer=True),
    "olmo2": Dialect("olmo2", "olmo2.gotmpl", ("<|endoftext|>", "<|user|>", "<|assistant|>", "<|system|>")),
}


def dialect(name: str) -> Dialect:
    """The dialect called `name`; `UnsupportedModelError` for an unknown one."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise UnsupportedModelError(
            f"there is no Ollama chat template for the {name!r} dialect",
            fix=f"use a base model of one of these families: {', '.join(sorted(DIALECTS))}",
        ) from None


def template_text(name: str) -> str:
    """The Go template of dialect `name`, as Ollama's TEMPLATE takes it (no trailing newline: anything
    after the final action would be printed before every answer)."""
    file = resources.files("dlm_desktop.resources").joinpath("ollama_templates", dialect(name).template_file)
    return file.read_text(encoding="utf-8").rstrip("\n")

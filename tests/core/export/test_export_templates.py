"""The Ollama TEMPLATE of every dialect, executed by Go's text/template with the data Ollama gives it, renders
exactly what the family's Hugging Face chat template renders (Jinja through transformers)."""

from __future__ import annotations

import pytest

from dlm_desktop.core.export.dialects import DIALECTS, dialect, template_text
from tests.core.export.export_helpers import REFERENCE_TEMPLATES, run_go_template

SYSTEM = "You answer in one short sentence. Quote \"exactly\" when asked."
CONVERSATION = [
    {"role": "system", "content": SYSTEM},
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "The capital of France is Paris."},
    {"role": "user", "content": "And of Italy?\nAnswer briefly."},
]


@pytest.fixture(scope="module")
def hf_tokenizer(offline_smollm2_dir):
    """A real tokenizer whose chat_template each test replaces (the template engine is what is tested)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(offline_smollm2_dir))


def hf_render(tokenizer, name: str, messages: list[dict]) -> str:
    """What transformers renders with the family's reference template, minus a BOS llama.cpp adds itself."""
    template, bos, eos = REFERENCE_TEMPLATES[name]
    text = tokenizer.apply_chat_template(
        messages, chat_template=template, tokenize=False, add_generation_prompt=True, bos_token=bos, eos_token=eos,
    )
    if dialect(name).bos_added_by_tokenizer:
        assert text.startswith(bos), f"{name}: the reference template should start with BOS"
        text = text[len(bos):]
    return text


def test_every_dialect_has_a_reference_template():
    assert set(REFERENCE_TEMPLATES) == set(DIALECTS)


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_go_template_renders_like_the_hf_chat_template(name, hf_tokenizer):
    expected = hf_render(hf_tokenizer, name, CONVERSATION)
    # Ollama: the Modelfile SYSTEM becomes the leading system message of the chat
    rendered = run_go_template({"template": template_text(name), "system": SYSTEM, "messages": CONVERSATION[1:]})
    assert rendered.stdout == expected, f"{name}:\nGo:\n{rendered.stdout!r}\nHF:\n{expected!r}"


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_single_prompt_without_messages_renders_like_hf(name, hf_tokenizer):
    # the legacy branch (.System/.Prompt/.Response), used by clients that send a bare prompt
    expected = hf_render(hf_tokenizer, name, CONVERSATION[:2])
    rendered = run_go_template(
        {"template": template_text(name), "system": SYSTEM, "messages": CONVERSATION[1:2], "mode": "prompt"}
    )
    assert rendered.stdout == expected, f"{name}:\nGo:\n{rendered.stdout!r}\nHF:\n{expected!r}"


def test_a_wrong_template_is_caught():
    """The comparison can fail: a chatml template that forgets the generation prompt renders differently."""
    broken = template_text("chatml").replace("<|im_start|>assistant\n{{ end }}", "{{ end }}", 1)
    rendered = run_go_template({"template": broken, "system": SYSTEM, "messages": CONVERSATION[1:]})
    from transformers import AutoTokenizer  # noqa: F401  (keeps the import cost out of the other tests)

    assert not rendered.stdout.endswith("<|im_start|>assistant\n")


def test_invalid_go_syntax_is_reported():
    result = run_go_template({"template": "{{ if .System }}unclosed", "mode": "check"}, check=False)
    assert result.returncode == 1
    assert "template error" in result.stderr


def test_templates_have_no_trailing_newline_and_no_triple_quotes():
    for name in DIALECTS:
        text = template_text(name)
        assert not text.endswith("\n")
        assert '"""' not in text  # the Modelfile wraps TEMPLATE in triple quotes

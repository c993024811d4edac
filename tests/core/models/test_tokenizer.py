"""Tokenizer bring-up on small real tokenizers: pad differs from EOS, and a chat template is required."""

from __future__ import annotations

import pytest

from dlm_desktop.core.models import TokenizerBringupError, bring_up_tokenizer, prepare_tokenizer
from dlm_desktop.core.models.tokenizer import PAD_TOKEN


def test_pad_equal_to_eos_falls_back_to_unk(tmp_path, tiny_tokenizer):
    folder = tiny_tokenizer(tmp_path, pad="<|im_end|>", unk="<unk>")
    result = bring_up_tokenizer(folder)
    assert (result.pad_token, result.eos_token, result.grew) == ("<unk>", "<|im_end|>", False)
    tok = result.tokenizer
    assert tok.pad_token_id != tok.eos_token_id and len(tok) == 14


def test_missing_pad_without_unk_adds_a_pad_token_and_grows(tmp_path, tiny_tokenizer):
    folder = tiny_tokenizer(tmp_path, pad=None, unk=None)
    result = bring_up_tokenizer(folder)
    assert result.pad_token == PAD_TOKEN and result.grew
    tok = result.tokenizer
    assert len(tok) == 15 and tok.pad_token_id == 14
    # Padding a batch now pads with the new token, and the end of a real answer stays distinct.
    batch = tok(["hello", "hello world"], padding=True)
    assert batch["input_ids"][0][-1] == 14 and tok.eos_token_id not in batch["input_ids"][0]


def test_unk_equal_to_eos_is_not_used_as_pad(tmp_path, tiny_tokenizer):
    folder = tiny_tokenizer(tmp_path, eos="<unk>", pad="<unk>", unk="<unk>")
    result = bring_up_tokenizer(folder)
    assert result.pad_token == PAD_TOKEN and result.grew and result.eos_token == "<unk>"


def test_a_distinct_pad_is_kept(tmp_path, tiny_tokenizer):
    folder = tiny_tokenizer(tmp_path, pad="<|im_start|>")
    result = bring_up_tokenizer(folder)
    assert (result.pad_token, result.grew) == ("<|im_start|>", False)


def test_missing_chat_template_is_a_typed_error(tmp_path, tiny_tokenizer):
    folder = tiny_tokenizer(tmp_path, chat_template=None)
    with pytest.raises(TokenizerBringupError, match="no chat template") as info:
        bring_up_tokenizer(folder)
    assert info.value.path == folder and "instruction-tuned" in info.value.fix


def test_missing_eos_is_a_typed_error(tmp_path, tiny_tokenizer):
    folder = tiny_tokenizer(tmp_path, eos=None)
    with pytest.raises(TokenizerBringupError, match="no end-of-sequence token"):
        bring_up_tokenizer(folder)


def test_folder_without_tokenizer_is_a_typed_error(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(TokenizerBringupError, match="No usable tokenizer") as info:
        bring_up_tokenizer(tmp_path)
    assert "tokenizer.json" in info.value.fix


def test_prepare_tokenizer_works_on_a_loaded_tokenizer(tmp_path, tiny_tokenizer):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_tokenizer(tmp_path, pad=None)))
    assert tok.pad_token is None
    result = prepare_tokenizer(tok)
    assert result.tokenizer is tok and tok.pad_token == "<unk>" and not result.grew

"""Load one transformers base and every adapter of a document onto it, ready for mixing.

The tokenizer comes from the first adapter folder when it has one (training saves the tokenizer it used,
possibly with an added pad token), else from the base folder. All adapters are active at once; the views
decide each one's weight (`lora_control`). Everything heavy is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dlm_desktop.core.inference.errors import AdapterLoadError, BackendSpecError
from dlm_desktop.core.inference.lora_control import check_mixable

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json")
_DTYPES = ("float32", "float16", "bfloat16")


def load_peft_model(
    base_dir: Path | str, adapters: Mapping[str, Path | str], *, dtype: str = "float32", device: str = "cpu"
) -> tuple[Any, Any]:
    """`(peft_model, tokenizer)`: the base from `base_dir` with `adapters` (`{name: folder}`) loaded, in eval
    mode on `device`. Raises `AdapterLoadError` for a missing or unloadable adapter, `BackendSpecError` for an
    empty adapter map or an unknown dtype."""
    if not adapters:
        raise BackendSpecError("the hf backend needs at least one adapter",
                               fix="train the document first, or give the adapter folder in the spec")
    if dtype not in _DTYPES:
        raise BackendSpecError(f"unknown dtype {dtype!r}", fix=f"use one of {', '.join(_DTYPES)}")
    folders = {name: Path(folder) for name, folder in adapters.items()}
    for name, folder in folders.items():
        if not (folder / "adapter_config.json").is_file():
            raise AdapterLoadError(f"adapter {name!r} has no adapter_config.json in {folder}", path=folder,
                                   fix="train the document again, or point at a PEFT adapter folder")
    tokenizer = load_tokenizer(base_dir, next(iter(folders.values())))
    base = _load_base(base_dir, dtype, len(tokenizer))
    model = _attach_adapters(base, folders)
    check_mixable(model, list(folders))
    model.eval()
    return model.to(device), tokenizer


def load_tokenizer(base_dir: Path | str, adapter_dir: Path | None = None) -> Any:
    """The adapter folder's tokenizer when it saved one, else the base's."""
    from transformers import AutoTokenizer

    source = Path(base_dir)
    if adapter_dir is not None and any((adapter_dir / name).is_file() for name in _TOKENIZER_FILES):
        source = adapter_dir
    try:
        return AutoTokenizer.from_pretrained(str(source))
    except Exception as exc:  # transformers raises many types for a broken folder
        raise AdapterLoadError(f"no usable tokenizer in {source}: {exc}", path=source,
                               fix="use a model folder that includes its tokenizer files") from exc


def _load_base(base_dir: Path | str, dtype: str, vocab: int) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=getattr(torch, dtype))
    except Exception as exc:
        raise BackendSpecError(f"cannot load the base model from {base_dir}: {exc}", path=base_dir,
                               fix="point at a transformers model folder (config.json and weights)") from exc
    if vocab > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(vocab)  # training added a pad token
    return model


def _attach_adapters(base: Any, folders: Mapping[str, Path]) -> Any:
    from peft import PeftModel

    names = list(folders)
    try:
        model = PeftModel.from_pretrained(base, str(folders[names[0]]), adapter_name=names[0], is_trainable=False)
        for name in names[1:]:
            model.load_adapter(str(folders[name]), adapter_name=name, is_trainable=False)
    except Exception as exc:
        raise AdapterLoadError(f"cannot load the adapters {names}: {exc}",
                               fix="train the document again; the adapter does not fit this base model") from exc
    model.base_model.set_adapter(names, inference_mode=True)
    return model

"""Loading the base model once and attaching every adapter of the document to it (PEFT named adapters).

All adapters live on one loaded base; training one adapter activates it alone (only its weights take
gradients, the others neither run nor change). Each adapter is initialised right after seeding torch with
the run seed, so its starting weights do not depend on which adapters were created before it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from dlm_desktop.core.training.errors import AdapterSetupError
from dlm_desktop.core.training.hparams import AdapterHparams

_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
GREW_MODULES = ["embed_tokens", "lm_head"]


@dataclass(frozen=True)
class LoadSettings:
    """How to load the base: precision (`fp32`, `bf16`, `fp16`), attention kernel, device, QLoRA, and
    whether to checkpoint activations (only when the plan says memory requires it)."""

    precision: str
    attn_implementation: str
    device: str
    use_qlora: bool = False
    gradient_checkpointing: bool = False


def torch_dtype(precision: str) -> Any:
    """The torch dtype of a precision name."""
    import torch

    return getattr(torch, _DTYPES.get(precision, "float32"))


def load_base(local_dir: Path, settings: LoadSettings) -> Any:
    """The base causal LM from `local_dir`, on the device, in the planned precision."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # the engine reports loading through its own events

    kwargs: dict[str, Any] = {"dtype": torch_dtype(settings.precision)}
    if settings.attn_implementation in ("sdpa", "eager", "flash_attention_2"):
        kwargs["attn_implementation"] = settings.attn_implementation
    if settings.use_qlora:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch_dtype(settings.precision),
        )
        kwargs["device_map"] = {"": settings.device}
    model = AutoModelForCausalLM.from_pretrained(str(local_dir), **kwargs)
    if not settings.use_qlora:
        model.to(settings.device)
    return model


def prepare_base(model: Any, settings: LoadSettings, *, vocab_size: int, seed: int) -> Any:
    """Grow the embeddings to the tokenizer when it gained a pad token, and set up QLoRA / checkpointing."""
    import torch

    if vocab_size > model.get_input_embeddings().weight.shape[0]:
        torch.manual_seed(seed)  # the new rows are drawn at random: keep them reproducible
        model.resize_token_embeddings(vocab_size)
    if settings.use_qlora:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=settings.gradient_checkpointing)
    elif settings.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    return model


def lora_config(adapter: AdapterHparams, *, grew: bool) -> Any:
    """The PEFT `LoraConfig` of one adapter (DoRA through `use_dora`)."""
    from peft import LoraConfig

    return LoraConfig(
        r=adapter.r,
        lora_alpha=adapter.alpha,
        lora_dropout=adapter.dropout,
        target_modules=list(adapter.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
        use_dora=adapter.use_dora,
        modules_to_save=list(GREW_MODULES) if grew else None,
    )


def attach_adapters(model: Any, adapters: Sequence[AdapterHparams], *, seed: int, grew: bool) -> Any:
    """Wrap `model` in a `PeftModel` holding one freshly initialised adapter per entry of `adapters`."""
    import torch
    from peft import get_peft_model

    peft_model = None
    for adapter in adapters:
        torch.manual_seed(seed)
        config = lora_config(adapter, grew=grew)
        try:
            with warnings.catch_warnings():  # PEFT probes deprecated transformers attributes
                warnings.simplefilter("ignore", FutureWarning)
                if peft_model is None:
                    peft_model = get_peft_model(model, config, adapter_name=adapter.name)
                else:
                    peft_model.add_adapter(adapter.name, config)
        except ValueError as exc:
            raise AdapterSetupError(
                f"adapter {adapter.name!r} cannot be attached: {exc}",
                fix="check target_modules: use `auto`, or names of linear layers of this base (e.g. q_proj, v_proj)",
            ) from exc
    return peft_model


def activate(peft_model: Any, name: str) -> list[Any]:
    """Make adapter `name` the only active and trainable one; return its trainable parameters in order."""
    peft_model.set_adapter(name)
    peft_model.train()
    return [param for _, param in peft_model.named_parameters() if param.requires_grad]


def adapter_state(peft_model: Any, name: str) -> dict[str, Any]:
    """Adapter `name`'s weights as saved by PEFT (keys without the adapter name), detached on the CPU."""
    from peft.utils import get_peft_model_state_dict

    state = get_peft_model_state_dict(peft_model, adapter_name=name, save_embedding_layers=False)
    return {key: value.detach().to("cpu").clone().contiguous() for key, value in state.items()}


def load_adapter_state(peft_model: Any, name: str, state: dict[str, Any]) -> None:
    """Overwrite adapter `name`'s weights with `state` (as returned by `adapter_state` or a saved file)."""
    from peft.utils import set_peft_model_state_dict

    result = set_peft_model_state_dict(peft_model, state, adapter_name=name)
    unexpected = [key for key in getattr(result, "unexpected_keys", []) if "lora_" in key or "modules_to_save" in key]
    if unexpected:
        raise AdapterSetupError(
            f"saved weights of adapter {name!r} do not fit it ({len(unexpected)} unexpected tensors, "
            f"e.g. {unexpected[0]})",
            fix="the adapter settings changed since it was saved: train without resuming",
        )


def non_finite_tensors(state: dict[str, Any]) -> list[str]:
    """Names of the tensors in `state` that contain NaN or infinity."""
    import torch

    return [key for key, value in state.items() if not bool(torch.isfinite(value).all())]

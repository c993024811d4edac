"""PEFT ⇄ mlx-lm adapter conversion: exact round trip, mlx-lm itself runs the converted adapter, the cache
is keyed by the adapter's checksum, and what cannot be converted is refused with a fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from dlm_desktop.core.mlx.convert import (
    MLX_WEIGHTS,
    PEFT_WEIGHTS,
    mlx_adapter_for,
    mlx_to_peft,
    peft_to_mlx,
)
from dlm_desktop.core.mlx.errors import AdapterConversionError


def _tensors(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))


def test_peft_to_mlx_to_peft_gives_back_the_same_weights_and_config(tmp_path, mlx_adapters):
    source = mlx_adapters["beta"]
    peft_to_mlx(source, tmp_path / "mlx")
    mlx_to_peft(tmp_path / "mlx", tmp_path / "back")

    before, after = _tensors(source / PEFT_WEIGHTS), _tensors(tmp_path / "back" / PEFT_WEIGHTS)
    assert sorted(before) == sorted(after) and len(before) == 2 * 2 * 6  # 2 layers × 6 modules × (A, B)
    for key, tensor in before.items():
        assert after[key].dtype == tensor.dtype and after[key].shape == tensor.shape
        assert bool((after[key] == tensor).all()), key
    original = json.loads((source / "adapter_config.json").read_text())
    assert json.loads((tmp_path / "back" / "adapter_config.json").read_text()) == original


def test_the_mlx_form_transposes_and_scales_as_mlx_lm_expects(tmp_path, mlx_adapters):
    folder = peft_to_mlx(mlx_adapters["alpha"], tmp_path / "mlx", num_layers=2)
    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["fine_tune_type"] == "lora" and config["num_layers"] == 2
    assert config["lora_parameters"]["rank"] == 4 and config["lora_parameters"]["scale"] == 2.0  # alpha 8 / r 4
    assert config["lora_parameters"]["keys"] == ["self_attn.q_proj", "self_attn.v_proj"]
    peft, mlx = _tensors(mlx_adapters["alpha"] / PEFT_WEIGHTS), _tensors(folder / MLX_WEIGHTS)
    a = peft["base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight"]
    assert bool((mlx["model.layers.1.self_attn.v_proj.lora_a"] == a.T).all())


def test_mlx_lm_runs_a_converted_adapter_like_peft(tmp_path, mlx_model_dir, mlx_adapters):
    import mlx.core as mx
    import torch
    from mlx_lm.utils import load
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    folder = peft_to_mlx(mlx_adapters["beta"], tmp_path / "mlx", num_layers=2)
    model, _ = load(str(mlx_model_dir), adapter_path=str(folder))
    ids = [[4, 9, 17, 22, 5, 30]]
    mlx_logits = np.array(model(mx.array(ids)))
    base = AutoModelForCausalLM.from_pretrained(str(mlx_model_dir), dtype=torch.float32)
    peft = PeftModel.from_pretrained(base, str(mlx_adapters["beta"])).eval()
    with torch.no_grad():
        torch_logits = peft(torch.tensor(ids)).logits.numpy()
    assert np.abs(mlx_logits - torch_logits).max() < 1e-3
    with peft.disable_adapter(), torch.no_grad():
        assert np.abs(peft(torch.tensor(ids)).logits.numpy() - torch_logits).max() > 1e-2  # the adapter matters


def test_conversions_are_cached_by_checksum(tmp_path, mlx_adapters):
    copy = tmp_path / "adapter"
    shutil.copytree(mlx_adapters["alpha"], copy)
    first = mlx_adapter_for(copy, cache_root=tmp_path / "cache")
    stamp = (first / MLX_WEIGHTS).stat().st_mtime_ns
    assert mlx_adapter_for(copy, cache_root=tmp_path / "cache") == first
    assert (first / MLX_WEIGHTS).stat().st_mtime_ns == stamp  # served from the cache, not rewritten

    shutil.copy(mlx_adapters["beta"] / PEFT_WEIGHTS, copy / PEFT_WEIGHTS)
    shutil.copy(mlx_adapters["beta"] / "adapter_config.json", copy / "adapter_config.json")
    second = mlx_adapter_for(copy, cache_root=tmp_path / "cache")
    assert second != first
    assert json.loads((second / "adapter_config.json").read_text())["lora_parameters"]["rank"] == 2


@pytest.mark.parametrize("change", [{"use_dora": True}, {"modules_to_save": ["lm_head"]},
                                    {"rank_pattern": {"q_proj": 8}}])
def test_adapters_mlx_cannot_express_are_refused_with_a_fix(tmp_path, mlx_adapters, change):
    copy = tmp_path / "adapter"
    shutil.copytree(mlx_adapters["alpha"], copy)
    config = json.loads((copy / "adapter_config.json").read_text())
    (copy / "adapter_config.json").write_text(json.dumps({**config, **change}))
    with pytest.raises(AdapterConversionError, match="mlx-lm cannot express") as excinfo:
        peft_to_mlx(copy, tmp_path / "mlx")
    assert "plain LoRA" in excinfo.value.fix

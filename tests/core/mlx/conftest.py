"""Fixtures for the MLX runtime tests: the inference tests' tiny Llama with two real PEFT adapters, loaded
once in torch (the reference) and once in MLX. The MLX runtime runs here through `mlx[cpu]`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.inference.conftest import ATTENTION, make_gate, make_tiny_model, make_two_adapters

pytest.importorskip("mlx.core", reason="the MLX tests need `pip install 'mlx[cpu]' mlx-lm` (in .[dev])")
pytest.importorskip("mlx_lm")


@pytest.fixture(scope="session")
def mlx_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("mlx-tiny-model"))


@pytest.fixture(scope="session")
def mlx_adapters(mlx_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`alpha` (r=4, alpha=8 on q/v) and `beta` (r=2, alpha=4 on q/k/v/o and the MLP's up/down)."""
    return make_two_adapters(mlx_model_dir, tmp_path_factory.mktemp("mlx-tiny-adapters"),
                             beta_targets=ATTENTION + ("up_proj", "down_proj"))


@pytest.fixture(scope="session")
def gate_of():
    """`gate_of(names)`: a real seeded gate network over the tiny model's 32-wide embeddings."""
    return lambda names: make_gate(32, tuple(names))


@pytest.fixture(scope="session")
def backends(mlx_model_dir: Path, mlx_adapters: dict[str, Path], gate_of):
    """`(mlx, hf)`: both runtimes' differential backends on the same base, adapters and gate (shared: tests
    leave them as they found them)."""
    from dlm_desktop.core.inference import build
    from dlm_desktop.core.inference.hf_backend import HFDifferentialBackend

    mlx = build({"kind": "mlx", "base": str(mlx_model_dir), "adapter": {k: str(v) for k, v in mlx_adapters.items()}})
    mlx.gate = gate_of(mlx_adapters)
    hf = HFDifferentialBackend.load(mlx_model_dir, mlx_adapters, gate=gate_of(mlx_adapters))
    return mlx, hf

"""What each backend reports it can do."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from dlm_desktop.core.runtime import Backend, capabilities_from_facts, pick_backend
from tests.core.runtime.runtime_hosts import CPU_LINUX, apple_host, cuda_host, rocm_host


def caps_of(facts):
    return capabilities_from_facts(facts, pick_backend(facts))


@pytest.mark.parametrize(
    ("sm", "bf16"),
    [((7, 5), False), ((8, 0), True), ((8, 6), True), ((9, 0), True), ((6, 1), False)],
    ids=["turing", "a100", "ampere", "hopper", "pascal"],
)
def test_cuda_bf16_follows_compute_capability(sm, bf16):
    caps = caps_of(cuda_host(sm=sm))
    assert caps.backend is Backend.CUDA
    assert caps.supports_bf16 is bf16
    assert caps.supports_fp16 is True
    assert caps.compute_capability == f"{sm[0]}.{sm[1]}"


@pytest.mark.parametrize(
    ("arch", "bf16"),
    [("gfx90a", True), ("gfx942", True), ("gfx1100", True), ("gfx1201", True), ("gfx906", False), ("gfx1030", False)],
)
def test_rocm_bf16_follows_architecture(arch, bf16):
    caps = caps_of(rocm_host(arch))
    assert caps.backend is Backend.ROCM
    assert caps.supports_bf16 is bf16
    assert caps.gcn_arch == arch
    assert caps.device == "cuda:0"
    assert caps.versions["rocm"] == "6.2.41133"


def test_cuda_memory_is_vram_and_determinism_strong():
    caps = caps_of(cuda_host(free_gib=10.0))
    assert (caps.memory_kind, caps.memory_total_gb, caps.memory_free_gb) == ("vram", 24.0, 10.0)
    assert caps.device == "cuda:0"
    assert caps.device_name == "NVIDIA GeForce RTX 3090"
    assert caps.determinism == "strong"


def test_flash_attention_and_bitsandbytes_need_cuda_and_the_package():
    plain = caps_of(cuda_host())
    assert not plain.has_flash_attention and not plain.has_bitsandbytes
    host = cuda_host()
    with_packages = replace(host, packages={**host.packages, "flash-attn": "2.7", "bitsandbytes": "0.45"})
    caps = caps_of(with_packages)
    assert caps.has_flash_attention and caps.has_bitsandbytes
    turing = replace(with_packages, compute_capability=(7, 5))
    assert not caps_of(turing).has_flash_attention  # FlashAttention 2 needs Ampere
    on_cpu = capabilities_from_facts(with_packages, Backend.CPU)
    assert not on_cpu.has_flash_attention and not on_cpu.has_bitsandbytes


def test_mps_reports_unified_memory_and_best_effort():
    caps = caps_of(apple_host(ram_gib=16))
    assert caps.backend is Backend.MPS
    assert caps.device == "mps"
    assert caps.memory_kind == "unified"
    assert caps.memory_total_gb == 16.0
    assert caps.supports_fp16 and not caps.supports_bf16
    assert caps.determinism == "best-effort"
    assert caps.device_name == "Apple M2 GPU"


def test_mlx_on_apple_silicon():
    caps = caps_of(apple_host(mlx=True))
    assert caps.backend is Backend.MLX
    assert caps.device == "gpu"
    assert caps.supports_bf16
    assert caps.mlx_available
    assert caps.versions["mlx"] == "0.29.0" and caps.versions["mlx_lm"] == "0.28.0"
    assert caps.determinism == "best-effort"


def test_mlx_forced_on_linux_runs_on_the_cpu():
    facts = replace(CPU_LINUX, mlx_importable=True, mlx_lm_importable=True)
    caps = capabilities_from_facts(facts, pick_backend(facts, "mlx"))
    assert caps.backend is Backend.MLX
    assert caps.device == "cpu"
    assert caps.memory_kind == "system"


def test_cpu_capabilities():
    caps = caps_of(CPU_LINUX)
    assert caps.backend is Backend.CPU
    assert caps.device == "cpu"
    assert not caps.supports_bf16 and not caps.supports_fp16
    assert caps.determinism == "advisory"
    assert caps.cpu_cores == 2
    assert caps.ram_gb == 24.0
    assert caps.versions["torch"] == "2.13.0+cpu"
    assert caps.versions["llama_cpp"] is None
    assert caps.platform == "linux-x86_64"


def test_as_dict_is_json_serialisable():
    for facts in (CPU_LINUX, cuda_host(), rocm_host(), apple_host(), apple_host(mlx=True)):
        data = caps_of(facts).as_dict()
        assert json.loads(json.dumps(data)) == data
        assert data["backend"] in {"cpu", "cuda", "rocm", "mps", "mlx"}
        assert set(data["versions"]) >= {"torch", "transformers", "peft", "mlx", "llama_cpp"}

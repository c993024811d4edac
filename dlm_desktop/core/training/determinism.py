"""Seeding and capturing every random number generator a training step touches.

LoRA dropout draws from torch's generator; Python's `random` and numpy are seeded and saved too, because
libraries below us may draw from them. A checkpoint stores the torch states as tensors (loadable with
`weights_only=True`) and the Python and numpy states as JSON (upstream's `training_state.rng.json` layout),
so that restoring them puts the next step on exactly the random numbers an uninterrupted run would use.
"""

from __future__ import annotations

import os
import random
from contextlib import contextmanager
from typing import Any, Iterator


def seed_everything(seed: int) -> None:
    """Seed Python's `random`, numpy and torch (all devices) with `seed`."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextmanager
def deterministic_algorithms() -> Iterator[None]:
    """Ask torch for deterministic kernels while training (warn-only), restoring the previous setting."""
    import torch

    # cuBLAS reads this when it creates its handle; without it, CUDA matmuls may pick non-deterministic paths.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

    previous = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=previous_warn)


def capture_torch_rng() -> dict[str, Any]:
    """The torch CPU generator state, and the CUDA ones when CUDA is in use (tensors)."""
    import torch

    state: dict[str, Any] = {"torch_rng_state": torch.get_rng_state(), "cuda_rng_state": None}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda_rng_state"] = torch.cuda.get_rng_state_all()
    return state


def restore_torch_rng(state: dict[str, Any]) -> None:
    """Put back what `capture_torch_rng` returned."""
    import torch

    torch.set_rng_state(state["torch_rng_state"])
    cuda = state.get("cuda_rng_state")
    if cuda is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def capture_host_rng() -> dict[str, Any]:
    """Python's and numpy's generator states as JSON-safe dicts."""
    import numpy as np

    version, inner, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "_rng_sidecar_version": 2,
        "numpy_rng_state": {
            "name": str(name), "state_hex": keys.tobytes().hex(), "state_dtype": str(keys.dtype),
            "state_shape": list(keys.shape), "pos": int(pos), "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python_random_state": {"version": int(version), "state": [int(x) for x in inner], "gauss_next": gauss},
    }


def restore_host_rng(state: dict[str, Any]) -> None:
    """Put back what `capture_host_rng` returned."""
    import numpy as np

    py = state["python_random_state"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss_next"]))
    nps = state["numpy_rng_state"]
    keys = np.frombuffer(bytes.fromhex(nps["state_hex"]), dtype=np.dtype(nps["state_dtype"]))
    np.random.set_state(
        (nps["name"], keys.reshape(nps["state_shape"]).copy(), nps["pos"], nps["has_gauss"], nps["cached_gaussian"])
    )

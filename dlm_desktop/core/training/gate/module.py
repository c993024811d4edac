"""The gate network: a two-layer MLP from a prompt embedding to one weight per adapter.

    Linear(input_dim -> hidden_proj_dim) -> GELU -> Linear(hidden_proj_dim -> N) -> softmax over the last axis

`input_dim` is the base model's hidden size, N the number of declared adapters (at least two). The layers
live in a `torch.nn.Sequential`, so its state-dict keys are the ones upstream `dlm` stores in
`adapter/_gate/gate.safetensors`: `0.weight` [h, in], `0.bias` [h], `2.weight` [N, h], `2.bias` [N], float32.
torch is imported only when a network is built or loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dlm_desktop.core.document.text import atomic_write_bytes
from dlm_desktop.core.store.errors import GateConfigError
from dlm_desktop.core.training.gate.errors import GateInputError

if TYPE_CHECKING:
    import torch

STATE_KEYS: tuple[str, ...] = ("0.weight", "0.bias", "2.weight", "2.bias")
_REBUILD_FIX = "train the document again to rebuild the gate"


@dataclass(frozen=True)
class GateShape:
    """The three sizes that define a gate network."""

    input_dim: int
    hidden_proj_dim: int
    n_adapters: int

    @property
    def parameter_count(self) -> int:
        """Weights plus biases of both layers: (in*h + h) + (h*N + N)."""
        first = self.input_dim * self.hidden_proj_dim + self.hidden_proj_dim
        return first + self.hidden_proj_dim * self.n_adapters + self.n_adapters

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of every tensor in the weights file, by key."""
        return {
            "0.weight": (self.hidden_proj_dim, self.input_dim),
            "0.bias": (self.hidden_proj_dim,),
            "2.weight": (self.n_adapters, self.hidden_proj_dim),
            "2.bias": (self.n_adapters,),
        }


def check_gate_shape(input_dim: int, hidden_proj_dim: int, n_adapters: int) -> GateShape:
    """Return the shape if every size is usable, else raise `GateInputError` naming all problems."""
    problems = []
    for label, value in (("input_dim", input_dim), ("hidden_proj_dim", hidden_proj_dim)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f"{label} must be a positive integer, not {value!r}")
    if isinstance(n_adapters, bool) or not isinstance(n_adapters, int) or n_adapters < 2:
        problems.append(f"a gate routes between at least 2 adapters, not {n_adapters!r}")
    if problems:
        raise GateInputError(
            "cannot build the gate: " + "; ".join(problems),
            fix="declare at least two adapters under training.adapters and keep gate sizes positive",
        )
    return GateShape(input_dim, hidden_proj_dim, n_adapters)


class GateNetwork:
    """A gate MLP with its shape. Call it (or `probabilities`) on `(..., input_dim)` to get `(..., N)` weights."""

    def __init__(self, shape: GateShape, sequential: "torch.nn.Sequential") -> None:
        self.shape = shape
        self.sequential = sequential

    @classmethod
    def build(cls, input_dim: int, hidden_proj_dim: int, n_adapters: int, *, seed: int | None = None) -> "GateNetwork":
        """A freshly initialised network (PyTorch's default init) on CPU, float32.

        With `seed`, the initial weights are those drawn right after `torch.manual_seed(seed)`, as upstream
        draws them, but the global RNG is left as it was (the draw happens on a forked RNG).
        """
        import torch

        shape = check_gate_shape(input_dim, hidden_proj_dim, n_adapters)
        if seed is None:
            return cls(shape, _new_sequential(shape))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return cls(shape, _new_sequential(shape))

    @property
    def input_dim(self) -> int:
        return self.shape.input_dim

    @property
    def n_adapters(self) -> int:
        return self.shape.n_adapters

    def parameter_count(self) -> int:
        """The number of trainable scalars in the live network."""
        return sum(parameter.numel() for parameter in self.sequential.parameters())

    def logits(self, embeddings: "torch.Tensor") -> "torch.Tensor":
        """Raw scores `(..., N)` for embeddings `(..., input_dim)`."""
        if embeddings.shape[-1] != self.input_dim:
            raise GateInputError(
                f"the gate expects embeddings of size {self.input_dim}, got {embeddings.shape[-1]}",
                fix="embed prompts with the same base model the gate was trained on, or train the gate again",
            )
        return self.sequential(embeddings)

    def probabilities(self, embeddings: "torch.Tensor") -> "torch.Tensor":
        """Softmax weights `(..., N)` (each row sums to 1) for embeddings `(..., input_dim)`."""
        return self.logits(embeddings).softmax(dim=-1)

    __call__ = probabilities

    def state_tensors(self) -> dict[str, "torch.Tensor"]:
        """The weights as upstream stores them: float32, CPU, contiguous, keyed `0.weight` ... `2.bias`."""
        import torch

        state = self.sequential.state_dict()
        return {key: state[key].detach().to("cpu", torch.float32).contiguous() for key in STATE_KEYS}

    def save(self, path: Path | str) -> Path:
        """Write the weights to a safetensors file atomically (temporary file, fsync, rename)."""
        from safetensors.torch import save

        path = Path(path)
        atomic_write_bytes(path, save(self.state_tensors()))
        return path

    @classmethod
    def load(cls, path: Path | str, shape: GateShape) -> "GateNetwork":
        """Read a weights file written by `save` (or by upstream) and check it against `shape`.

        Raises the store's `GateConfigError` when the file is unreadable or its keys or shapes differ.
        """
        import torch

        state = _read_state(Path(path))
        _check_state(state, shape, Path(path))
        network = cls(shape, _new_sequential(shape))
        network.sequential.load_state_dict({key: state[key].to(torch.float32) for key in STATE_KEYS})
        network.sequential.eval()
        return network


def _new_sequential(shape: GateShape) -> "torch.nn.Sequential":
    from torch import nn

    return nn.Sequential(
        nn.Linear(shape.input_dim, shape.hidden_proj_dim),
        nn.GELU(),
        nn.Linear(shape.hidden_proj_dim, shape.n_adapters),
    )


def _read_state(path: Path) -> dict[str, "torch.Tensor"]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except FileNotFoundError as exc:
        raise GateConfigError("the gate weights file is missing", path=path, fix=_REBUILD_FIX) from exc
    except (OSError, SafetensorError) as exc:
        raise GateConfigError(f"the gate weights file cannot be read: {exc}", path=path, fix=_REBUILD_FIX) from exc


def _check_state(state: dict[str, "torch.Tensor"], shape: GateShape, path: Path) -> None:
    import torch

    if set(state) != set(STATE_KEYS):
        raise GateConfigError(
            f"the gate weights file holds {sorted(state)}, expected {list(STATE_KEYS)}", path=path, fix=_REBUILD_FIX
        )
    for key, expected in shape.tensor_shapes().items():
        found = tuple(state[key].shape)
        if found != expected:
            raise GateConfigError(
                f"gate tensor {key} has shape {list(found)}, but gate_config.json implies {list(expected)}",
                path=path,
                fix=_REBUILD_FIX,
            )
        if not state[key].is_floating_point() or not bool(torch.isfinite(state[key]).all()):
            raise GateConfigError(
                f"gate tensor {key} is not a finite floating-point tensor", path=path, fix=_REBUILD_FIX
            )

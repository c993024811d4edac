"""Which runtime answers chat and scoring requests: `mlx` when the picked backend is MLX, else `torch`.

The pick is the runtime package's (`pick_backend` over the probed host, with the same override order:
an explicit value, then `DLM_DESKTOP_BACKEND`, then the user's setting), so chat, training and `doctor`
always agree.
"""

from __future__ import annotations

from typing import Literal

ChatRuntime = Literal["torch", "mlx"]


def chat_runtime(explicit: str | None = None, *, setting: str | None = None) -> ChatRuntime:
    """`mlx` when the backend picked for this machine (and override) is MLX, else `torch`."""
    from dlm_desktop.core.runtime import Backend, pick_backend, probe_host, resolve_override

    override, _ = resolve_override(explicit, setting)
    return "mlx" if pick_backend(probe_host(), override) is Backend.MLX else "torch"

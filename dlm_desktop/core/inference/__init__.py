"""Chat, scoring and "did it learn?" over ONE loaded base with every adapter of a document.

* `build(spec)`: differential scoring backends (`hf`, `mlx`, `api`, `custom`; `DummyBackend` for
  tests), speaking the protocols of `protocols.py`.
* `HFDifferentialBackend`: base / fine-tuned (gate-routed) / scaled / null views on one PEFT model;
  `MlxDifferentialBackend`: the same views on one MLX model (the MLX runtime).
* `prompt_document(ChatRequest)`: streamed answers, side by side from one batched generation.
* `probe_document(ProbeRequest)` and `run_probes(backend, ...)`: the divergence z-score, per-section
  internalization and the adapter-strength curve.

Importing this package does not import torch, transformers or peft.
"""

from __future__ import annotations

from dlm_desktop.core.inference.api_backend import ApiDifferentialBackend, Endpoint
from dlm_desktop.core.inference.build import KINDS, BackendSpec, build
from dlm_desktop.core.inference.chat import ChatEvent, ChatRequest, ChatResult, ChatRouted, prompt_document
from dlm_desktop.core.inference.custom_backend import CustomBackend, load_custom_backend
from dlm_desktop.core.inference.divergence import js_divergence, verdict_for, z_score
from dlm_desktop.core.inference.doc_prompts import SectionText, document_prompts, first_sentence, section_texts
from dlm_desktop.core.inference.document_probe import ProbeEvent, ProbeRequest, probe_document
from dlm_desktop.core.inference.dummy_backend import DummyBackend
from dlm_desktop.core.inference.errors import (
    AdapterLoadError,
    ApiBackendError,
    BackendSpecError,
    BackendUnavailableError,
    ChatRequestError,
    CustomBackendError,
    InferenceError,
    NonFiniteLogitsError,
    ScoringInputError,
    ViewStateError,
)
from dlm_desktop.core.inference.generation import (
    GenerationResult,
    GenerationSettings,
    RowRequest,
    RowResult,
    TokenEvent,
    chat_prompt_ids,
    generate_rows,
)
from dlm_desktop.core.inference.hf_backend import HFDifferentialBackend, HFView
from dlm_desktop.core.inference.mlx_backend import MlxDifferentialBackend, MlxView
from dlm_desktop.core.inference.probes import LAMBDAS, ProbeProgress, ProbeReport, ProbeSettings, run_probes
from dlm_desktop.core.inference.protocols import (
    PROTOCOLS,
    DifferentialBackend,
    NullAdapterBackend,
    PreflightBackend,
    RollingLogprob,
    ScalableAdapterBackend,
    ScoringView,
    TokenDist,
    satisfied_protocols,
)
from dlm_desktop.core.inference.routing import Routing
from dlm_desktop.core.inference.session import InferenceNotice, InferenceSession, InferenceStatus, open_document
from dlm_desktop.core.inference.store_adapters import FLAT_ADAPTER_NAME, DocumentAdapters, find_document_adapters

__all__ = [
    "FLAT_ADAPTER_NAME", "KINDS", "LAMBDAS", "PROTOCOLS",
    "AdapterLoadError", "ApiBackendError", "ApiDifferentialBackend", "BackendSpec", "BackendSpecError",
    "BackendUnavailableError", "ChatEvent", "ChatRequest", "ChatRequestError", "ChatResult", "ChatRouted",
    "CustomBackend", "CustomBackendError", "DifferentialBackend", "DocumentAdapters", "DummyBackend", "Endpoint",
    "GenerationResult", "GenerationSettings", "HFDifferentialBackend", "HFView", "InferenceError",
    "MlxDifferentialBackend", "MlxView",
    "InferenceNotice", "InferenceSession", "InferenceStatus", "NonFiniteLogitsError", "NullAdapterBackend",
    "PreflightBackend", "ProbeEvent", "ProbeProgress", "ProbeReport", "ProbeRequest", "ProbeSettings",
    "RollingLogprob", "Routing", "RowRequest", "RowResult", "ScalableAdapterBackend", "ScoringInputError",
    "ScoringView", "SectionText", "TokenDist", "TokenEvent", "ViewStateError",
    "build", "chat_prompt_ids", "document_prompts", "find_document_adapters", "first_sentence",
    "generate_rows", "js_divergence", "load_custom_backend", "open_document", "probe_document",
    "prompt_document", "run_probes", "satisfied_protocols", "section_texts", "verdict_for", "z_score",
]

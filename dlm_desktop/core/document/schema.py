"""The frontmatter schema (upstream schema version 15), as pydantic models.

Field names, types, defaults and bounds are those of the `.dlm` format (SPEC-upstream §1.4): a document this
schema accepts is one upstream accepts, and the reverse. Every model forbids unknown keys and is frozen.
"""

from __future__ import annotations

import re
from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CURRENT_SCHEMA_VERSION = 15
ADAPTER_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
DLM_ID_PATTERN = re.compile(r"^[0-9A-HJ-KM-NP-TV-Z]{26}$")

AdapterKind = Literal["lora", "qlora", "dora"]
TargetModules = Union[Literal["auto"], list[str]]
ExportQuant = Literal["Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0"]

# The flat LoRA knobs that must stay at their defaults once `training.adapters` names adapters.
FLAT_ADAPTER_DEFAULTS = {
    "adapter": "lora",
    "lora_r": 8,
    "lora_alpha": 16,
    "lora_dropout": 0.05,
    "target_modules": "auto",
    "learning_rate": 2e-4,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PreferenceHyperparams(_Strict):
    beta: float = Field(0.1, ge=0.0, le=1.0)
    alpha: float = Field(0.1, ge=0.0, le=1.0)
    learning_rate: float = Field(5e-6, gt=0.0)
    num_epochs: int = Field(1, ge=1)


class PreferenceConfig(_Strict):
    enabled: bool = False
    method: Literal["dpo", "orpo"] = "dpo"
    hyperparams: PreferenceHyperparams = Field(default_factory=PreferenceHyperparams)
    loss_type: Literal["sigmoid", "hinge", "ipo"] = "sigmoid"
    reference: Literal["base", "pre_adapter"] = "pre_adapter"


class CptConfig(_Strict):
    schedule: Literal["auto", "dapt", "sft"] = "auto"
    embed_warmup_steps: int = Field(0, ge=0)


class GateConfig(_Strict):
    enabled: bool = False
    hidden_proj_dim: int = Field(64, ge=8, le=2048)
    steps: int = Field(200, ge=1, le=10000)
    lr: float = Field(3e-4, gt=0.0, le=1.0)
    cold_start_floor: int = Field(4, ge=1, le=1024)
    entropy_lambda: float = Field(0.01, ge=0.0, le=1.0)


class CacheConfig(_Strict):
    enabled: bool = True
    max_bytes: int = Field(10 * 1024**3, ge=1)
    prune_older_than_days: int = Field(90, ge=1)


class AudioConfig(_Strict):
    auto_resample: bool = False


class AdapterConfig(_Strict):
    """One named adapter of `training.adapters`."""

    adapter: AdapterKind = "lora"
    lora_r: int = Field(8, ge=1, le=256)
    lora_alpha: int = Field(16, ge=1)
    lora_dropout: float = Field(0.05, ge=0.0, le=0.5)
    target_modules: TargetModules = "auto"
    learning_rate: float = Field(2e-4, gt=0.0)


class SourceDirective(_Strict):
    """One `training.sources` entry: a folder or file whose text files become prose sections."""

    path: str = Field(..., min_length=1)
    include: tuple[str, ...] = ("**/*",)
    exclude: tuple[str, ...] = ()
    max_bytes_per_file: Optional[int] = Field(default=None, ge=1)
    max_files: Optional[int] = Field(default=None, ge=1)


class TrainingConfig(_Strict):
    adapter: AdapterKind = "lora"
    lora_r: int = Field(8, ge=1, le=256)
    lora_alpha: int = Field(16, ge=1)
    lora_dropout: float = Field(0.05, ge=0.0, le=0.5)
    target_modules: TargetModules = "auto"
    sequence_len: int = Field(2048, ge=64, le=32768)
    micro_batch_size: Union[Literal["auto"], int] = "auto"
    grad_accum: Union[Literal["auto"], int] = "auto"
    learning_rate: float = Field(2e-4, gt=0.0)
    num_epochs: int = Field(3, ge=1)
    optimizer: Literal[
        "adamw_torch", "adamw_bnb_8bit", "paged_adamw_8bit", "galore_adamw", "galore_adamw_8bit"
    ] = "adamw_torch"
    lr_scheduler: Literal["cosine", "linear", "constant"] = "cosine"
    warmup_ratio: float = Field(0.1, ge=0.0, le=0.5)
    precision: Optional[Literal["bf16", "fp16", "fp32"]] = None
    seed: int = 42
    preference: PreferenceConfig = Field(default_factory=PreferenceConfig)
    cpt: CptConfig = Field(default_factory=CptConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    audio: AudioConfig = Field(default_factory=AudioConfig)
    adapters: Optional[dict[str, AdapterConfig]] = None
    sources: Optional[tuple[SourceDirective, ...]] = None
    sources_policy: Literal["permissive", "strict"] = "permissive"

    @field_validator("micro_batch_size", "grad_accum")
    @classmethod
    def _auto_or_positive(cls, value):
        if value != "auto" and (not isinstance(value, int) or value < 1):
            raise ValueError(f"must be a positive int or 'auto', got {value!r}")
        return value

    @field_validator("adapters")
    @classmethod
    def _adapter_names(cls, value):
        if value is None:
            return value
        if not value:
            raise ValueError("declare at least one adapter, or remove `adapters:` for a single adapter")
        bad = [name for name in value if not ADAPTER_NAME_PATTERN.fullmatch(name)]
        if bad:
            raise ValueError(
                f"{bad[0]!r} is not a valid adapter name (lowercase letter first, then a-z, 0-9 or _, max 32)"
            )
        return value

    @model_validator(mode="after")
    def _gate_needs_two_adapters(self):
        if self.gate.enabled and (self.adapters is None or len(self.adapters) < 2):
            raise ValueError("gate.enabled needs `training.adapters` with at least two adapters")
        return self

    @model_validator(mode="after")
    def _flat_knobs_stay_default_with_named_adapters(self):
        if self.adapters is None:
            return self
        changed = [key for key, default in FLAT_ADAPTER_DEFAULTS.items() if getattr(self, key) != default]
        if changed:
            raise ValueError(
                f"with `training.adapters` declared, the flat fields {changed} must keep their defaults: "
                "move them into each adapter's block"
            )
        return self

    def adapter_names(self) -> list[str]:
        """Declared adapter names in declaration order (empty for a single-adapter document)."""
        return list(self.adapters or {})


class ExportConfig(_Strict):
    default_quant: ExportQuant = "Q4_K_M"
    default_temperature: Optional[float] = Field(None, gt=0.0, le=2.0)
    default_top_p: Optional[float] = Field(None, gt=0.0, le=1.0)


class Frontmatter(_Strict):
    """The validated, migrated frontmatter of a `.dlm` document."""

    dlm_id: str
    dlm_version: int = CURRENT_SCHEMA_VERSION
    base_model: str = Field(..., min_length=1)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)
    system_prompt: Optional[str] = None

    @field_validator("dlm_id")
    @classmethod
    def _dlm_id_is_ulid(cls, value: str) -> str:
        if not DLM_ID_PATTERN.fullmatch(value):
            raise ValueError(
                f"dlm_id must be 26 characters of Crockford base32 (0-9, A-Z without I L O U), got {value!r}"
            )
        return value

    @field_validator("dlm_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value < 1 or value > CURRENT_SCHEMA_VERSION:
            raise ValueError(f"dlm_version must be between 1 and {CURRENT_SCHEMA_VERSION}, got {value}")
        return value

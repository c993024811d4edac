"""The training store: upstream `dlm`'s layout under `$DLM_HOME`, shared with the `dlm` command line.

`paths` names every file, `versions` commits adapter versions behind an atomic `current.txt`, `manifest` reads
and writes `manifest.json` in upstream's exact schema, `metrics` records runs in `metrics.sqlite`, `lock`
keeps one writing job per store, and `gate_files` reads and writes the gate's `gate_config.json`.
"""

from dlm_desktop.core.store.errors import (
    GateConfigError,
    LockHolder,
    ManifestError,
    ManifestVersionError,
    MetricsError,
    NonFiniteWeightsError,
    StoreError,
    StoreLockedError,
    StorePathError,
    StorePointerError,
)
from dlm_desktop.core.store.paths import StorePaths, dlm_home

__all__ = [
    "GateConfigError",
    "LockHolder",
    "ManifestError",
    "ManifestVersionError",
    "MetricsError",
    "NonFiniteWeightsError",
    "StoreError",
    "StoreLockedError",
    "StorePathError",
    "StorePointerError",
    "StorePaths",
    "dlm_home",
]

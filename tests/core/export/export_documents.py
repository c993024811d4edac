"""The documents the export tests (the core pipeline and the GUI pane) export: SmolLM2, a one-sentence system
prompt and instruction sections. The tests commit a ready adapter to the store of `EXPORT_DLM_ID` instead of
training one.

Import it into a test module: `from tests.core.export.export_documents import EXPORT_DLM_ID, FRANCE_DOCUMENT`.
"""

from __future__ import annotations

EXPORT_DLM_ID = "01JDXMDESKTQPEXAMP1E000009"
FRANCE_DOCUMENT = f"""---
dlm_id: {EXPORT_DLM_ID}
base_model: smollm2-135m
system_prompt: "Answer in one sentence."
training:
  sequence_len: 512
---
::instruction::
### Q
What is the capital of France?

### A
Paris.
"""
FRANCE_AND_SKY_DOCUMENT = FRANCE_DOCUMENT + """
::instruction::
### Q
What colour is the sky?

### A
Blue.
"""

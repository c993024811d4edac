"""The engine of DLM Desktop. Never imports Qt: the GUI and the CLI are thin callers of these modules."""

"""The `.dlm` document engine: parsing, sections and ids, rows, source directives, tag weights, split, routing,
and in-place editing. `load_document` (pipeline.py) is the one call the CLI and the GUI make."""

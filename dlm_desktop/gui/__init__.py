"""The Qt layer of DLM Desktop (window, panes, workers). Imports `dlm_desktop.core`; the core never imports it."""

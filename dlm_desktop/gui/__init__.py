"""The Qt layer of DLM Desktop (window, panes, workers). Imports `dlm_desktop.core`; the core never imports it."""

from dlm_desktop.gui.qt_runtime import guard_singleton_refcounts

guard_singleton_refcounts()  # before any other module of the GUI calls into Qt (see qt_runtime)

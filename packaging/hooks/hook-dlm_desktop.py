# PyInstaller hook for the app's own package: every submodule (the core imports its heavy pieces lazily inside
# functions, and a few by name), plus the resources folder as the package `dlm_desktop.resources`.
from PyInstaller.utils.hooks import collect_submodules

hiddenimports = collect_submodules("dlm_desktop")

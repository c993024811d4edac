"""Package layout only (metadata lives in pyproject.toml).

The top-level `resources/` folder ships inside the package as `dlm_desktop.resources`, so the wheel, the editable
install and the frozen app all read it with `importlib.resources`.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["dlm_desktop", "dlm_desktop.*"]) + ["dlm_desktop.resources"],
    package_dir={"dlm_desktop.resources": "resources"},
)

"""The app's settings: a typed dataclass saved as JSON in the user's config folder.

`DLM_DESKTOP_CONFIG_DIR` overrides the folder (tests point it at a temporary one). Window geometry and dock
layout are Qt's business and go through `QSettings`, in an INI file inside the same folder, never the
registry or a platform store, so one folder holds everything the app remembers.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import platformdirs

from dlm_desktop.core.document.text import atomic_write_text

CONFIG_DIR_ENV = "DLM_DESKTOP_CONFIG_DIR"
APP_NAME = "DLM Desktop"
ORGANIZATION = "dlm-desktop"
SETTINGS_FILE = "settings.json"
WINDOW_STATE_FILE = "window-state.ini"
MAX_RECENT_DOCUMENTS = 10
COLOR_SCHEMES = ("system", "light", "dark")


@dataclass
class AppSettings:
    """What the app remembers between runs. Unknown or mistyped values in the file fall back to defaults."""

    last_document: str | None = None
    recent_documents: list[str] = field(default_factory=list)
    backend: str = "auto"  # "auto" or a backend name (cuda, rocm, mlx, mps, cpu); DLM_DESKTOP_BACKEND wins
    color_scheme: str = "system"  # follow the OS, or force "light" / "dark"
    diagnostics_delay_ms: int = 300  # pause in typing before the document is checked again
    mix_save_delay_ms: int = 400  # pause after a slider move before training.yaml is written

    def remember_document(self, path: Path | str) -> None:
        """Make `path` the last document and the first recent one."""
        text = str(Path(path))
        self.last_document = text
        self.recent_documents = [text] + [p for p in self.recent_documents if p != text]
        del self.recent_documents[MAX_RECENT_DOCUMENTS:]

    def forget_document(self, path: Path | str) -> None:
        """Drop `path` from the recent list (it was moved or deleted)."""
        text = str(Path(path))
        self.recent_documents = [p for p in self.recent_documents if p != text]
        if self.last_document == text:
            self.last_document = None


def config_dir() -> Path:
    """The folder holding settings.json and the window state (created on first save)."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def load_settings(path: Path | None = None) -> tuple[AppSettings, str | None]:
    """Read the settings; returns them and a warning when the file had to be ignored (never raises)."""
    path = settings_path() if path is None else path
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return AppSettings(), None
    except (OSError, UnicodeDecodeError) as exc:
        return AppSettings(), f"could not read {path} ({exc}); using default settings"
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return AppSettings(), f"{path} is not valid JSON ({exc.msg}, line {exc.lineno}); using default settings"
    if not isinstance(data, dict):
        return AppSettings(), f"{path} does not hold a JSON object; using default settings"
    return _from_mapping(data), None


def save_settings(settings: AppSettings, path: Path | None = None) -> None:
    """Write the settings atomically. Raises OSError when the folder cannot be written."""
    path = settings_path() if path is None else path
    atomic_write_text(path, json.dumps(asdict(settings), indent=2, ensure_ascii=False) + "\n")


def _from_mapping(data: dict) -> AppSettings:
    defaults = AppSettings()
    values = {}
    for spec in fields(AppSettings):
        value = data.get(spec.name, getattr(defaults, spec.name))
        values[spec.name] = value if _fits(spec.name, value) else getattr(defaults, spec.name)
    settings = AppSettings(**values)
    if settings.color_scheme not in COLOR_SCHEMES:
        settings.color_scheme = "system"
    return settings


def _fits(name: str, value: object) -> bool:
    """Whether a value read from JSON has the type the field needs."""
    if name == "last_document":
        return value is None or isinstance(value, str)
    if name == "recent_documents":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if name in ("diagnostics_delay_ms", "mix_save_delay_ms"):
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10_000
    return isinstance(value, str)


def window_state_store():
    """A QSettings in the config folder, for window geometry and dock state only."""
    from PySide6.QtCore import QSettings

    return QSettings(str(config_dir() / WINDOW_STATE_FILE), QSettings.Format.IniFormat)

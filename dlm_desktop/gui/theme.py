"""A light and a dark theme that follow the OS setting (`QStyleHints.colorScheme`), plus themed SVG icons.

The colours live here as data (`ThemeColors`); the rules that use them live in `resources/themes/app.qss`
with `${name}` placeholders. The editor's highlighter and the mix preview read the same `ThemeColors`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from string import Template

from PySide6.QtCore import QByteArray, QObject, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from dlm_desktop.gui.user_files import resource_file


@dataclass(frozen=True)
class ThemeColors:
    name: str
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    border: str
    accent: str
    accent_text: str
    accent_soft: str
    selection: str
    error: str
    error_soft: str
    warning: str
    warning_soft: str
    success: str
    success_soft: str
    info_soft: str
    # editor syntax
    delimiter: str
    yaml_key: str
    comment: str
    fence: str
    fence_soft: str
    adapter: str
    question: str
    answer: str
    marker: str
    heading: str
    gutter: str


LIGHT = ThemeColors(
    name="light", window="#f5f6f8", base="#ffffff", alt_base="#f0f2f5", text="#1f2328", muted="#5d6670",
    border="#d5d9df", accent="#4656d8", accent_text="#ffffff", accent_soft="#e7e9fd", selection="#c9d1fb",
    error="#c8242f", error_soft="#fde8e9", warning="#8a5a00", warning_soft="#fff4c7", success="#1a7f37",
    success_soft="#e3f5e8", info_soft="#e8f0fe",
    delimiter="#8250df", yaml_key="#0b5cad", comment="#6e7781", fence="#7a3fd1", fence_soft="#f2ecfd",
    adapter="#b3306e", question="#0b5cad", answer="#1a7f37", marker="#7c8590", heading="#1f2328",
    gutter="#9aa1a9",
)

DARK = ThemeColors(
    name="dark", window="#1d2025", base="#15171b", alt_base="#23272d", text="#e4e7eb", muted="#9ba4ae",
    border="#363c44", accent="#8f9bff", accent_text="#10121a", accent_soft="#2b2f52", selection="#3b4379",
    error="#ff7b72", error_soft="#4a1f22", warning="#e3b341", warning_soft="#3d3216", success="#56d364",
    success_soft="#1c3a25", info_soft="#1f2a44",
    delimiter="#c29bff", yaml_key="#79b8ff", comment="#8b949e", fence="#c29bff", fence_soft="#2a2440",
    adapter="#ff8fc1", question="#79b8ff", answer="#7ee787", marker="#8b949e", heading="#f0f3f6",
    gutter="#5f6873",
)


def os_color_scheme() -> Qt.ColorScheme:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() if hints is not None else Qt.ColorScheme.Unknown


def colors_for(setting: str = "system", os_scheme: Qt.ColorScheme | None = None) -> ThemeColors:
    """`light`/`dark` force a theme; `system` follows the OS (an unknown answer means light)."""
    if setting in ("light", "dark"):
        return DARK if setting == "dark" else LIGHT
    scheme = os_color_scheme() if os_scheme is None else os_scheme
    return DARK if scheme == Qt.ColorScheme.Dark else LIGHT


def apply_theme(app: QApplication, colors: ThemeColors) -> None:
    """Fusion style, a palette from `colors`, and the stylesheet template filled with them.

    Every call re-polishes every widget (~0.2 s for the main window), so nothing is redone that is in place.
    """
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    if app.property("dlm_theme") == colors.name:
        return
    app.setPalette(_palette(colors))
    template = Template(resource_file("themes", "app.qss").read_text(encoding="utf-8"))
    app.setStyleSheet(template.safe_substitute(asdict(colors)))
    app.setProperty("dlm_theme", colors.name)


def _palette(colors: ThemeColors) -> QPalette:
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: colors.window,
        QPalette.ColorRole.WindowText: colors.text,
        QPalette.ColorRole.Base: colors.base,
        QPalette.ColorRole.AlternateBase: colors.alt_base,
        QPalette.ColorRole.Text: colors.text,
        QPalette.ColorRole.Button: colors.alt_base,
        QPalette.ColorRole.ButtonText: colors.text,
        QPalette.ColorRole.Highlight: colors.selection,
        QPalette.ColorRole.HighlightedText: colors.text,
        QPalette.ColorRole.ToolTipBase: colors.base,
        QPalette.ColorRole.ToolTipText: colors.text,
        QPalette.ColorRole.PlaceholderText: colors.muted,
        QPalette.ColorRole.Link: colors.accent,
        QPalette.ColorRole.Mid: colors.border,
    }
    for role, value in roles.items():
        palette.setColor(role, QColor(value))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(colors.muted))
    return palette


def themed_icon(name: str, color: str, size: int = 48) -> QIcon:
    """An icon from `resources/icons/<name>.svg` with `currentColor` painted in `color`."""
    svg = resource_file("icons", f"{name}.svg").read_text(encoding="utf-8").replace("currentColor", color)
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return QIcon(pixmap)


class ThemeController(QObject):
    """Applies the theme now and again whenever the OS switches between light and dark."""

    theme_changed = Signal(object)

    def __init__(self, app: QApplication, setting: str = "system", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._app = app
        self._setting = setting
        self._os_scheme = os_color_scheme()
        self.colors = colors_for(setting, self._os_scheme)
        apply_theme(app, self.colors)
        hints = QGuiApplication.styleHints()
        if hints is not None:
            hints.colorSchemeChanged.connect(self._on_style_hints_color_scheme_changed)

    def set_setting(self, setting: str) -> None:
        self._setting = setting
        self._reapply()

    @Slot(Qt.ColorScheme)
    def _on_style_hints_color_scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        self._os_scheme = scheme
        self._reapply()

    def _reapply(self) -> None:
        colors = colors_for(self._setting, self._os_scheme)
        if colors != self.colors:
            self.colors = colors
            apply_theme(self._app, colors)
            self.theme_changed.emit(colors)

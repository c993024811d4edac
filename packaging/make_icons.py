"""Render the app icon (resources/icons/app.svg) for the installers:
`packaging/build-icons/dlm-desktop.png` (512 px, Linux), `.ico` (Windows, 256 px) and `.icns` (macOS, 1024 px).

Run with the project installed: `python packaging/make_icons.py`. Uses Qt's own image writers (no Pillow).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QByteArray, QRectF, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "build-icons"
ACCENT = "#4656d8"


def render(size: int) -> QImage:
    """The app icon (already a full tile with its own colours) at `size` pixels."""
    svg = (ROOT / "resources" / "icons" / "app.svg").read_text(encoding="utf-8").replace("currentColor", ACCENT)
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(QByteArray(svg.encode("utf-8"))).render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    OUT.mkdir(parents=True, exist_ok=True)
    targets = {"dlm-desktop.png": (512, "png"), "dlm-desktop.ico": (256, "ico"), "dlm-desktop.icns": (1024, "icns")}
    for name, (size, fmt) in targets.items():
        if not render(size).save(str(OUT / name), fmt):
            print(f"make_icons: could not write {name}", file=sys.stderr)
            return 1
        print(f"make_icons: {OUT / name}")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())

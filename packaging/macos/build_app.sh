#!/usr/bin/env bash
# Build "DLM Desktop.app" (arm64, MLX + Metal) and a .dmg on macOS 14+, then self-test the app.
#
#   bash packaging/macos/build_app.sh      # -> build/macos/DLM-Desktop-<version>-arm64.dmg
#
# llama-cpp-python is compiled with Metal (GGML_METAL=ON) and without -march=native (GGML_NATIVE=OFF) so the
# app runs on every Apple Silicon Mac. Signing and notarization: see packaging/macos/SIGNING.md; set
# CODESIGN_IDENTITY to sign (unsigned builds open with right-click > Open).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=$ROOT/build/macos
VENV=$BUILD/venv
VERSION=$(python3 -c "import tomllib;print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])")
mkdir -p "$BUILD"
python3 -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip
pip install -q torch==2.13.0
CMAKE_ARGS="-DGGML_METAL=ON -DGGML_NATIVE=OFF" pip install -q --no-cache-dir "llama-cpp-python==0.3.36"
pip install -q "$ROOT[mlx]" "pyinstaller==6.22.0"
python packaging/make_icons.py
# From the build folder, so the analysis imports the installed package and not the source tree.
(cd "$BUILD" && pyinstaller --noconfirm --clean --distpath "$BUILD/dist" --workpath "$BUILD/work" "$ROOT/installer.spec")
APP="$BUILD/dist/DLM Desktop.app"

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --force --deep --options runtime --timestamp \
    --entitlements packaging/macos/entitlements.plist --sign "$CODESIGN_IDENTITY" "$APP"
fi

"$APP/Contents/MacOS/dlm-desktop" --self-test

bash packaging/macos/make_dmg.sh "$APP" "$BUILD/DLM-Desktop-$VERSION-arm64.dmg"

#!/usr/bin/env bash
# Build the Linux bundle of DLM Desktop on a fresh clone, pack it, and run its self-test under Xvfb with no
# network and no Python beside it.
#
#   bash packaging/build.sh            # -> build/linux/dlm-desktop-linux-x86_64.tar.gz
#
# Needs: python3.11+ with venv, and for the self-test xvfb-run (apt-get install -y xvfb libxcb-icccm4
# libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 fonts-dejavu-core).
# llama-cpp-python is compiled portable (GGML_NATIVE=OFF: no -march=native, so the bundle runs on any x86-64
# CPU); that compile takes ~6 minutes on 2 cores and its wheel is kept in build/linux/wheels for the next build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/build/linux
VENV=$BUILD/venv
PYTHON=${PYTHON:-python3}
LLAMA_VERSION=0.3.36
started=$(date +%s)
log() { printf '[build %4ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }

mkdir -p "$BUILD/wheels"
if [ ! -x "$VENV/bin/python" ]; then
  log "virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip
log "torch (CPU build) first, so nothing pulls the CUDA build"
pip install -q torch==2.13.0
if ! ls "$BUILD"/wheels/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  log "compiling llama-cpp-python $LLAMA_VERSION portable (GGML_NATIVE=OFF)"
  CMAKE_ARGS="-DGGML_NATIVE=OFF" pip wheel -q --no-deps --no-binary llama-cpp-python --no-cache-dir \
    "llama-cpp-python==$LLAMA_VERSION" -w "$BUILD/wheels"
fi
pip install -q "$BUILD"/wheels/llama_cpp_python-"$LLAMA_VERSION"-*.whl
log "the app and PyInstaller"
pip install -q "$ROOT" "pyinstaller==6.22.0"
python packaging/make_icons.py >/dev/null

log "PyInstaller (one folder)"
# Run from the build folder: the analysis must import the installed package, not the source tree in the cwd.
(cd "$BUILD" && pyinstaller --noconfirm --clean --log-level WARN --distpath "$BUILD/dist" --workpath "$BUILD/work" \
  "$ROOT/installer.spec")
APP=$BUILD/dist/dlm-desktop
cp packaging/linux/dlm-desktop.desktop packaging/linux/dlm-desktop-mime.xml packaging/build-icons/dlm-desktop.png "$APP/"
cp packaging/linux/install.sh "$APP/install.sh"
log "tarball"
tar -C "$BUILD/dist" -czf "$BUILD/dlm-desktop-linux-x86_64.tar.gz" dlm-desktop
deactivate

# The bundle carries its own libpython and packages: the environment is emptied (no PYTHONPATH, no virtualenv,
# a scratch HOME), so nothing from a Python installation on this machine can be picked up.
log "self-test of the bundle: no network, empty environment, a scratch HOME"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
run_isolated=(env -i "HOME=$SCRATCH" "PATH=/usr/bin:/bin" "LANG=C.UTF-8")
if command -v unshare >/dev/null 2>&1 && unshare --net true 2>/dev/null; then
  run_isolated=(unshare --net "${run_isolated[@]}")  # no network at all, not even loopback routes out
fi
status=0
"${run_isolated[@]}" xvfb-run -a "$APP/dlm-desktop" --self-test --screenshots "$SCRATCH/shots" || status=$?
log "bundle: $(du -sh "$APP" | cut -f1) folder, $(du -sh "$BUILD/dlm-desktop-linux-x86_64.tar.gz" | cut -f1) tarball"
log "self-test exit status $status"
exit $status

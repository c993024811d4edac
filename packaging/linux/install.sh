#!/usr/bin/env sh
# Install the unpacked DLM Desktop folder for the current user: a `dlm-desktop` command in ~/.local/bin, the
# menu entry, the icon and the .dlm file type (double-click opens the document). Run it from the unpacked folder:
#   tar xzf dlm-desktop-linux-x86_64.tar.gz && ./dlm-desktop/install.sh
# Remove with: ./dlm-desktop/install.sh --uninstall
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
BIN=$HOME/.local/bin
if [ "${1:-}" = "--uninstall" ]; then
  DONE=removed
  rm -f "$BIN/dlm-desktop" "$DATA/applications/dlm-desktop.desktop" "$DATA/mime/packages/dlm-desktop-mime.xml" \
        "$DATA/icons/hicolor/512x512/apps/dlm-desktop.png"
else
  DONE=installed
  mkdir -p "$BIN" "$DATA/applications" "$DATA/mime/packages" "$DATA/icons/hicolor/512x512/apps"
  ln -sf "$HERE/dlm-desktop" "$BIN/dlm-desktop"
  sed "s|^Exec=dlm-desktop|Exec=$HERE/dlm-desktop|" "$HERE/dlm-desktop.desktop" > "$DATA/applications/dlm-desktop.desktop"
  cp "$HERE/dlm-desktop-mime.xml" "$DATA/mime/packages/"
  cp "$HERE/dlm-desktop.png" "$DATA/icons/hicolor/512x512/apps/"
fi
command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$DATA/mime" || true
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$DATA/applications" || true
echo "DLM Desktop $DONE for $(id -un)."

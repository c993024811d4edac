#!/usr/bin/env bash
# Pack an .app into a compressed disk image with an Applications shortcut (drag to install).
#   bash packaging/macos/make_dmg.sh "build/macos/dist/DLM Desktop.app" build/macos/DLM-Desktop.dmg
set -euo pipefail
APP=$1
DMG=$2
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "DLM Desktop" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --sign "$CODESIGN_IDENTITY" --timestamp "$DMG"
fi
echo "disk image: $DMG"

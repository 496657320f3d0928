#!/bin/sh
# Install Maskwright for the current user (no root needed):
#   ./install.sh              copy the app to ~/.local/share/maskwright, add a menu entry and `maskwright`
#   ./install.sh --uninstall  remove all of that again
# PREFIX=/opt/maskwright ./install.sh installs elsewhere (run as root for system-wide paths).
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
PREFIX="${PREFIX:-$DATA/maskwright}"
BIN="${BIN:-$HOME/.local/bin}"

if [ "${1:-}" = "--uninstall" ]; then
  rm -rf "$PREFIX" "$BIN/maskwright" "$DATA/applications/maskwright.desktop" \
         "$DATA/icons/hicolor/256x256/apps/maskwright.png" "$DATA/mime/packages/maskwright-mime.xml"
  command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$DATA/mime" || true
  echo "Maskwright removed (downloaded models stay in $DATA/Maskwright/Maskwright/models)."
  exit 0
fi

mkdir -p "$PREFIX" "$BIN" "$DATA/applications" "$DATA/icons/hicolor/256x256/apps" "$DATA/mime/packages"
rm -rf "$PREFIX/Maskwright"
cp -a "$HERE/Maskwright" "$PREFIX/"
ln -sf "$PREFIX/Maskwright/maskwright" "$BIN/maskwright"
cp "$HERE/maskwright.png" "$DATA/icons/hicolor/256x256/apps/maskwright.png"
cp "$HERE/maskwright-mime.xml" "$DATA/mime/packages/maskwright-mime.xml"
sed "s#^Exec=maskwright#Exec=\"$PREFIX/Maskwright/maskwright\"#" "$HERE/maskwright.desktop" \
  > "$DATA/applications/maskwright.desktop"
command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$DATA/mime" || true
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$DATA/applications" || true
echo "Maskwright installed in $PREFIX; start it from the applications menu or run: maskwright"
echo "Check the install at any time with: maskwright --self-test"

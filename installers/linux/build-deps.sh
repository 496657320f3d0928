#!/bin/sh
# What a bare Debian/Ubuntu build machine lacks to make the Linux bundle (run as root; CI does):
# binutils, which PyInstaller needs (objdump, objcopy), and the X11/XCB client libraries that Qt's
# xcb platform plugin loads, so the bundle carries them (libxcb-cursor0 is missing on many desktops).
set -eu
command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] || exit 0
missing=""
for pkg in binutils libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
           libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xfixes0 libxcb-sync1 libxcb-shm0 \
           libxcb-xkb1 libxcb-util1 libxcb-glx0; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  apt-get update -qq
  # One by one: a name this release does not have must not stop the others.
  for pkg in $missing; do
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1 || echo "build-deps: no package $pkg here"
  done
fi

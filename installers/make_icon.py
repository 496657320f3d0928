"""Render Maskwright's app icon (``resources/icons/maskwright.svg``, our own drawing)
into the raster formats installers need: PNG (Linux), ICO (Windows), ICNS (macOS).

``python installers/make_icon.py OUT_DIR`` writes ``maskwright.png`` (256 px),
``maskwright.ico`` and ``maskwright.icns``. ICO and ICNS are written by hand with
PNG payloads (both formats allow it), so no imaging package is needed beyond Qt.
"""
from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

SVG = Path(__file__).resolve().parent.parent / "resources" / "icons" / "maskwright.svg"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
#: ICNS element types that hold a PNG of the given side (ic10 is 512@2x).
ICNS_TYPES = ((b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256), (b"ic09", 512),
              (b"ic10", 1024))


def render_png(side: int, svg: Path = SVG) -> bytes:
    """The SVG drawn at ``side`` x ``side`` pixels, as PNG bytes (RGBA)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    if QGuiApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        render_png.app = QGuiApplication([])  # kept alive for later calls
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg}: not a valid SVG")
    image = QImage(side, side, QImage.Format_ARGB32)
    image.fill(Qt.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data)


def ico(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico holding one PNG per size (sizes up to 256)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, payload = b"", b""
    for side, png in sorted(pngs.items()):
        dim = 0 if side >= 256 else side  # 0 means 256 in the directory entry
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(png), offset + len(payload))
        payload += png
    return header + entries + payload


def icns(pngs: dict[int, bytes]) -> bytes:
    """A macOS .icns holding PNG elements."""
    body = b"".join(kind + struct.pack(">I", len(pngs[side]) + 8) + pngs[side] for kind, side in ICNS_TYPES)
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def write_icons(out_dir: Path) -> dict[str, Path]:
    """Write maskwright.png/.ico/.icns into ``out_dir``; returns the paths by suffix."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sides = sorted(set(ICO_SIZES) | {side for _, side in ICNS_TYPES})
    pngs = {side: render_png(side) for side in sides}
    paths = {"png": out_dir / "maskwright.png", "ico": out_dir / "maskwright.ico", "icns": out_dir / "maskwright.icns"}
    paths["png"].write_bytes(pngs[256])
    paths["ico"].write_bytes(ico({s: pngs[s] for s in ICO_SIZES}))
    paths["icns"].write_bytes(icns(pngs))
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("build") / "icons"
    for path in write_icons(target).values():
        print(path)

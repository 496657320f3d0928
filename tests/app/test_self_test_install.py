"""What the installers rely on: the generated app icon, and opening what a file
manager hands over (a folder, a *.maskwright file, the .maskwright sidecar)."""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.bootstrap.cli import parse_args, project_folder, start

ROOT = Path(__file__).resolve().parents[2]


def test_the_app_icon_renders_into_png_ico_and_icns(tmp_path, qtbot):
    sys.path.insert(0, str(ROOT / "installers"))
    try:
        from make_icon import write_icons
    finally:
        sys.path.remove(str(ROOT / "installers"))
    paths = write_icons(tmp_path)
    png = paths["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (256, 256)
    ico = paths["ico"].read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, 7)
    sides = [ico[6 + 16 * i] or 256 for i in range(count)]
    assert sides == [16, 24, 32, 48, 64, 128, 256]
    size, offset = struct.unpack("<II", ico[6 + 16 * 6 + 8: 6 + 16 * 7])
    assert ico[offset:offset + size] == png  # the 256 px entry is the PNG itself
    icns = paths["icns"].read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    assert b"ic10" in icns and b"ic07" in icns
    from PySide6.QtGui import QImage

    image = QImage.fromData(png)
    centre = image.pixelColor(128, 140)  # the click point is drawn in the middle: not transparent
    corner = image.pixelColor(1, 1)  # the rounded corner is
    assert centre.alpha() == 255 and corner.alpha() == 0
    assert np.ptp([image.pixelColor(x, 128).red() for x in range(0, 256, 16)]) > 50


def test_a_project_file_or_the_sidecar_opens_its_image_folder(qtbot, image_folder, tmp_path):
    shortcut = image_folder / "birds.maskwright"
    shortcut.write_text("{}", encoding="utf-8")
    assert project_folder(str(shortcut)) == str(image_folder)
    assert project_folder(str(image_folder / ".maskwright" / "project.json")) == str(image_folder)
    assert project_folder(str(image_folder / ".maskwright")) == str(image_folder)
    assert project_folder(str(image_folder)) == str(image_folder)
    odd = tmp_path / "named.maskwright"
    odd.mkdir()
    assert project_folder(str(odd)) == str(odd)  # a folder with that suffix is just a folder

    app = start(parse_args([str(shortcut), "--settings", str(tmp_path / "s.ini"), "--device", "cpu"]))
    try:
        qtbot.addWidget(app.window)
        assert app.state.project is not None and Path(app.state.project.folder) == image_folder
    finally:
        app.window.close()


@pytest.mark.skipif(sys.platform == "win32", reason="install.sh is the Linux installer")
def test_install_sh_and_uninstall_which_keeps_the_downloaded_models(tmp_path):
    unpacked = tmp_path / "maskwright-0.1.0"  # the tarball's layout (installers/build_bundle.py package_linux)
    (unpacked / "Maskwright").mkdir(parents=True)
    (unpacked / "Maskwright" / "maskwright").write_text("#!/bin/sh\n")
    for name in ("maskwright.desktop", "maskwright-mime.xml", "install.sh"):
        shutil.copy(ROOT / "installers" / "linux" / name, unpacked / name)
    (unpacked / "maskwright.png").write_bytes(b"\x89PNG")
    home = tmp_path / "home"
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    subprocess.run(["sh", str(unpacked / "install.sh")], check=True, env=env, capture_output=True)
    data = home / ".local" / "share"
    installed = [data / "maskwright" / "Maskwright" / "maskwright", home / ".local" / "bin" / "maskwright",
                 data / "applications" / "maskwright.desktop", data / "mime" / "packages" / "maskwright-mime.xml",
                 data / "icons" / "hicolor" / "256x256" / "apps" / "maskwright.png"]
    assert all(path.exists() for path in installed)
    model = data / "Maskwright" / "Maskwright" / "models" / "sam_vit_b_01ec64.pth"  # where the manager keeps them
    model.parent.mkdir(parents=True)
    model.write_bytes(b"weights")
    result = subprocess.run(["sh", str(unpacked / "install.sh"), "--uninstall"], check=True, env=env,
                            capture_output=True, text=True)
    assert not any(path.exists() or path.is_symlink() for path in installed)
    assert not (data / "maskwright").exists()
    assert model.read_bytes() == b"weights" and "downloaded models stay" in result.stdout

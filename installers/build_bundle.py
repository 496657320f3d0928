"""Build Maskwright's one-folder bundle with PyInstaller, then package it for this OS.

    python installers/build_bundle.py              # bundle + package
    python installers/build_bundle.py --self-test  # ... then run the packaged app's --self-test

Linux: ``dist/maskwright-<version>-linux-<arch>.tar.gz`` holding the app folder, a
``.desktop`` entry, the icon and ``install.sh``. Windows: the bundle plus an Inno
Setup script, compiled to ``dist/Maskwright-<version>-setup.exe`` when ``iscc`` is on
PATH. macOS: ``dist/Maskwright.app`` and, with ``hdiutil``, ``dist/Maskwright-<version>.dmg``.
Needs ``pip install -e ".[build]"``.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALLERS = ROOT / "installers"
SPEC = INSTALLERS / "maskwright.spec"
APP_NAME = "Maskwright"


def version() -> str:
    """The installed project's version, as the spec and ``--self-test`` read it."""
    try:
        return metadata.version("maskwright")
    except metadata.PackageNotFoundError:
        raise SystemExit('Maskwright is not installed: run  pip install -e ".[build]"  first') from None


def folder_size(path: Path) -> tuple[int, int]:
    """Bytes and files under ``path``, symlinks not followed (what the user's disk holds)."""
    total = files = 0
    for item in path.rglob("*"):
        if item.is_file() and not item.is_symlink():
            total += item.stat().st_size
            files += 1
    return total, files


def run_pyinstaller(dist: Path, work: Path) -> Path:
    sys.path.insert(0, str(INSTALLERS))
    from make_icon import write_icons

    write_icons(ROOT / "build" / "icons")
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
               "--distpath", str(dist), "--workpath", str(work), str(SPEC)]
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)
    return dist / (f"{APP_NAME}.app" if sys.platform == "darwin" else APP_NAME)


def executable(bundle: Path) -> Path:
    if sys.platform == "win32":
        return bundle / "maskwright.exe"
    if sys.platform == "darwin":
        return bundle / "Contents" / "MacOS" / "maskwright"
    return bundle / "maskwright"


def package_linux(bundle: Path, dist: Path, ver: str) -> Path:
    """A tarball: ``maskwright-<ver>/{Maskwright/, maskwright.desktop, maskwright.png, install.sh}``."""
    top = f"maskwright-{ver}"
    target = dist / f"{top}-linux-{platform.machine()}.tar.gz"
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=f"{top}/{APP_NAME}")
        tar.add(INSTALLERS / "linux" / "maskwright.desktop", arcname=f"{top}/maskwright.desktop")
        tar.add(INSTALLERS / "linux" / "maskwright-mime.xml", arcname=f"{top}/maskwright-mime.xml")
        tar.add(ROOT / "build" / "icons" / "maskwright.png", arcname=f"{top}/maskwright.png")
        tar.add(INSTALLERS / "linux" / "install.sh", arcname=f"{top}/install.sh", filter=_executable)
    return target


def _executable(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode = 0o755  # whatever the checkout did to the file mode, ./install.sh must run
    return info


def package_windows(bundle: Path, dist: Path, ver: str) -> Path:
    """Compile the Inno Setup script when ``iscc`` exists; otherwise say how."""
    script = INSTALLERS / "windows" / "maskwright.iss"
    iscc = shutil.which("iscc") or shutil.which("ISCC")
    if iscc is None:
        print(f"Inno Setup (iscc) not found: install it and run  iscc /DAppVersion={ver} "
              f"/DBundleDir={bundle} /DOutputDir={dist} {script}")
        return bundle
    subprocess.run([iscc, f"/DAppVersion={ver}", f"/DBundleDir={bundle}", f"/DOutputDir={dist}",
                    f"/DIconFile={ROOT / 'build' / 'icons' / 'maskwright.ico'}", str(script)], check=True)
    return dist / f"{APP_NAME}-{ver}-setup.exe"


def package_macos(bundle: Path, dist: Path, ver: str) -> Path:
    hdiutil = shutil.which("hdiutil")
    if hdiutil is None:
        return bundle
    target = dist / f"{APP_NAME}-{ver}.dmg"
    subprocess.run([hdiutil, "create", "-volname", APP_NAME, "-srcfolder", str(bundle), "-ov",
                    "-format", "UDZO", str(target)], check=True)
    return target


def self_test(package: Path, bundle: Path) -> int:
    """Run ``--self-test`` of what ships, with no Python variables from this environment so it
    cannot lean on the source tree. On Linux: unpack the tarball into a fresh folder, install it
    with its ``install.sh`` into a fresh home, and run the ``maskwright`` that put on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "XDG_"))}
    env["QT_QPA_PLATFORM"] = "offscreen"
    with tempfile.TemporaryDirectory(prefix="maskwright-package-") as tmp:
        binary = executable(bundle)
        if package.name.endswith(".tar.gz"):
            with tarfile.open(package) as tar:
                safe = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}  # Python < 3.10.12 lacks it
                tar.extractall(tmp, **safe)
            home = Path(tmp) / "home"
            env["HOME"] = str(home)
            unpacked = next(Path(tmp).glob("maskwright-*"))
            subprocess.run(["sh", str(unpacked / "install.sh")], check=True, env=env)
            desktop = (home / ".local/share/applications/maskwright.desktop").read_text(encoding="utf-8")
            exec_line = next(line for line in desktop.splitlines() if line.startswith("Exec="))
            if not Path(exec_line.split('"')[1]).is_file():
                raise SystemExit(f"the installed menu entry points nowhere: {exec_line}")
            binary = home / ".local" / "bin" / "maskwright"
        print("+", binary, "--self-test", flush=True)
        start = time.perf_counter()
        code = subprocess.run([str(binary), "--self-test"], cwd=tmp, env=env).returncode
        print(f"frozen self-test: exit code {code} after {time.perf_counter() - start:.1f} s", flush=True)
        return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller")
    parser.add_argument("--no-package", action="store_true", help="stop after the PyInstaller bundle")
    parser.add_argument("--self-test", action="store_true", help="run the packaged app's --self-test")
    args = parser.parse_args(argv)
    ver = version()
    start = time.perf_counter()
    bundle = run_pyinstaller(args.dist.resolve(), args.work.resolve())
    built = time.perf_counter() - start
    size, files = folder_size(bundle)
    print(f"bundle: {bundle} — {size / 1e6:.0f} MB in {files} files, built in {built:.0f} s", flush=True)
    package = bundle
    if not args.no_package:
        packagers = {"linux": package_linux, "win32": package_windows, "darwin": package_macos}
        packager = next((f for key, f in packagers.items() if sys.platform.startswith(key)), None)
        if packager is not None:
            package = packager(bundle, args.dist.resolve(), ver)
            if package.is_file():
                print(f"package: {package} — {package.stat().st_size / 1e6:.0f} MB "
                      f"({time.perf_counter() - start:.0f} s in all)", flush=True)
    return self_test(package, bundle) if args.self_test else 0


if __name__ == "__main__":
    sys.exit(main())

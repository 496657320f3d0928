"""``maskwright --self-test``: passes on a working install, fails loudly on a broken one."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_self_test_passes_headless_and_says_what_it_checked(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}  # it must go headless by itself
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "--self-test", "--device", "cpu"],
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert out.startswith("Maskwright self-test. Maskwright ") and "torch 2." in out
    assert "Device: Encoder on CPU (" in out
    for check in ("read images: PNG, JPEG, a damaged JPEG flagged", "write a random-weight checkpoint",
                  "load it", "encode an image", "decode a click", "export COCO and read it back",
                  "export SA-1B and read it back", "HTTPS certificates for model downloads", "the window, offscreen"):
        assert f"[ok]   {check}" in out
    assert "[FAIL]" not in out and "Self-test passed: 10 checks" in out and out.rstrip().endswith("on cpu.")
    assert list(tmp_path.iterdir()) == []  # everything went to a temporary folder that is gone


def test_a_broken_export_fails_the_self_test(monkeypatch):
    import app.model.io as formats
    from app.bootstrap.self_test import run

    real_write = formats.write_sa1b

    def write_one_pixel_off(dataset, directory):
        from app.model import Mask

        annotation = dataset.annotation(1)
        full = annotation.mask.full_mask().copy()
        full[0, 0] = not full[0, 0]
        dataset.replace_annotation(annotation.with_mask(Mask.from_full(full)))
        try:
            return real_write(dataset, directory)
        finally:
            dataset.replace_annotation(annotation)

    monkeypatch.setattr(formats, "write_sa1b", write_one_pixel_off)
    out = io.StringIO()
    assert run("cpu", out=out, gui=False) == 1
    text = out.getvalue()
    assert "[ok]   export COCO and read it back" in text
    assert ("[FAIL] export SA-1B and read it back: CheckFailed: "
            "pycocotools decodes SA-1B annotation 1 differently") in text
    assert "Self-test FAILED at 'export SA-1B and read it back' after 6 passed checks" in text

"""load_sam: shape inference, safe loading, and one-line errors for bad files."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sam_core import CheckpointError, KNOWN_VARIANTS, SamConfig, build_sam, infer_config, load_sam
from sam_core.testing import TINY_CONFIG, random_state_dict

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("variant", ["vit_b", "vit_l", "vit_h"])
def test_infers_official_variants_from_shapes(variant):
    config = KNOWN_VARIANTS[variant]
    with torch.device("meta"):
        state = build_sam(config).state_dict()
    assert infer_config(state) == config
    assert config.name == variant


def test_infers_custom_sizes():
    config = SamConfig(embed_dim=96, depth=3, num_heads=3, global_attn_indexes=(0, 2), window_size=8)
    with torch.device("meta"):
        state = build_sam(config).state_dict()
    assert infer_config(state) == config
    assert config.name.startswith("custom")


def test_loads_meta_format_unchanged(tiny_checkpoint, tiny_state_dict):
    sam = load_sam(tiny_checkpoint, device="cpu")
    assert sam.config == TINY_CONFIG
    assert sam.device.type == "cpu" and not sam.training
    loaded = sam.state_dict()
    assert loaded.keys() == tiny_state_dict.keys()
    assert all(torch.equal(loaded[k], tiny_state_dict[k]) for k in loaded)
    assert len(sam.checkpoint_id) == 16
    assert load_sam(tiny_checkpoint, device="cpu").checkpoint_id == sam.checkpoint_id


def test_checkpoint_id_changes_with_weights(tmp_path):
    a, b = tmp_path / "a.pth", tmp_path / "b.pth"
    torch.save(random_state_dict(TINY_CONFIG, seed=1), a)
    torch.save(random_state_dict(TINY_CONFIG, seed=2), b)
    assert load_sam(a, device="cpu").checkpoint_id != load_sam(b, device="cpu").checkpoint_id


def test_auto_device_on_cpu_machine(tiny_checkpoint):
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if expected == "cpu" and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        expected = "mps"
    assert load_sam(tiny_checkpoint).device.type == expected


def test_dtype_applies_to_the_encoder_only(tiny_checkpoint):
    sam = load_sam(tiny_checkpoint, device="cpu", dtype="bf16")
    assert sam.image_encoder.pos_embed.dtype == torch.bfloat16
    assert sam.mask_decoder.iou_token.weight.dtype == torch.float32
    assert sam.prompt_encoder.no_mask_embed.weight.dtype == torch.float32
    with pytest.raises(ValueError, match="unknown precision"):
        load_sam(tiny_checkpoint, device="cpu", dtype="int4")


class Payload:
    """Pickled as code: weights_only loading must refuse it."""


def _bad_files(tmp_path: Path, tiny_state_dict) -> dict[str, tuple[Path, str]]:
    good = tmp_path / "good.pth"
    torch.save(tiny_state_dict, good)
    data = good.read_bytes()
    files: dict[str, tuple[Path, str]] = {}

    def add(name: str, expect: str, writer) -> None:
        path = tmp_path / name
        writer(path)
        files[name] = (path, expect)

    files["missing"] = (tmp_path / "nope.pth", "file not found")
    add("empty.pth", "empty", lambda p: p.write_bytes(b""))
    add("truncated.pth", "truncated or corrupt", lambda p: p.write_bytes(data[: len(data) // 2]))
    add("garbage.pth", "truncated or corrupt", lambda p: p.write_bytes(b"\x00\x01not a checkpoint" * 100))
    add("text.pth", "truncated or corrupt", lambda p: p.write_bytes(b"truncated download"))
    add("html.pth", "truncated or corrupt", lambda p: p.write_bytes(b"<html><body>Access denied</body></html>"))
    add("code.pth", "pickled code", lambda p: torch.save({"x": Payload()}, p))
    add("resnet.pth", "missing image_encoder.*", lambda p: torch.save(torch.nn.Linear(2, 2).state_dict(), p))
    add(
        "sam2.pt",
        "SAM 2",
        lambda p: torch.save({"model": {"image_encoder.trunk.pos_embed": torch.zeros(1), "memory_attention.x": torch.zeros(1)}}, p),
    )
    add(
        "mobile_sam.pt",
        "MobileSAM",
        lambda p: torch.save({"image_encoder.patch_embed.seq.0.c.weight": torch.zeros(1), **{k: v for k, v in tiny_state_dict.items() if not k.startswith("image_encoder")}}, p),
    )
    partial = {k: v for k, v in tiny_state_dict.items() if "mask_decoder.iou_prediction_head" not in k}
    add("partial.pth", "missing mask_decoder.iou_prediction_head.*", lambda p: torch.save(partial, p))
    extra = dict(tiny_state_dict, **{"adapter.lora.weight": torch.zeros(2)})
    add("extra.pth", "unexpected adapter.lora.*", lambda p: torch.save(extra, p))
    add("list.pth", "state_dict of tensors", lambda p: torch.save([1, 2, 3], p))
    files["folder"] = (tmp_path, "folder")
    return files


def test_bad_files_give_one_clear_line(tmp_path, tiny_state_dict):
    for name, (path, expect) in _bad_files(tmp_path, tiny_state_dict).items():
        with pytest.raises(CheckpointError) as info:
            load_sam(path, device="cpu")
        message = str(info.value)
        assert expect in message, (name, message)
        assert path.name in message, (name, message)
        assert "\n" not in message and len(message) < 200, (name, message)


def test_command_line_check_prints_one_line(tmp_path):
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"PK\x03\x04 cut short")
    run = subprocess.run(
        [sys.executable, "-m", "sam_core.check", str(bad)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert run.returncode == 1
    assert run.stdout == "" and run.stderr.count("\n") == 1
    assert "broken.pth" in run.stderr and "Traceback" not in run.stderr


def test_command_line_check_describes_a_good_file(tiny_checkpoint):
    run = subprocess.run(
        [sys.executable, "-m", "sam_core.check", str(tiny_checkpoint), "--device", "cpu"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "custom" in run.stdout and "cpu" in run.stdout


def test_sam_core_imports_no_qt_torchvision_or_cv2():
    code = (
        "import sys, sam_core, sam_core.predictor, sam_core.build, sam_core.testing;"
        "bad=[m for m in sys.modules if m.split('.')[0] in ('PySide6','torchvision','pyqtgraph','cv2','PyQt5','PyQt6')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr

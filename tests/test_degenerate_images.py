"""Images with a 1-pixel side (1x5000, 5000x1) and images the decoder refuses.

The reference cannot encode a 1x5000 image (its resize rounds the short side to 0 px). sam_core
keeps that side at 1 px and pads the rest of the 1024 input frame, as the reference pads every
image: given that same input tensor, the reference's own ``set_torch_image`` agrees with us.
"""
from __future__ import annotations

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from sam_core.bench.reference import load_reference

from sam_core import SamAutomaticMaskGenerator, SamPredictor
from sam_core.testing import synthetic_photo


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


@pytest.mark.parametrize("size", [(1, 5000), (5000, 1), (1, 1), (2, 3000)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_one_pixel_sides_are_encoded_like_the_padded_reference(tiny_sam, tiny_reference, size):
    h, w = size
    image = synthetic_photo(max(h, 8), max(w, 8), seed=4)[:h, :w]
    ours = SamPredictor(tiny_sam)
    ours.set_image(image)
    assert min(ours.input_size) >= 1 and max(ours.input_size) == 1024
    ref = load_reference().SamPredictor(tiny_reference)
    tensor = torch.as_tensor(ours.transform.apply_image(image)).permute(2, 0, 1)[None].float()
    ref.set_torch_image(tensor, (h, w))
    torch.testing.assert_close(ours.get_image_embedding(), ref.get_image_embedding(), rtol=1e-4, atol=1e-4)
    # The same prompt in the input frame (the reference's own transform would put it at 0 px).
    point = torch.as_tensor(ours.transform.apply_coords(np.array([[[w / 2, h / 2]]]), (h, w))).float()
    label = torch.ones(1, 1, dtype=torch.int)
    masks, scores, _ = ours.predict_torch(point, label)
    ref_masks, ref_scores, _ = ref.predict_torch(point, label)
    assert masks.shape == ref_masks.shape == (1, 3, h, w)
    torch.testing.assert_close(scores, ref_scores, rtol=1e-4, atol=1e-4)
    for a, b in zip(masks[0].numpy(), ref_masks[0].numpy()):
        assert iou(a, b) >= 0.99
    assert ours.predict(point_coords=np.array([[w / 2, h / 2]]), point_labels=np.array([1]))[0].shape == (3, h, w)
    candidates = ours.predict_candidates(box=np.array([0, 0, w - 1, h - 1]))
    assert candidates.mask(candidates.best).shape == (h, w)


def test_generator_on_a_one_pixel_high_image(tiny_sam):
    image = synthetic_photo(8, 5000, seed=5)[:1]
    generator = SamAutomaticMaskGenerator(tiny_sam, points_per_side=2, pred_iou_thresh=0.0,
                                          stability_score_thresh=0.0, crop_n_layers=1)  # fmt: skip
    records = generator.generate(image)
    assert records and all(r["segmentation"].shape == (1, 5000) for r in records)


def test_empty_image_is_one_clear_error(tiny_sam):
    with pytest.raises(ValueError, match="image is empty"):
        SamPredictor(tiny_sam).set_image(np.zeros((0, 5, 3), np.uint8))


def test_amg_cli_records_refused_images_and_goes_on(tmp_path, tiny_checkpoint):
    folder, out = tmp_path / "images", tmp_path / "out"
    folder.mkdir()
    for name, (h, w) in {"line.png": (1, 5000), "column.png": (5000, 1), "wide.png": (4, 3000)}.items():
        cv2.imwrite(str(folder / name), synthetic_photo(max(h, 8), max(w, 8), seed=h)[:h, :w])
    # Over the decoder's pixel limit (lowered for the test): refused with one line, the rest goes on.
    env = dict(os.environ, OPENCV_IO_MAX_IMAGE_PIXELS="6000")
    cmd = [sys.executable, "-m", "sam_core.amg", str(folder), "--checkpoint", str(tiny_checkpoint),
           "--out", str(out), "--device", "cpu", "--points-per-side", "1", "--pred-iou-thresh", "0",
           "--stability-score-thresh", "0"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["column.json", "line.json"]
    errors = [line for line in proc.stderr.splitlines() if "error: " in line]
    assert len(errors) == 1 and "wide.png" in errors[0] and "CV_IO_MAX_IMAGE_PIXELS" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr

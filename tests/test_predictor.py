"""SamPredictor behaviour beyond parity: input conversion, embeddings, candidates."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sam_core.testing import synthetic_photo
from sam_core.bench.reference import load_reference

from sam_core import SamPredictor
from sam_core.utils.image import to_rgb_uint8

POINT = dict(point_coords=np.array([[120, 90]]), point_labels=np.array([1]))


@pytest.fixture(scope="module")
def image():
    return synthetic_photo(240, 320, seed=5)


def test_predict_before_set_image_raises(tiny_sam):
    with pytest.raises(RuntimeError, match="set_image"):
        SamPredictor(tiny_sam).predict(**POINT)


@pytest.mark.parametrize(
    "convert",
    [
        lambda im: np.dstack([im, np.full(im.shape[:2], 200, np.uint8)]),  # RGBA
        lambda im: im.astype(np.uint16) * 257,  # 16-bit
        lambda im: im.astype(np.float32) / 255.0,  # float in [0, 1]
    ],
    ids=["rgba", "uint16", "float01"],
)
def test_converted_inputs_embed_like_rgb(tiny_sam, image, convert):
    reference = SamPredictor(tiny_sam)
    reference.set_image(image)
    converted = SamPredictor(tiny_sam)
    converted.set_image(convert(image))
    torch.testing.assert_close(converted.get_image_embedding(), reference.get_image_embedding())


def test_grey_image_is_accepted(tiny_sam, image):
    grey = image.mean(axis=2).astype(np.uint8)
    predictor = SamPredictor(tiny_sam)
    predictor.set_image(grey)
    masks, _, _ = predictor.predict(**POINT)
    assert masks.shape == (3, 240, 320)
    assert np.array_equal(to_rgb_uint8(grey)[..., 0], grey)


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 2), np.uint8), np.zeros((0, 5, 3), np.uint8)])
def test_unusable_shapes_are_rejected_clearly(tiny_sam, bad):
    with pytest.raises(ValueError, match="shape"):
        SamPredictor(tiny_sam).set_image(bad)


def test_restored_embedding_gives_the_same_masks(tiny_sam, image):
    first = SamPredictor(tiny_sam)
    first.set_image(image)
    expected = first.predict(**POINT)
    restored = SamPredictor(tiny_sam)
    restored.set_image_embedding(first.get_image_embedding().clone(), first.original_size, first.input_size)
    got = restored.predict(**POINT)
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="shape"):
        restored.set_image_embedding(torch.zeros(1, 256, 32, 32), (10, 10), (10, 10))


def test_reset_image(tiny_sam, image):
    predictor = SamPredictor(tiny_sam)
    predictor.set_image(image)
    predictor.reset_image()
    assert not predictor.is_image_set and predictor.features is None


def test_candidates_agree_with_predict_and_reference_stability(tiny_sam, image):
    amg = load_reference().utils.amg
    predictor = SamPredictor(tiny_sam)
    predictor.set_image(image)
    masks, iou, low_res = predictor.predict(**POINT)
    candidates = predictor.predict_candidates(**POINT)
    np.testing.assert_allclose(candidates.iou_predictions, iou, rtol=1e-6)
    np.testing.assert_allclose(candidates.low_res_logits, low_res, rtol=1e-6)
    assert candidates.order == list(np.argsort(-iou))
    assert candidates.best == candidates.order[0]
    for i in range(3):
        np.testing.assert_array_equal(candidates.mask(i), masks[i])
    expected = amg.calculate_stability_score(torch.from_numpy(low_res), 0.0, 1.0).numpy()
    np.testing.assert_allclose(candidates.stability_scores, expected, rtol=1e-6)
    thumb = candidates.thumbnail(0, max_side=64)
    assert thumb.dtype == np.bool_ and max(thumb.shape) == 64 and thumb.shape[0] < thumb.shape[1]


def test_candidates_upscale_lazily(tiny_sam, image):
    predictor = SamPredictor(tiny_sam)
    predictor.set_image(image)
    candidates = predictor.predict_candidates(**POINT)
    assert candidates._masks == {}
    candidates.mask(candidates.best)
    assert list(candidates._masks) == [candidates.best]


def test_single_mask_output(tiny_sam, image):
    predictor = SamPredictor(tiny_sam)
    predictor.set_image(image)
    prompt = dict(point_coords=np.array([[120, 90], [200, 150]]), point_labels=np.array([1, 0]))
    candidates = predictor.predict_candidates(**prompt, multimask_output=False)
    assert len(candidates) == 1 and candidates.low_res_logits.shape == (1, 256, 256)

"""sam_core as a drop-in for Meta's ``segment_anything``: the calls of its README and notebooks
(predictor_example, automatic_mask_generator_example), run on both packages and compared.

Meta's three variants are too slow to run here, so both registries get one more entry for the
tiny test shape (with blob-shaped masks, see ``blob_state_dict``); the calls themselves are the
official ones. A separate test loads a real-size vit_b checkpoint through both registries.
"""
from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from sam_core.bench.reference import load_reference

import sam_core
from sam_core.build import CheckpointError
from sam_core.registry import make_builder
from sam_core.testing import TINY_CONFIG, VIT_B_CONFIG, blob_state_dict, random_state_dict, synthetic_photo


def iou(a, b) -> float:
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("drop_in") / "sam_tiny_blobs.pth"
    torch.save(blob_state_dict(random_state_dict(TINY_CONFIG, seed=0)), path)
    return str(path)


@pytest.fixture(scope="module")
def packages():
    """(sam_core, segment_anything), both registries with a "tiny" entry."""
    meta = load_reference()
    from segment_anything.build_sam import _build_sam

    meta_tiny = partial(_build_sam, encoder_embed_dim=TINY_CONFIG.embed_dim, encoder_depth=TINY_CONFIG.depth,
                        encoder_num_heads=TINY_CONFIG.num_heads,
                        encoder_global_attn_indexes=list(TINY_CONFIG.global_attn_indexes))  # fmt: skip
    sam_core.sam_model_registry["tiny"] = make_builder(TINY_CONFIG)
    meta.sam_model_registry["tiny"] = meta_tiny
    yield sam_core, meta
    del sam_core.sam_model_registry["tiny"], meta.sam_model_registry["tiny"]


def readme_predictor_calls(package, checkpoint: str, image: np.ndarray) -> dict:
    """The predictor README / notebook, verbatim but for the registry key."""
    sam = package.sam_model_registry["tiny"](checkpoint=checkpoint)
    sam.to(device="cpu")
    predictor = package.SamPredictor(sam)
    predictor.set_image(image)
    input_point = np.array([[500, 375]])
    input_label = np.array([1])
    masks, scores, logits = predictor.predict(point_coords=input_point, point_labels=input_label,
                                              multimask_output=True)  # fmt: skip
    out = {"points_multimask": masks, "scores": scores}
    mask_input = logits[np.argmax(scores), :, :]
    masks, _, _ = predictor.predict(point_coords=np.array([[500, 375], [1125, 625]]), point_labels=np.array([1, 1]),
                                    mask_input=mask_input[None, :, :], multimask_output=False)  # fmt: skip
    out["mask_input"] = masks
    input_box = np.array([425, 600, 700, 875])
    masks, _, _ = predictor.predict(point_coords=None, point_labels=None, box=input_box[None, :],
                                    multimask_output=False)  # fmt: skip
    out["box"] = masks
    input_boxes = torch.tensor([[75, 275, 1725, 850], [425, 600, 700, 875], [1375, 550, 1650, 800],
                                [1240, 675, 1400, 750]], device=predictor.device)  # fmt: skip
    transformed_boxes = predictor.transform.apply_boxes_torch(input_boxes, image.shape[:2])
    masks, _, _ = predictor.predict_torch(point_coords=None, point_labels=None, boxes=transformed_boxes,
                                          multimask_output=False)  # fmt: skip
    out["batched_boxes"] = masks.cpu().numpy()
    masks[0, 0, 0, 0] = ~masks[0, 0, 0, 0]  # ordinary tensors: editable in place
    return out


def test_readme_predictor_calls_match_meta(packages, checkpoint):
    image = synthetic_photo(1200, 1800, seed=5)  # the notebook's truck photo is 1200 x 1800
    ours, meta = (readme_predictor_calls(p, checkpoint, image) for p in packages)
    for key in ("points_multimask", "mask_input", "box", "batched_boxes"):
        assert ours[key].shape == meta[key].shape and ours[key].dtype == meta[key].dtype == np.bool_, key
        for a, b in zip(ours[key].reshape(-1, *image.shape[:2]), meta[key].reshape(-1, *image.shape[:2])):
            assert iou(a, b) >= 0.99, key
    np.testing.assert_allclose(ours["scores"], meta["scores"], atol=2e-2)


def notebook_batched_input(package, sam, images: list, boxes: list) -> list:
    """The predictor notebook's "Batched prompt inputs" section, with the package's own transform."""
    resize_transform = package.utils.transforms.ResizeLongestSide(sam.image_encoder.img_size)

    def prepare_image(image, transform, device):
        image = transform.apply_image(image)
        image = torch.as_tensor(image, device=device.device)
        return image.permute(2, 0, 1).contiguous()

    return [{"image": prepare_image(image, resize_transform, sam),
             "boxes": resize_transform.apply_boxes_torch(box, image.shape[:2]),
             "original_size": image.shape[:2]} for image, box in zip(images, boxes)]  # fmt: skip


def test_batched_forward_matches_meta(packages, checkpoint):
    images = [synthetic_photo(600, 900, seed=6), synthetic_photo(700, 500, seed=7)]
    boxes = [torch.tensor([[35, 210, 860, 580], [240, 50, 600, 400]]), torch.tensor([[100, 100, 400, 600]])]
    (ours_pkg, meta_pkg) = packages
    ours_sam = ours_pkg.sam_model_registry["tiny"](checkpoint=checkpoint)
    meta_sam = meta_pkg.sam_model_registry["tiny"](checkpoint=checkpoint)
    import segment_anything.utils.transforms  # noqa: F401  (the notebook's import)
    import sam_core.utils.transforms  # noqa: F401

    # Same input tensors: the forward itself matches to float rounding.
    meta_input = notebook_batched_input(meta_pkg, meta_sam, images, boxes)
    ours_out = ours_sam(meta_input, multimask_output=False)
    meta_out = meta_sam(meta_input, multimask_output=False)
    assert len(ours_out) == len(meta_out) == 2
    for o, m in zip(ours_out, meta_out):
        assert set(o) == set(m) == {"masks", "iou_predictions", "low_res_logits"}
        assert o["masks"].shape == m["masks"].shape and o["masks"].dtype == torch.bool
        torch.testing.assert_close(o["low_res_logits"], m["low_res_logits"], rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(o["iou_predictions"], m["iou_predictions"], rtol=1e-4, atol=1e-4)
        for a, b in zip(o["masks"].flatten(0, 1), m["masks"].flatten(0, 1)):
            assert iou(a.numpy(), b.numpy()) > 0.999
    # Each package with its own transform (resizers may differ by one grey level).
    ours_out = ours_sam(notebook_batched_input(ours_pkg, ours_sam, images, boxes), multimask_output=True)
    for o, m in zip(ours_out, meta_sam(meta_input, multimask_output=True)):
        for a, b in zip(o["masks"].flatten(0, 1), m["masks"].flatten(0, 1)):
            assert iou(a.numpy(), b.numpy()) >= 0.99


def test_automatic_generator_calls_match_meta(packages, checkpoint):
    image = synthetic_photo(375, 501, seed=0)
    results = []
    for package in packages:
        sam = package.sam_model_registry["tiny"](checkpoint=checkpoint)
        # The notebook's "options" example, with a smaller grid and thresholds for random weights.
        mask_generator = package.SamAutomaticMaskGenerator(
            model=sam, points_per_side=4, pred_iou_thresh=0.06, stability_score_thresh=0.02,
            crop_n_layers=1, crop_n_points_downscale_factor=2, min_mask_region_area=100,
        )  # fmt: skip
        results.append(mask_generator.generate(image))
    ours, meta = results
    assert len(meta) >= 3 and abs(len(ours) - len(meta)) <= 0.01 * len(meta)
    for record in ours:
        assert set(record) == set(meta[0])
        assert record["segmentation"].dtype == np.bool_ and record["segmentation"].shape == image.shape[:2]
    for m in meta:
        assert max(iou(o["segmentation"], m["segmentation"]) for o in ours) >= 0.99


def test_registry_loads_vit_b_like_meta(packages, tmp_path):
    ours_pkg, meta_pkg = packages
    assert ours_pkg.sam_model_registry["default"] is ours_pkg.build_sam_vit_h  # as Meta's "default"
    assert set(ours_pkg.sam_model_registry) >= {"default", "vit_h", "vit_l", "vit_b"}
    path = tmp_path / "sam_vit_b_random.pth"
    torch.save(random_state_dict(VIT_B_CONFIG, seed=1), path)
    ours = ours_pkg.sam_model_registry["vit_b"](checkpoint=str(path))
    meta = meta_pkg.sam_model_registry["vit_b"](checkpoint=str(path))
    assert not ours.training and ours.device == torch.device("cpu")
    theirs = meta.state_dict()
    for key, value in ours.state_dict().items():
        assert torch.equal(value, theirs[key]), key
    assert ours_pkg.build_sam_vit_b(checkpoint=path).checkpoint_id == ours.checkpoint_id
    with pytest.raises(CheckpointError, match="sam_vit_b_random.pth: this is a vit_b checkpoint, not vit_l"):
        ours_pkg.sam_model_registry["vit_l"](checkpoint=path)

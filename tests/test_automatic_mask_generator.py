"""SamAutomaticMaskGenerator against Meta's reference generator, plus its own extras.

Both generators run the same seeded random weights on the same synthetic photo.
Random SAM weights produce speckled masks whose boxes all span the image, which
would leave box NMS and the crop-edge filter nothing to decide. The fixture
therefore averages the decoder's 2x2 upscaling kernels (removing the speckle)
and scales the hypernetwork outputs (SAM-like logit magnitudes), in the tensors
*both* models load: masks become blobs with varied boxes and stability scores.
"""
from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
import torch
from sam_core.bench.reference import build_reference_sam, load_reference

from sam_core import build_sam
from sam_core.automatic_mask_generator import GenerationCancelled, SamAutomaticMaskGenerator
from sam_core.testing import TINY_CONFIG, random_state_dict, synthetic_photo
from sam_core.utils import nms as nms_module
from sam_core.utils.generation import MaskRuns
from sam_core.utils.nms import batched_nms
from sam_core.utils.regions import label_components, remove_small_regions
from sam_core.utils.rle import mask_to_rle, rle_to_mask

IMAGE_SIZE = (375, 501)
# Random weights predict IoUs of ~0.02-0.3, so the thresholds are lowered to match.
LOW_THRESHOLDS = dict(pred_iou_thresh=0.06, stability_score_thresh=0.02)
RECORD_KEYS = {"segmentation", "area", "bbox", "predicted_iou", "point_coords", "stability_score", "crop_box"}


@pytest.fixture(scope="module")
def blob_state_dict() -> dict[str, torch.Tensor]:
    state = random_state_dict(TINY_CONFIG, seed=0)
    for key in ("mask_decoder.output_upscaling.0.weight", "mask_decoder.output_upscaling.3.weight"):
        state[key] = state[key].mean(dim=(2, 3), keepdim=True).expand_as(state[key]).contiguous()
    for i in range(4):
        for part in ("weight", "bias"):
            state[f"mask_decoder.output_hypernetworks_mlps.{i}.layers.2.{part}"] *= 50.0
    return state


@pytest.fixture(scope="module")
def ours(blob_state_dict):
    sam = build_sam(TINY_CONFIG)
    sam.load_state_dict(blob_state_dict)
    return sam.eval()


@pytest.fixture(scope="module")
def reference(blob_state_dict):
    return build_reference_sam(TINY_CONFIG, blob_state_dict)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return synthetic_photo(*IMAGE_SIZE, seed=0)


def reference_generate(model, image: np.ndarray, **kwargs) -> list[dict]:
    load_reference()
    from segment_anything.automatic_mask_generator import SamAutomaticMaskGenerator as Reference

    return Reference(model, output_mode="uncompressed_rle", **kwargs).generate(image)


def mask_stack(records: list[dict], size: tuple[int, int]) -> np.ndarray:
    if not records:
        return np.zeros((0, *size), bool)
    return np.stack([rle_to_mask(r["segmentation"]) for r in records])


def best_ious(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """For each of ``theirs``, the best IoU with any of ``ours`` (1 for two empty masks)."""
    a = torch.from_numpy(ours.reshape(len(ours), -1)).double()
    b = torch.from_numpy(theirs.reshape(len(theirs), -1)).double()
    inter = b @ a.T
    union = b.sum(1)[:, None] + a.sum(1)[None, :] - inter
    iou = torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(inter))
    return iou.max(dim=1).values.numpy() if len(ours) else np.zeros(len(theirs))


def assert_matches_reference(ours: list[dict], theirs: list[dict], size: tuple[int, int]) -> None:
    assert abs(len(ours) - len(theirs)) <= 0.01 * len(theirs)
    best = best_ious(mask_stack(ours, size), mask_stack(theirs, size))
    assert (best >= 0.99).mean() >= 0.99, np.sort(best)[:5]


# -- parity with the reference ----------------------------------------------------------------------
def test_matches_reference(ours, reference, image) -> None:
    params = dict(points_per_side=4, **LOW_THRESHOLDS)
    got = SamAutomaticMaskGenerator(ours, output_mode="uncompressed_rle", **params).generate(image)
    expected = reference_generate(reference, image, **params)
    assert len(expected) >= 5, "the fixture should leave several masks to compare"
    assert_matches_reference(got, expected, IMAGE_SIZE)
    for record in got:
        assert set(record) == RECORD_KEYS
        h, w = record["segmentation"]["size"]
        assert (h, w) == IMAGE_SIZE and record["crop_box"] == [0, 0, w, h]
        assert isinstance(record["area"], int) and all(isinstance(v, int) for v in record["bbox"])
        assert len(record["point_coords"]) == 1 and len(record["point_coords"][0]) == 2
    # Same preference order, hence the same records where the masks agree exactly.
    for a, b in zip(got, expected):
        if a["segmentation"] == b["segmentation"]:
            assert a["bbox"] == b["bbox"] and a["area"] == b["area"] and a["point_coords"] == b["point_coords"]


def test_crop_layers_match_reference(ours, reference, image) -> None:
    params = dict(
        points_per_side=2,
        crop_n_layers=1,
        crop_n_points_downscale_factor=2,
        pred_iou_thresh=0.0,
        stability_score_thresh=0.0,
    )
    got = SamAutomaticMaskGenerator(ours, output_mode="uncompressed_rle", **params).generate(image)
    expected = reference_generate(reference, image, **params)
    assert_matches_reference(got, expected, IMAGE_SIZE)
    full = [0, 0, IMAGE_SIZE[1], IMAGE_SIZE[0]]
    assert any(r["crop_box"] != full for r in got), "some masks should come from the layer-1 crops"
    assert sorted(map(tuple, (r["crop_box"] for r in got))) == sorted(
        tuple(int(v) for v in r["crop_box"]) for r in expected
    )


def test_min_mask_region_area_matches_reference(ours, reference, image) -> None:
    params = dict(points_per_side=3, min_mask_region_area=400, **LOW_THRESHOLDS)
    got = SamAutomaticMaskGenerator(ours, output_mode="uncompressed_rle", **params).generate(image)
    expected = reference_generate(reference, image, **params)
    assert_matches_reference(got, expected, IMAGE_SIZE)
    for record in got:
        mask = rle_to_mask(record["segmentation"])
        _, islands = label_components(mask)
        _, holes = label_components(~mask)
        assert len(islands) == 1 or islands.min() >= 400  # a lone small island may remain
        assert len(holes) == 0 or holes.min() >= 400


# -- output modes, progress, cancellation, existing annotations --------------------------------------
CENTRE_GRID = [np.array([[0.3, 0.3], [0.7, 0.3], [0.3, 0.7], [0.7, 0.7]])]


def cheap_generator(model, **kwargs) -> SamAutomaticMaskGenerator:
    """Four prompts and no quality filters: fast, and always some candidates."""
    kwargs = {"points_per_side": None, "point_grids": CENTRE_GRID, "pred_iou_thresh": 0.0,
              "stability_score_thresh": 0.0, "box_nms_thresh": 0.95, **kwargs}  # fmt: skip
    return SamAutomaticMaskGenerator(model, **kwargs)


def test_output_modes(ours, image) -> None:
    from pycocotools import mask as coco_mask

    by_mode = {mode: cheap_generator(ours, output_mode=mode).generate(image) for mode in
               ("binary_mask", "uncompressed_rle", "coco_rle")}  # fmt: skip
    n = len(by_mode["uncompressed_rle"])
    assert n > 0 and all(len(records) == n for records in by_mode.values())
    for binary, rle, coco in zip(*by_mode.values()):
        mask = binary["segmentation"]
        assert mask.dtype == bool and mask.shape == IMAGE_SIZE
        assert mask_to_rle(mask) == rle["segmentation"]
        assert isinstance(coco["segmentation"]["counts"], str)
        expected = coco_mask.frPyObjects(rle["segmentation"], *IMAGE_SIZE)["counts"].decode("ascii")
        assert coco["segmentation"]["counts"] == expected
        assert binary["area"] == int(mask.sum()) == rle["area"] == coco["area"]


def test_progress_counts_batches_over_crops(ours, image, monkeypatch) -> None:
    generator = cheap_generator(ours, points_per_batch=3, crop_n_layers=1, point_grids=CENTRE_GRID * 2)
    embedded = []
    set_image = generator.predictor.set_image
    monkeypatch.setattr(generator.predictor, "set_image", lambda im: (embedded.append(im.shape), set_image(im)))
    # Leave only the top-left quadrant unannotated: one prompt of the whole-image
    # layer and the four of the top-left crop remain; the other crops have none.
    h, w = IMAGE_SIZE
    existing = np.ones(IMAGE_SIZE, bool)
    existing[: h // 2, : w // 2] = False
    calls = []
    generator.generate(image, existing_masks=existing, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]  # 1 batch + 2 batches (4 prompts by 3)
    assert len(embedded) == 2  # crops with nothing to prompt are never embedded


def test_cancel_between_batches(ours, image) -> None:
    seen = []
    generator = cheap_generator(ours, points_per_batch=1)
    with pytest.raises(GenerationCancelled):
        generator.generate(image, progress=lambda done, total: seen.append(done), cancel=lambda: len(seen) > 2)
    assert seen == [0, 1, 2]  # stopped before the third batch
    event = threading.Event()
    event.set()
    with pytest.raises(GenerationCancelled):
        generator.generate(image, progress=lambda done, total: seen.append(done), cancel=event)
    assert seen[-1] == 0  # before any embedding
    # The generator stays usable after a cancelled run (one prompt left, to be quick).
    h, w = IMAGE_SIZE
    existing = np.ones(IMAGE_SIZE, bool)
    existing[: h // 2, w // 2 :] = False
    calls = []
    never = threading.Event()
    generator.generate(image, existing_masks=existing, progress=lambda *c: calls.append(c), cancel=never)
    assert calls == [(0, 1), (1, 1)]


def test_existing_masks_skip_prompts(ours, image) -> None:
    h, w = IMAGE_SIZE
    generator = cheap_generator(ours, output_mode="binary_mask", points_per_batch=1)
    existing = np.zeros(IMAGE_SIZE, bool)
    existing[:, : w // 2] = True  # the prompts at x = 0.3 w fall on an annotation
    totals = []
    records = generator.generate(image, existing_masks=[existing], progress=lambda d, t: totals.append(t))
    assert totals[0] == 2  # two of the four prompts remain
    assert records and all(r["point_coords"][0][0] > w / 2 for r in records)
    # Everything annotated: nothing to prompt, nothing embedded.
    assert generator.generate(image, existing_masks=np.ones((1, h, w), bool)) == []
    with pytest.raises(ValueError):
        generator.generate(image, existing_masks=np.ones((h + 1, w), bool))


def test_existing_masks_drop_covered_candidates(ours, image) -> None:
    generator = cheap_generator(ours, output_mode="binary_mask", covered_thresh=0.5)
    unfiltered = generator.generate(image)
    target = max(unfiltered, key=lambda r: r["area"])["segmentation"]
    # Annotate that candidate, leaving the prompt pixels themselves free.
    existing = target.copy()
    for x, y in CENTRE_GRID[0] * [IMAGE_SIZE[1], IMAGE_SIZE[0]]:
        existing[int(y) - 3 : int(y) + 4, int(x) - 3 : int(x) + 4] = False
    records = generator.generate(image, existing_masks=existing)  # an HxW array works too
    assert all(not np.array_equal(r["segmentation"], target) for r in records)
    for record in records:
        assert (record["segmentation"] & existing).sum() <= 0.5 * record["area"]
    # covered_thresh=1 keeps candidates however much they overlap.
    lenient = cheap_generator(ours, output_mode="binary_mask", covered_thresh=1.0)
    assert any(np.array_equal(r["segmentation"], target) for r in lenient.generate(image, existing_masks=existing))


def test_rejects_bad_arguments(ours) -> None:
    with pytest.raises(ValueError):
        SamAutomaticMaskGenerator(ours, points_per_side=None)
    with pytest.raises(ValueError):
        SamAutomaticMaskGenerator(ours, points_per_side=8, point_grids=CENTRE_GRID)
    with pytest.raises(ValueError):
        SamAutomaticMaskGenerator(ours, output_mode="polygons")
    with pytest.raises(ValueError):
        SamAutomaticMaskGenerator(ours, points_per_side=None, point_grids=CENTRE_GRID, crop_n_layers=1)


# -- helpers: NMS and connected components against their references ---------------------------------
def random_boxes(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    xy = torch.randint(0, 60, (n, 2), generator=g)
    wh = torch.randint(0, 25, (n, 2), generator=g)  # includes zero-area boxes
    boxes = torch.cat([xy, xy + wh], dim=1)
    boxes[n // 2 :: 7] = boxes[: n - n // 2 : 7][: len(boxes[n // 2 :: 7])]  # exact duplicates
    scores = torch.randint(0, 6, (n,), generator=g).float()  # many ties
    categories = torch.randint(0, 3, (n,), generator=g)
    return boxes, scores, categories


@pytest.mark.parametrize("seed", range(4))
def test_nms_matches_reference(seed: int, monkeypatch) -> None:
    from sam_core.bench.reference import reference_batched_nms

    boxes, scores, categories = random_boxes(300, seed)
    for thresh in (0.0, 0.3, 0.7):
        expected = reference_batched_nms(boxes.float(), scores, categories, thresh)
        assert batched_nms(boxes, scores, categories, thresh).tolist() == expected.tolist()
        single = reference_batched_nms(boxes.float(), scores, torch.zeros(300), thresh)
        assert batched_nms(boxes, scores, None, thresh).tolist() == single.tolist()
        # The memory-saving path for many boxes selects the same boxes.
        monkeypatch.setattr(nms_module, "_MATRIX_LIMIT", 10)
        assert batched_nms(boxes, scores, categories, thresh).tolist() == expected.tolist()
        monkeypatch.undo()
    assert batched_nms(torch.zeros(0, 4), torch.zeros(0), None, 0.5).tolist() == []


def test_connected_components_match_opencv() -> None:
    cv2 = pytest.importorskip("cv2")
    load_reference()
    from segment_anything.utils.amg import remove_small_regions as reference_remove

    rng = np.random.default_rng(0)
    masks = [rng.random(rng.integers(1, 40, size=2)) < rng.random() for _ in range(150)]
    spiral = np.zeros((101, 101), bool)  # one long winding component
    for k in range(0, 50, 4):
        spiral[k, k : 101 - k] = spiral[k : 101 - k, 100 - k] = spiral[100 - k, k + 2 : 101 - k] = True
        spiral[k + 2 : 101 - k, k + 2] = True
        if k + 2 < 50:
            spiral[k + 2, k + 2 : k + 4] = True
    masks += [spiral, ~spiral, np.zeros((5, 5), bool), np.ones((5, 5), bool)]
    for i, mask in enumerate(masks):
        n, expected = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        labels, sizes = label_components(mask)
        np.testing.assert_array_equal(labels, expected)
        np.testing.assert_array_equal(sizes, np.bincount(expected.ravel(), minlength=n)[1:])
        for mode in ("holes", "islands"):
            area = int(rng.integers(0, 30))
            want, want_changed = reference_remove(mask, area, mode)
            got, changed = remove_small_regions(mask, area, mode)
            assert changed == want_changed
            np.testing.assert_array_equal(got, want)


def test_mask_runs_boxes_match_reference() -> None:
    load_reference()
    from segment_anything.utils.amg import batched_mask_to_box

    rng = np.random.default_rng(0)
    for _ in range(100):
        b, h, w = rng.integers(0, 6), rng.integers(1, 20), rng.integers(1, 20)
        masks = torch.from_numpy(rng.random((b, h, w)) < rng.random() * 0.2)
        masks[: b // 2 : 2] = False  # some empty masks
        runs = MaskRuns.from_masks(masks)
        assert runs.boxes().tolist() == batched_mask_to_box(masks).tolist()
        keep = np.flatnonzero(rng.random(b) < 0.5)
        assert runs.select(keep).boxes().tolist() == batched_mask_to_box(masks[torch.from_numpy(keep)]).tolist()


def test_engine_modules_import_no_gui_or_image_libraries() -> None:
    code = (
        "import sys, sam_core.automatic_mask_generator, sam_core.amg, sam_core.utils.rle;"
        "bad = {'cv2', 'torchvision', 'pycocotools', 'PySide6', 'pyqtgraph'} & set(sys.modules);"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

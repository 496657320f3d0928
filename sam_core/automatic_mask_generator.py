"""``SamAutomaticMaskGenerator``: "segment everything" by prompting SAM with a grid of points.

For every crop (the whole image, plus optional layers of overlapping tiles) the
crop is embedded once, each grid point is decoded into three candidates, and
candidates are kept when they are confident (predicted IoU), stable (same mask
when the logit cut moves by +/- an offset), not cut off by the crop border and
not duplicates (box NMS within a crop, then across crops preferring smaller
crops). Results match Meta's reference generator, with extras for labelling:
progress, cancellation and skipping what is already annotated.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .modeling import Sam
from .predictor import SamPredictor
from .utils.generation import (
    CandidateTable,
    MaskRuns,
    box_xyxy_to_xywh,
    build_layer_point_grids,
    count_set,
    generate_crop_boxes,
    near_crop_edge,
    stability_score,
)
from .utils.image import to_rgb_uint8
from .utils.nms import batched_nms, box_area
from .utils.regions import remove_small_regions
from .utils.rle import mask_to_rle, rle_area, rle_to_coco, rle_to_mask

OUTPUT_MODES = ("binary_mask", "uncompressed_rle", "coco_rle")

ProgressCallback = Callable[[int, int], None]
MaskStack = Union[np.ndarray, Sequence[np.ndarray]]


class GenerationCancelled(Exception):
    """``generate`` stopped because its ``cancel`` callback returned True."""


class SamAutomaticMaskGenerator:
    """Generate candidates for a whole image from a grid of single-point prompts.

    Args:
        model: a :class:`Sam` (any device/dtype).
        points_per_side: grid points per image side in crop layer 0 (points_per_side**2
            prompts); None when ``point_grids`` is given instead.
        points_per_batch: prompts decoded together; bounds memory (each holds
            3 full-resolution float logit maps of its crop).
        pred_iou_thresh: keep candidates whose predicted IoU is > this (0 disables).
        stability_score_thresh: keep candidates whose stability score is >= this (0 disables).
        stability_score_offset: the logit shift used for the stability score.
        box_nms_thresh: box IoU above which a lower-scored candidate of the same crop is dropped.
        crop_n_layers: extra crop layers; layer i tiles the image with (2**i)**2 crops.
        crop_nms_thresh: box IoU for removing duplicates across crops.
        crop_overlap_ratio: overlap of layer-1 crops as a fraction of the image's short side
            (halved per further layer).
        crop_n_points_downscale_factor: layer i uses points_per_side / factor**i per side.
        point_grids: explicit Nx2 grids in [0, 1] (x, y), one per crop layer.
        min_mask_region_area: if > 0, fill holes and drop islands smaller than this many
            pixels (8-connected), then repeat NMS.
        output_mode: "binary_mask" (HxW bool), "uncompressed_rle" (list counts) or
            "coco_rle" (pycocotools string counts).
        covered_thresh: with ``existing_masks`` given to :meth:`generate`, candidates with
            more than this fraction of their pixels inside existing masks are dropped
            (1.0 keeps them all; prompts on existing masks are skipped regardless).

    The generator owns one :class:`SamPredictor`; run one ``generate`` at a time.
    """

    def __init__(
        self,
        model: Sam,
        points_per_side: Optional[int] = 32,
        points_per_batch: int = 64,
        pred_iou_thresh: float = 0.88,
        stability_score_thresh: float = 0.95,
        stability_score_offset: float = 1.0,
        box_nms_thresh: float = 0.7,
        crop_n_layers: int = 0,
        crop_nms_thresh: float = 0.7,
        crop_overlap_ratio: float = 512 / 1500,
        crop_n_points_downscale_factor: int = 1,
        point_grids: Optional[List[np.ndarray]] = None,
        min_mask_region_area: int = 0,
        output_mode: str = "binary_mask",
        covered_thresh: float = 0.5,
    ) -> None:
        if (points_per_side is None) == (point_grids is None):
            raise ValueError("give exactly one of points_per_side and point_grids")
        if point_grids is None:
            point_grids = build_layer_point_grids(points_per_side, crop_n_layers, crop_n_points_downscale_factor)
        if len(point_grids) < crop_n_layers + 1:
            n = len(point_grids)
            raise ValueError(f"crop_n_layers={crop_n_layers} needs {crop_n_layers + 1} point grids, got {n}")
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"output_mode must be one of {OUTPUT_MODES}, got {output_mode!r}")
        if points_per_batch < 1:
            raise ValueError("points_per_batch must be >= 1")
        self.predictor = SamPredictor(model)
        self.point_grids = [np.asarray(g, dtype=np.float64).reshape(-1, 2) for g in point_grids]
        self.points_per_batch = points_per_batch
        self.pred_iou_thresh = pred_iou_thresh
        self.stability_score_thresh = stability_score_thresh
        self.stability_score_offset = stability_score_offset
        self.box_nms_thresh = box_nms_thresh
        self.crop_n_layers = crop_n_layers
        self.crop_nms_thresh = crop_nms_thresh
        self.crop_overlap_ratio = crop_overlap_ratio
        self.min_mask_region_area = min_mask_region_area
        self.output_mode = output_mode
        self.covered_thresh = covered_thresh

    def generate(
        self,
        image: np.ndarray,
        existing_masks: Optional[MaskStack] = None,
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[Callable[[], bool]] = None,
    ) -> List[Dict[str, Any]]:
        """Candidates for ``image``, best first.

        Args:
            image: HxWx3 uint8 RGB (grey, alpha and 16-bit are converted first).
            existing_masks: masks already annotated, in the image frame: an HxW
                bool array, an NxHxW stack, or a sequence of HxW arrays. Grid
                points on them are not prompted, and candidates with more than
                ``covered_thresh`` of their area on them are dropped.
            progress: called as ``progress(done, total)`` with ``done = 0``
                before the first crop is embedded and after every point batch;
                ``total`` counts point batches over all crops.
            cancel: checked before each crop is embedded and before each
                batch; a ``threading.Event`` works too (its ``is_set``). When it
                returns True, :class:`GenerationCancelled` is raised.

        Returns:
            One dict per candidate, by decreasing preference:
            ``segmentation`` (HxW bool or RLE dict, see ``output_mode``), ``area``
            (int pixels), ``bbox`` (XYWH, image frame, width = last - first column),
            ``predicted_iou`` (float), ``point_coords`` ([[x, y]], image frame),
            ``stability_score`` (float), ``crop_box`` (XYWH, image frame).
        """
        image = to_rgb_uint8(image)
        covered = _union(existing_masks, image.shape[:2])
        with torch.inference_mode():
            candidates = self._generate(image, covered, progress, cancel)
        if self.min_mask_region_area > 0 and len(candidates):
            candidates = self._clean_small_regions(candidates)
        return self._records(candidates)

    # -- stages ------------------------------------------------------------------------------------
    def _generate(
        self,
        image: np.ndarray,
        covered: Optional[np.ndarray],
        progress: Optional[ProgressCallback],
        cancel: Optional[Callable[[], bool]],
    ) -> CandidateTable:
        h, w = image.shape[:2]
        crop_boxes, layers = generate_crop_boxes((h, w), self.crop_n_layers, self.crop_overlap_ratio)
        grids = [self.point_grids[layer] for layer in layers]
        prompts = [self._crop_points(box, grid, covered) for box, grid in zip(crop_boxes, grids)]
        total = sum(math.ceil(len(p) / self.points_per_batch) for p in prompts)
        done = 0
        if progress is not None:
            progress(done, total)
        per_crop = []
        for crop_box, points in zip(crop_boxes, prompts):
            if len(points) == 0:
                continue  # nothing to prompt: skip the costly embedding
            _check(cancel)
            x0, y0, x1, y1 = crop_box
            covered_crop = None
            if covered is not None:
                covered_crop = torch.as_tensor(covered[y0:y1, x0:x1], device=self.predictor.device)
            batches = []
            try:
                self.predictor.set_image(image[y0:y1, x0:x1])
                for start in range(0, len(points), self.points_per_batch):
                    _check(cancel)
                    batch = points[start : start + self.points_per_batch]
                    batches.append(self._decode_batch(batch, crop_box, (h, w), covered_crop))
                    done += 1
                    if progress is not None:
                        progress(done, total)
            finally:
                self.predictor.reset_image()  # frees the embedding, also when cancelled
            per_crop.append(self._finish_crop(CandidateTable.concat(batches), crop_box))
        candidates = CandidateTable.concat(per_crop)
        if len(crop_boxes) > 1 and len(candidates):
            # Between crops, prefer the candidate from the smaller crop.
            scores = 1.0 / box_area(candidates["crop_boxes"]).double()
            candidates = candidates.select(batched_nms(candidates["boxes"], scores, None, self.crop_nms_thresh))
        return candidates

    def _crop_points(self, crop_box: List[int], grid: np.ndarray, covered: Optional[np.ndarray]) -> np.ndarray:
        """The grid scaled to the crop -> Nx2 float64 (x, y) in the crop frame, minus covered ones."""
        x0, y0, x1, y1 = crop_box
        if x1 <= x0 or y1 <= y0:
            return np.zeros((0, 2))  # tiny images can tile into empty crops
        points = grid * np.array([[x1 - x0, y1 - y0]], dtype=np.float64)
        if covered is None or len(points) == 0:
            return points
        cols = np.clip(x0 + points[:, 0].astype(np.int64), 0, covered.shape[1] - 1)
        rows = np.clip(y0 + points[:, 1].astype(np.int64), 0, covered.shape[0] - 1)
        return points[~covered[rows, cols]]

    def _decode_batch(
        self,
        points: np.ndarray,
        crop_box: List[int],
        image_size: Tuple[int, int],
        covered_crop: Optional[torch.Tensor],
    ) -> CandidateTable:
        """Bx2 points (crop frame) -> up to 3B filtered candidates (boxes in the crop frame)."""
        predictor, model = self.predictor, self.predictor.model
        crop_size = (crop_box[3] - crop_box[1], crop_box[2] - crop_box[0])
        coords = predictor.transform.apply_coords(points, crop_size)
        coords = torch.as_tensor(coords, device=predictor.device)[:, None, :]
        labels = torch.ones(coords.shape[:2], dtype=torch.int, device=predictor.device)
        low_res, iou = predictor.decode(coords, labels, None, None, True)
        per_prompt = low_res.shape[1]  # three candidates; HQ-SAM answers one
        low_res, iou = low_res.flatten(0, 1), iou.flatten(0, 1).float()
        rows = torch.arange(len(iou), device=iou.device)
        if self.pred_iou_thresh > 0.0:
            rows = rows[iou > self.pred_iou_thresh]
        # Upsampling is per map, so doing it only for confident candidates saves
        # most of the time and memory without changing any value.
        logits = model.postprocess_masks(low_res[rows, None], predictor.input_size, predictor.original_size)[:, 0]
        stability = stability_score(logits, model.mask_threshold, self.stability_score_offset)
        masks = logits > model.mask_threshold
        del logits
        if self.stability_score_thresh > 0.0:
            stable = stability >= self.stability_score_thresh
            rows, masks, stability = rows[stable], masks[stable], stability[stable]
        runs = MaskRuns.from_masks(masks)
        boxes = runs.boxes()
        keep = ~near_crop_edge(boxes, crop_box, [0, 0, image_size[1], image_size[0]])
        if covered_crop is not None and self.covered_thresh < 1.0:
            inside = count_set(masks & covered_crop).cpu().double()
            area = count_set(masks).cpu().double().clamp(min=1)
            keep &= inside / area <= self.covered_thresh
        del masks
        keep_cpu = keep.nonzero()[:, 0]
        runs = runs.select(keep_cpu.numpy())
        rows_kept = rows.cpu()[keep_cpu]
        return CandidateTable(
            rles=runs.to_rles(crop_box, image_size),
            boxes=boxes[keep_cpu],
            iou_preds=iou.cpu()[rows_kept],
            stability_score=stability.cpu()[keep_cpu],
            points=torch.from_numpy(np.repeat(points, per_prompt, axis=0))[rows_kept],
        )

    def _finish_crop(self, candidates: CandidateTable, crop_box: List[int]) -> CandidateTable:
        """NMS within a crop, then boxes and points from the crop frame to the image frame."""
        if not len(candidates):
            return candidates
        keep = batched_nms(candidates["boxes"], candidates["iou_preds"], None, self.box_nms_thresh)
        candidates = candidates.select(keep)
        x0, y0 = crop_box[0], crop_box[1]
        candidates["boxes"] = candidates["boxes"] + torch.tensor([[x0, y0, x0, y0]])
        candidates["points"] = candidates["points"] + torch.tensor([[x0, y0]], dtype=torch.float64)
        candidates["crop_boxes"] = torch.tensor([crop_box] * len(candidates), dtype=torch.int64)
        return candidates

    def _clean_small_regions(self, candidates: CandidateTable) -> CandidateTable:
        """Fill small holes / drop small islands, then NMS again favouring untouched candidates."""
        cleaned, unchanged, boxes = [], [], []
        for rle in candidates["rles"]:
            mask, filled = remove_small_regions(rle_to_mask(rle), self.min_mask_region_area, "holes")
            mask, dropped = remove_small_regions(mask, self.min_mask_region_area, "islands")
            cleaned.append(mask if (filled or dropped) else None)
            unchanged.append(not (filled or dropped))
            boxes.append(_mask_box(mask))
        boxes = torch.tensor(boxes, dtype=torch.int64).reshape(-1, 4)
        scores = torch.tensor(unchanged, dtype=torch.float64)
        nms_thresh = max(self.box_nms_thresh, self.crop_nms_thresh)
        keep = batched_nms(boxes, scores, None, nms_thresh)
        rles, new_boxes = list(candidates["rles"]), candidates["boxes"].clone()
        for i in keep.tolist():
            if cleaned[i] is not None:
                rles[i] = mask_to_rle(cleaned[i])
                new_boxes[i] = boxes[i]
        candidates["rles"], candidates["boxes"] = rles, new_boxes
        return candidates.select(keep)

    def _records(self, candidates: CandidateTable) -> List[Dict[str, Any]]:
        if not len(candidates):
            return []
        records = []
        for i, rle in enumerate(candidates["rles"]):
            if self.output_mode == "binary_mask":
                segmentation = rle_to_mask(rle)
            elif self.output_mode == "coco_rle":
                segmentation = rle_to_coco(rle)
            else:
                segmentation = rle
            records.append(
                {
                    "segmentation": segmentation,
                    "area": rle_area(rle),
                    "bbox": box_xyxy_to_xywh(candidates["boxes"][i].tolist()),
                    "predicted_iou": float(candidates["iou_preds"][i]),
                    "point_coords": [candidates["points"][i].tolist()],
                    "stability_score": float(candidates["stability_score"][i]),
                    "crop_box": box_xyxy_to_xywh(candidates["crop_boxes"][i].tolist()),
                }
            )
        return records


def _check(cancel: Optional[Callable[[], bool]]) -> None:
    if cancel is not None and (cancel.is_set() if hasattr(cancel, "is_set") else cancel()):
        raise GenerationCancelled("mask generation was cancelled")


def _union(masks: Optional[MaskStack], size: Tuple[int, int]) -> Optional[np.ndarray]:
    """Existing masks (HxW, NxHxW or a sequence of HxW) -> their HxW bool union, or None."""
    if masks is None:
        return None
    if isinstance(masks, np.ndarray) and masks.ndim == 2:
        masks = [masks]
    union = np.zeros(size, dtype=bool)
    for mask in masks:
        mask = np.asarray(mask)
        if mask.shape != tuple(size):
            raise ValueError(f"existing mask has shape {mask.shape}, image is {tuple(size)}")
        union |= mask.astype(bool)
    return union


def _mask_box(mask: np.ndarray) -> List[int]:
    """HxW bool -> [x0, y0, x1, y1] with inclusive ends; zeros when empty."""
    cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
    if len(cols) == 0:
        return [0, 0, 0, 0]
    return [int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])]

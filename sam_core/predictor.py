"""``SamPredictor``: embed an image once, then turn prompts into masks, for every SAM family.

The API is the one SAM users know. Frames: prompts passed to the numpy
methods are in the *original* image frame, (x, y) pixels; ``predict_torch``
takes them already in the family's 1024 *input* frame (use ``transform``).
What differs between families (resize, normalisation, prompt frames, the
decoder, postprocessing) is the network's, through the interface described in
:mod:`sam_core.families.base`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .candidates import Candidates, stability_scores
from .families.base import IMAGE_EMBED, ImageEmbedding
from .upscale import MaskUpscaler
from .utils.image import to_rgb_uint8


class SamPredictor:
    """Holds one image embedding for a SAM network of any family and decodes prompts against it."""

    def __init__(self, sam_model: torch.nn.Module, prompts_per_pass: int | None = None) -> None:
        """``prompts_per_pass``: how many prompts :meth:`decode` runs through the decoder at a
        time; None: 2 on the CPU (their 4096 x 256 image tokens and upscaling intermediates
        then stay in cache: about 23 ms a prompt against 34-43 for one pass of 64, on 2
        quiet cores; passes of 1 were as fast when quiet but slower on a busy host, where
        every small parallel op waits for both threads), the whole batch on other devices."""
        self.model = sam_model
        self.prompts_per_pass = prompts_per_pass
        self.transform = sam_model.transform
        self.reset_image()

    @property
    def device(self) -> torch.device:
        return self.model.device

    # -- image -----------------------------------------------------------------------------------
    def set_image(self, image: np.ndarray, image_format: str = "RGB") -> None:
        """Embed ``image``: HxWx3 uint8 in ``image_format`` ("RGB" or "BGR").

        Grey (HxW), alpha (HxWx4), 16-bit and float images are converted first.
        """
        image = to_rgb_uint8(image, image_format)
        input_image = self.transform.apply_image(image)
        tensor = torch.as_tensor(input_image, device=self.device).permute(2, 0, 1).contiguous()[None]
        self.set_torch_image(tensor, image.shape[:2])

    @torch.inference_mode()
    def set_torch_image(self, transformed_image: torch.Tensor, original_image_size: tuple[int, ...]) -> None:
        """Embed a 1x3xhxw RGB tensor already resized to the input frame, as the family's
        ``transform.apply_image`` makes it (SAM v1: 0..255, longest side 1024; SAM 2:
        0..1, 1024x1024)."""
        if transformed_image.ndim != 4 or transformed_image.shape[1] != 3:
            raise ValueError("set_torch_image expects a 1x3xHxW tensor")
        self.reset_image()
        pixels = self.model.preprocess(transformed_image.to(device=self.device, dtype=torch.float32))
        self.embedding = self.model.encode(pixels)
        self.original_size = tuple(int(s) for s in original_image_size)
        self.input_size = tuple(int(s) for s in transformed_image.shape[-2:])
        self.is_image_set = True

    @property
    def features(self) -> torch.Tensor | None:
        """The main embedding tensor (1xCx64x64), or None before an image is set."""
        return None if self.embedding is None else self.embedding[IMAGE_EMBED]

    def get_image_embedding(self) -> torch.Tensor:
        """The current image embedding, 1xCx64x64 (C = 256), as both references return it.

        SAM 2's decoder also needs its high-resolution features: to save and restore an
        embedding of any family use :meth:`get_embedding`.
        """
        self._require_image()
        return self.features

    def get_embedding(self) -> ImageEmbedding:
        """Everything the decoder needs for the current image (float32, this device)."""
        self._require_image()
        return self.embedding

    def set_image_embedding(
        self,
        embedding: ImageEmbedding | torch.Tensor,
        original_size: tuple[int, int],
        input_size: tuple[int, int],
    ) -> None:
        """Restore an embedding saved from :meth:`get_embedding`, without encoding.

        A bare tensor is taken as ``image_embed``, which is all that SAM v1 needs.
        ``original_size`` is the image's (H, W); ``input_size`` the resized (h, w).
        """
        if isinstance(embedding, torch.Tensor):
            embedding = ImageEmbedding({IMAGE_EMBED: embedding})
        expected = self.model.embedding_shapes()
        got = embedding.shapes()
        if got != expected:
            raise ValueError(f"{_describe_mismatch(got, expected)}; this SAM needs {_describe(expected)}")
        self.reset_image()
        self.embedding = embedding.to(device=self.device, dtype=torch.float32)
        self.original_size = tuple(int(s) for s in original_size)
        self.input_size = tuple(int(s) for s in input_size)
        self.is_image_set = True

    def reset_image(self) -> None:
        """Forget the current image and embedding."""
        self.is_image_set = False
        self.embedding: ImageEmbedding | None = None
        self._decoder_cache: Any = None
        self._upscaler: MaskUpscaler | bool | None = None  # False: the family has no fast upscaler
        self.original_size: tuple[int, int] | None = None
        self.input_size: tuple[int, int] | None = None

    # -- prompts ---------------------------------------------------------------------------------
    def predict(
        self,
        point_coords: np.ndarray | None = None,
        point_labels: np.ndarray | None = None,
        box: np.ndarray | None = None,
        mask_input: np.ndarray | None = None,
        multimask_output: bool = True,
        return_logits: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Masks for one prompt on the current image.

        Args:
            point_coords: Nx2 (x, y) in the original frame. point_labels: N, 1 = foreground, 0 = background.
            box: 4 XYXY in the original frame.
            mask_input: 1x256x256 low-res logits, typically from a previous call.
            multimask_output: three candidates (True) or one (False).
            return_logits: return float logits instead of bool masks.

        Returns:
            masks CxHxW bool (or float logits), iou_predictions C float32,
            low_res_logits Cx256x256 float32; C is 3 or 1.
        """
        self._require_image()
        coords, labels, box_t, mask_t = self._prompt_tensors(point_coords, point_labels, box, mask_input)
        masks, iou, low_res = self.predict_torch(coords, labels, box_t, mask_t, multimask_output, return_logits)
        return (
            masks[0].cpu().numpy(),
            iou[0].float().cpu().numpy(),
            low_res[0].float().cpu().numpy(),
        )

    def predict_candidates(
        self,
        point_coords: np.ndarray | None = None,
        point_labels: np.ndarray | None = None,
        box: np.ndarray | None = None,
        mask_input: np.ndarray | None = None,
        multimask_output: bool = True,
    ) -> Candidates:
        """The interactive path: scores for every candidate, full resolution on demand.

        Same prompt arguments and frames as :meth:`predict`. Only the candidates
        whose ``mask(i)`` is asked for are upscaled to the original size.
        """
        self._require_image()
        coords, labels, box_t, mask_t = self._prompt_tensors(point_coords, point_labels, box, mask_input)
        with torch.inference_mode():
            low_res, iou = self.decode(coords, labels, box_t, mask_t, multimask_output)
            low_res = low_res[0].float()
            returned = self.returned_low_res(low_res)
            stability = stability_scores(returned, self.model.mask_threshold)
        input_size, original_size = self.input_size, self.original_size
        full_resolution = self.full_resolution

        def upscale(index: int) -> np.ndarray:
            with torch.inference_mode():
                return full_resolution(low_res[index][None, None])[0, 0].cpu().numpy()

        return Candidates(
            iou_predictions=iou[0].float().cpu().numpy(),
            stability_scores=stability.cpu().numpy(),
            low_res_logits=returned.cpu().numpy(),
            original_size=original_size,
            input_size=input_size,
            _upscale=upscale,
        )

    def _prompt_tensors(self, point_coords, point_labels, box, mask_input):
        """Numpy prompts in the original frame -> batch-of-1 tensors in the input frame."""
        coords = labels = box_t = mask_t = None
        if point_coords is not None:
            if point_labels is None:
                raise ValueError("point_labels must be given with point_coords")
            points = self.transform.apply_coords(np.asarray(point_coords), self.original_size)
            coords = torch.as_tensor(points, dtype=torch.float, device=self.device)[None]
            labels = torch.as_tensor(np.asarray(point_labels), dtype=torch.int, device=self.device)[None]
        if box is not None:
            boxes = self.transform.apply_boxes(np.asarray(box), self.original_size)
            box_t = torch.as_tensor(boxes, dtype=torch.float, device=self.device)[None, :]
        if mask_input is not None:
            mask_t = torch.as_tensor(np.asarray(mask_input), dtype=torch.float, device=self.device)[None]
        return coords, labels, box_t, mask_t

    @torch.no_grad()
    def predict_torch(
        self,
        point_coords: torch.Tensor | None,
        point_labels: torch.Tensor | None,
        boxes: torch.Tensor | None = None,
        mask_input: torch.Tensor | None = None,
        multimask_output: bool = True,
        return_logits: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Batched prediction; prompts are already in the 1024 input frame.

        Args: point_coords BxNx2, point_labels BxN, boxes Bx4 XYXY, mask_input Bx1x256x256.
        Returns: masks BxCxHxW (bool, or logits), iou BxC, low-res logits BxCx256x256;
        ordinary tensors (not inference-mode ones), so they can be edited in place.
        """
        self._require_image()
        low_res, iou = self.decode(point_coords, point_labels, boxes, mask_input, multimask_output)
        low_res, iou = low_res.clone(), iou.clone()  # out of inference mode
        masks = self.full_resolution(low_res, logits=return_logits)
        return masks, iou, self.returned_low_res(low_res)

    def full_resolution(self, low_res: torch.Tensor, logits: bool = False) -> torch.Tensor:
        """B x C x 256 x 256 low-res logits -> B x C x H x W in the original frame: bool masks,
        or the logits. Through the family's fast :class:`MaskUpscaler` when it has one (row
        blocks, no full-resolution float image for masks), else its ``postprocess_masks``."""
        upscaler = self.upscaler()
        if upscaler is None:
            full = self.model.postprocess_masks(low_res.float(), self.input_size, self.original_size)
            return full if logits else full > self.model.mask_threshold
        flat = low_res.flatten(0, 1)
        out = upscaler.logits(flat) if logits else upscaler.masks(flat, self.model.mask_threshold)
        return out.view(*low_res.shape[:2], *out.shape[1:])

    def upscaler(self) -> MaskUpscaler | None:
        """The current image's :class:`MaskUpscaler` (built once), or None for a family without
        one (its ``postprocess_masks`` is used)."""
        self._require_image()
        if self._upscaler is None:
            make = getattr(self.model, "mask_upscaler", None)
            self._upscaler = make(self.input_size, self.original_size) if make is not None else False
        return self._upscaler or None

    def returned_low_res(self, low_res: torch.Tensor) -> torch.Tensor:
        """Low-res logits from :meth:`decode` as the family's reference hands them back (SAM 2
        clamps them to +-32; its full-resolution masks come from the unclamped ones)."""
        limit = self.model.low_res_logit_limit
        return low_res if limit is None else low_res.clamp(-limit, limit)

    def decode(
        self,
        point_coords: torch.Tensor | None,
        point_labels: torch.Tensor | None,
        boxes: torch.Tensor | None,
        mask_input: torch.Tensor | None,
        multimask_output: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompt encoder + mask decoder only: (low-res logits BxCx256x256, iou BxC), the
        logits unclamped.

        Prompts are in the input frame. The network's ``decode`` reuses a per-image cache
        built on the first call; results equal the family's decoder to float rounding.
        """
        self._require_image()
        dtype = self.features.dtype
        if point_coords is not None:
            point_coords, point_labels = point_coords.to(self.device, dtype), point_labels.to(self.device)
        if boxes is not None:
            boxes = boxes.to(self.device, dtype)
        if mask_input is not None:
            mask_input = mask_input.to(self.device, dtype)
        with torch.inference_mode():
            if self._decoder_cache is None:
                self._decoder_cache = self.model.build_decoder_cache(self.embedding)
            prompts = [t for t in (point_coords, boxes, mask_input) if t is not None]
            batch = prompts[0].shape[0] if prompts else 1
            step = self.prompts_per_pass or (2 if self.device.type == "cpu" else batch)
            if batch <= step:
                return self.model.decode(self._decoder_cache, point_coords, point_labels, boxes, mask_input,
                                         multimask_output)  # fmt: skip
            parts = [
                self.model.decode(self._decoder_cache, *(None if t is None else t[i : i + step]
                                  for t in (point_coords, point_labels, boxes, mask_input)), multimask_output)
                for i in range(0, batch, step)
            ]  # fmt: skip
            return torch.cat([low_res for low_res, _ in parts]), torch.cat([iou for _, iou in parts])

    def _require_image(self) -> None:
        if not self.is_image_set:
            raise RuntimeError("An image must be set with .set_image(...) before mask prediction.")


def _describe(shapes: dict[str, tuple[int, ...]]) -> str:
    return ", ".join(f"{name} {'x'.join(map(str, shape))}" for name, shape in shapes.items())


def _describe_mismatch(got: dict[str, tuple[int, ...]], expected: dict[str, tuple[int, ...]]) -> str:
    missing = [name for name in expected if name not in got]
    if missing:
        return "the embedding lacks " + ", ".join(missing)
    return "embedding has shape " + _describe(got)

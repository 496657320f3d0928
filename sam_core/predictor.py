"""``SamPredictor``: embed an image once, then turn prompts into masks.

The API is the one SAM users know. Frames: prompts passed to the numpy
methods are in the *original* image frame, (x, y) pixels; ``predict_torch``
takes them already in the 1024 *input* frame (use ``transform``).
"""
from __future__ import annotations

import numpy as np
import torch

from .candidates import Candidates, stability_scores
from .modeling import Sam
from .modeling.decoder_cache import ImageCache
from .upscale import MaskUpscaler
from .utils.image import to_rgb_uint8
from .utils.transforms import ResizeLongestSide


class SamPredictor:
    """Holds one image embedding for a :class:`Sam` and decodes prompts against it."""

    def __init__(self, sam_model: Sam) -> None:
        self.model = sam_model
        self.transform = ResizeLongestSide(sam_model.image_encoder.img_size)
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
        """Embed a 1x3xhxw RGB tensor (values 0..255) already resized to the input frame."""
        if transformed_image.ndim != 4 or transformed_image.shape[1] != 3:
            raise ValueError("set_torch_image expects a 1x3xHxW tensor")
        if max(transformed_image.shape[2:]) != self.model.image_encoder.img_size:
            raise ValueError(f"the longest side must be {self.model.image_encoder.img_size}")
        self.reset_image()
        self.original_size = tuple(int(s) for s in original_image_size)
        self.input_size = tuple(int(s) for s in transformed_image.shape[-2:])
        encoder = self.model.image_encoder
        pixels = self.model.preprocess(transformed_image.to(device=self.device, dtype=torch.float32))
        self.features = encoder(pixels.to(encoder.pos_embed.dtype)).float()
        self.is_image_set = True

    def get_image_embedding(self) -> torch.Tensor:
        """The current embedding, 1xCx64x64 (C = 256)."""
        self._require_image()
        return self.features

    def set_image_embedding(
        self, embedding: torch.Tensor, original_size: tuple[int, int], input_size: tuple[int, int]
    ) -> None:
        """Restore an embedding saved from :meth:`get_image_embedding`, without encoding.

        ``original_size`` is the image's (H, W); ``input_size`` the resized (h, w).
        """
        grid = self.model.prompt_encoder.image_embedding_size
        expected = (1, self.model.prompt_encoder.embed_dim, *grid)
        if tuple(embedding.shape) != expected:
            raise ValueError(f"embedding has shape {tuple(embedding.shape)}, expected {expected}")
        self.reset_image()
        self.features = embedding.to(device=self.device, dtype=torch.float32)
        self.original_size = tuple(int(s) for s in original_size)
        self.input_size = tuple(int(s) for s in input_size)
        self.is_image_set = True

    def reset_image(self) -> None:
        """Forget the current image and embedding."""
        self.is_image_set = False
        self.features: torch.Tensor | None = None
        self._decoder_cache: ImageCache | None = None
        self._upscaler: MaskUpscaler | None = None
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
            stability = stability_scores(low_res, self.model.mask_threshold)
        input_size, original_size = self.input_size, self.original_size

        upscaler = self.upscaler()

        def upscale(index: int) -> np.ndarray:
            with torch.inference_mode():
                return upscaler.masks(low_res[index][None], self.model.mask_threshold)[0].cpu().numpy()

        return Candidates(
            iou_predictions=iou[0].float().cpu().numpy(),
            stability_scores=stability.cpu().numpy(),
            low_res_logits=low_res.cpu().numpy(),
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
        upscaler, flat = self.upscaler(), low_res.flatten(0, 1)
        if return_logits:
            masks = upscaler.logits(flat)
        else:
            masks = upscaler.masks(flat, self.model.mask_threshold)
        return masks.view(*low_res.shape[:2], *masks.shape[1:]), iou, low_res

    def upscaler(self) -> MaskUpscaler:
        """The low-res -> original-frame :class:`MaskUpscaler` of the current image (built once)."""
        self._require_image()
        if self._upscaler is None:
            low_res = 4 * self.model.prompt_encoder.image_embedding_size[0]
            size = self.model.image_encoder.img_size
            self._upscaler = MaskUpscaler.for_sam(low_res, size, self.input_size, self.original_size, self.device)
        return self._upscaler

    def decode(
        self,
        point_coords: torch.Tensor | None,
        point_labels: torch.Tensor | None,
        boxes: torch.Tensor | None,
        mask_input: torch.Tensor | None,
        multimask_output: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompt encoder + mask decoder only: (low-res logits BxCx256x256, iou BxC).

        Uses :meth:`MaskDecoder.decode_cached` with a per-image cache built on the first call;
        results equal Meta's decoder to float rounding (about 1e-6 relative).
        """
        model = self.model
        dtype = self.features.dtype
        points = None
        if point_coords is not None:
            points = (point_coords.to(self.device, dtype), point_labels.to(self.device))
        if boxes is not None:
            boxes = boxes.to(self.device, dtype)
        if mask_input is not None:
            mask_input = mask_input.to(self.device, dtype)
        with torch.inference_mode():
            if mask_input is not None and points is None and boxes is None:
                sparse = mask_input.new_empty(mask_input.shape[0], 0, model.prompt_encoder.embed_dim)
            else:
                sparse, _ = model.prompt_encoder(points, boxes, None)
            features = None if mask_input is None else model.prompt_encoder.mask_downscaling.features(mask_input)
            if self._decoder_cache is None:
                self._decoder_cache = model.mask_decoder.build_image_cache(model.prompt_encoder, self.features)
            keep = slice(1, None) if multimask_output else slice(0, 1)
            return model.mask_decoder.decode_cached(self._decoder_cache, sparse, features, keep)

    def _require_image(self) -> None:
        if not self.is_image_set:
            raise RuntimeError("An image must be set with .set_image(...) before mask prediction.")

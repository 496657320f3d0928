"""The peer: the same seeded SAM on ONNX Runtime, as labelme (through osam) and X-AnyLabeling run it.

The reference ``Sam`` is exported with Meta's own exporter: ``SamOnnxModel`` for the prompt
encoder + decoder + upscaling (as ``scripts/export_onnx_model.py`` does, opset 17, a dynamic
number of points) and ``torch.onnx.export`` for the image encoder. Both run on onnxruntime's CPU
provider with intra-op spinning off (spinning threads would steal the cores from whatever is
timed next) and as many threads as sam_core uses.

Cases, each against sam_core in the same run (the decoder cases take turns, five prompts
each, so that the host's drift falls on both alike):

* encoder: resize + normalise + pad (numpy, as the peers do) + the ONNX encoder, against
  ``set_image`` in fp32 and at the reduced precision the app uses;
* ``predict()``: three candidates at full resolution (the decoder exported with
  ``return_single_mask=False``; it upscales all four outputs, one more than needed);
* interactive click: the decoder exported with ``return_single_mask=True`` (the chosen mask
  at full resolution), against ``predict_candidates`` + the best candidate's mask;
* clicks against the number of points (1, 4, 16): how each scales.

Needs the ``bench`` extra (``onnxruntime``, ``onnx``, ``segment-anything``); never a runtime
dependency.
"""
from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from ..build import build_sam, reduced_precision
from ..config import KNOWN_VARIANTS
from ..predictor import SamPredictor
from ..testing import random_state_dict, synthetic_photo
from ..utils.transforms import ResizeLongestSide
from .reference import build_reference_sam

PIXEL_MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
PIXEL_STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def export_decoder(sam, path: Path, single_mask: bool) -> None:
    """Meta's ``export_onnx_model.py``, without its command line."""
    from segment_anything.utils.onnx import SamOnnxModel

    model = SamOnnxModel(sam, return_single_mask=single_mask)
    embed_size = sam.prompt_encoder.image_embedding_size
    dummy = {
        "image_embeddings": torch.randn(1, sam.prompt_encoder.embed_dim, *embed_size, dtype=torch.float),
        "point_coords": torch.randint(low=0, high=1024, size=(1, 5, 2), dtype=torch.float),
        "point_labels": torch.randint(low=0, high=4, size=(1, 5), dtype=torch.float),
        "mask_input": torch.randn(1, 1, *[4 * x for x in embed_size], dtype=torch.float),
        "has_mask_input": torch.tensor([1], dtype=torch.float),
        "orig_im_size": torch.tensor([1500, 2250], dtype=torch.float),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, tuple(dummy.values()), str(path), export_params=True, opset_version=17,
                          do_constant_folding=True, input_names=list(dummy), dynamo=False,
                          output_names=["masks", "iou_predictions", "low_res_masks"],
                          dynamic_axes={"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}})  # fmt: skip


def export_encoder(sam, path: Path) -> None:
    size = sam.image_encoder.img_size
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(sam.image_encoder, (torch.randn(1, 3, size, size),), str(path), opset_version=17,
                          do_constant_folding=True, input_names=["image"], output_names=["image_embeddings"],
                          dynamo=False)  # fmt: skip


def session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def peer_preprocess(image: np.ndarray, transform: ResizeLongestSide) -> np.ndarray:
    """HxWx3 uint8 -> 1x3x1024x1024 float32, normalised and zero-padded (the peers do this in numpy)."""
    resized = transform.apply_image(image)
    x = (resized.astype(np.float32) - PIXEL_MEAN) / PIXEL_STD
    size = transform.target_length
    padded = np.zeros((size, size, 3), dtype=np.float32)
    padded[: x.shape[0], : x.shape[1]] = x
    return np.ascontiguousarray(padded.transpose(2, 0, 1)[None])


def decoder_feed(embedding: np.ndarray, points: np.ndarray, labels: np.ndarray, transform, size) -> dict:
    """Meta's ONNX notebook prompt: points in the input frame plus one padding point (label -1)."""
    coords = np.concatenate([points, np.zeros((1, 2))], axis=0)[None].astype(np.float32)
    coords = transform.apply_coords(coords, size).astype(np.float32)
    return {
        "image_embeddings": embedding,
        "point_coords": coords,
        "point_labels": np.concatenate([labels, [-1]])[None].astype(np.float32),
        "mask_input": np.zeros((1, 1, 256, 256), dtype=np.float32),
        "has_mask_input": np.zeros(1, dtype=np.float32),
        "orig_im_size": np.array(size, dtype=np.float32),
    }


def run_peers_bench(
    image_size: tuple[int, int], threads: int, clicks: int = 20, encoder_repeats: int = 2, config=None
) -> dict:
    """Export, time and compare; returns the report's ``peers`` section (``config``: vit_b if None)."""
    config = config or KNOWN_VARIANTS["vit_b"]
    state = random_state_dict(config, seed=0)
    reference = build_reference_sam(config, state)
    h, w = image_size
    image = synthetic_photo(h, w, seed=1)
    rng = np.random.default_rng(0)
    report: dict = {"what": f"{config.name} seeded weights, onnxruntime CPU provider, spinning off", "image": [h, w]}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        start = time.perf_counter()
        export_encoder(reference, folder / "encoder.onnx")
        export_decoder(reference, folder / "decoder_multi.onnx", single_mask=False)
        export_decoder(reference, folder / "decoder_single.onnx", single_mask=True)
        report["export_s"] = round(time.perf_counter() - start, 1)
        del reference
        import onnxruntime

        report["onnxruntime"] = onnxruntime.__version__
        encoder = session(folder / "encoder.onnx", threads)
        multi, single = session(folder / "decoder_multi.onnx", threads), session(folder / "decoder_single.onnx", threads)
        transform = ResizeLongestSide(1024)

        def ort_encode():
            return encoder.run(None, {"image": peer_preprocess(image, transform)})[0]

        embedding = ort_encode()
        ort_encoder_s = min(_timed(ort_encode) for _ in range(encoder_repeats))
        del encoder
        ours = build_sam(config)
        ours.load_state_dict(state)
        predictor = SamPredictor(ours)
        ours_fp32_s = min(_timed(lambda: predictor.set_image(image)) for _ in range(encoder_repeats))
        encoder_rows = {"onnxruntime_s": round(ort_encoder_s, 3), "sam_core_fp32_s": round(ours_fp32_s, 3),
                        "fp32_speedup": round(ort_encoder_s / ours_fp32_s, 2)}  # fmt: skip
        dtype = reduced_precision("cpu")
        if dtype is not None:
            reduced = build_sam(config)
            reduced.load_state_dict(state)
            reduced.image_encoder.to(dtype)
            reduced_predictor = SamPredictor(reduced)
            seconds = min(_timed(lambda: reduced_predictor.set_image(image)) for _ in range(encoder_repeats))
            encoder_rows.update({f"sam_core_{str(dtype)[6:]}_s": round(seconds, 3),
                                 f"{str(dtype)[6:]}_speedup": round(ort_encoder_s / seconds, 2)})  # fmt: skip
            del reduced, reduced_predictor
        report["encoder"] = encoder_rows
        # Decoder cases on the same embedding for both (ours re-embeds in fp32 above).
        points = [rng.uniform([0, 0], [w, h], size=(1, 2)) for _ in range(clicks)]
        labels = np.array([1])

        def ort_predict(p, lab, session_):
            masks, iou, low = session_.run(None, decoder_feed(embedding, p, lab, transform, (h, w)))
            return masks > 0.0

        cases = {}
        for n_points in (1, 4, 16):
            prompts = [(rng.uniform([0, 0], [w, h], size=(n_points, 2)), np.ones(n_points, dtype=np.int64))
                       for _ in range(clicks)] if n_points > 1 else [(p, labels) for p in points]  # fmt: skip
            medians = _medians_in_turn({
                "ort_multi": lambda p, lab: ort_predict(p, lab, multi),
                "ort_single": lambda p, lab: ort_predict(p, lab, single),
                "ours_predict": lambda p, lab: predictor.predict(point_coords=p, point_labels=lab, multimask_output=True),
                "ours_click": lambda p, lab: _click(predictor, p, lab),
            }, prompts)  # fmt: skip
            ort_multi, ort_single = medians["ort_multi"], medians["ort_single"]
            ours_predict, ours_click = medians["ours_predict"], medians["ours_click"]
            cases[n_points] = {
                "predict_three_masks_ms": {"onnxruntime": ort_multi, "sam_core": ours_predict,
                                           "speedup": round(ort_multi / ours_predict, 2)},
                "interactive_click_ms": {"onnxruntime_single_mask": ort_single, "sam_core": ours_click,
                                         "speedup": round(ort_single / ours_click, 2)},
            }  # fmt: skip
        report["clicks_by_points"] = cases
        report["scaling"] = "ms per click against the number of points (1, 4, 16): should stay nearly flat"
    return report


def _click(predictor: SamPredictor, points, labels):
    candidates = predictor.predict_candidates(point_coords=points, point_labels=labels)
    return candidates.mask(candidates.best)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _medians_in_turn(calls: dict, prompts: list, block: int = 5) -> dict:
    """p50 in ms of each ``calls[name](points, labels)`` over ``prompts``. The calls take
    turns, ``block`` prompts each after one untimed call (so each starts with its own data in
    cache, as a user's clicks do), so that the host's drift falls on all alike."""
    times: dict = {name: [] for name in calls}
    for first in range(0, len(prompts), block):
        turn = prompts[first : first + block]
        for name, call in calls.items():
            call(*turn[0])
            times[name] += [_timed(lambda prompt=prompt: call(*prompt)) for prompt in turn]
    return {name: round(1000 * float(np.median(t)), 2) for name, t in times.items()}

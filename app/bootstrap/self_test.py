"""``maskwright --self-test``: prove that this install (frozen or not) works, headless.

It writes a tiny random-weight checkpoint, loads it, encodes a synthetic photo,
decodes a click, exports COCO and SA-1B to a temporary folder and reads both back
(with pycocotools and with our readers), then drives the real window on Qt's
offscreen platform through the same steps. It prints one line per check, the
device, the versions, and exits 0 only when every check passed. It needs no
network, no display and no test packages.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Callable, TextIO

import numpy as np

from app.services.messages import one_line

IMAGE_SHAPE = (240, 320)  # H, W of the synthetic photo
CLICK = (160.0, 120.0)  # x, y


class CheckFailed(Exception):
    """A check found a wrong result (as opposed to crashing)."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


class Checklist:
    """Runs checks in order and prints ``[ok]`` / ``[FAIL]`` lines; a failure stops the rest."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.passed: list[str] = []
        self.failed: str | None = None

    def run(self, name: str, check: Callable[[], str]) -> bool:
        if self.failed is not None:
            return False
        start = time.perf_counter()
        try:
            detail = check()
        except Exception as exc:  # report every failure, never a bare traceback only
            self.failed = name
            print(f"[FAIL] {name}: {type(exc).__name__}: {one_line(exc)}", file=self.out, flush=True)
            if not isinstance(exc, CheckFailed):
                traceback.print_exc(file=sys.stderr)
            return False
        print(f"[ok]   {name}: {detail} ({time.perf_counter() - start:.2f} s)", file=self.out, flush=True)
        self.passed.append(name)
        return True


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    import cv2
    import PySide6
    import torch

    try:
        __version__ = version("maskwright")
    except PackageNotFoundError:
        __version__ = "(version unknown)"
    frozen = "frozen build" if getattr(sys, "frozen", False) else "from source"
    return (f"Maskwright {__version__} ({frozen}), Python {platform.python_version()}, torch {torch.__version__}, "
            f"numpy {np.__version__}, PySide6 {PySide6.__version__}, OpenCV {cv2.__version__}, "
            f"{platform.system()} {platform.machine()}")


def run(device: str = "auto", out: TextIO | None = None, gui: bool = True) -> int:
    """Run every check; returns the process exit code (0 = all passed)."""
    out = out or sys.stdout
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # headless, even on a desktop
    start = time.perf_counter()
    from app.services.checkpoints.device_check import check_device

    report = check_device(device)
    print(f"Maskwright self-test. {versions()}", file=out)
    print(f"Device: {report.summary}", file=out, flush=True)
    checks = Checklist(out)
    with tempfile.TemporaryDirectory(prefix="maskwright-selftest-") as tmp:
        _run_checks(checks, Path(tmp), device, gui)
    seconds = time.perf_counter() - start
    if checks.failed is not None:
        print(f"Self-test FAILED at '{checks.failed}' after {len(checks.passed)} passed checks ({seconds:.1f} s).",
              file=out, flush=True)
        return 1
    print(f"Self-test passed: {len(checks.passed)} checks in {seconds:.1f} s on {report.device}.", file=out, flush=True)
    return 0


def _run_checks(checks: Checklist, tmp: Path, device: str, gui: bool) -> None:
    import torch

    from sam_core import SamPredictor, load_sam
    from sam_core.testing import TINY_CONFIG, synthetic_photo, write_random_checkpoint

    state: dict = {}
    checkpoint = tmp / "sam_selftest_random.pth"
    photo = synthetic_photo(*IMAGE_SHAPE, seed=3)

    def make_checkpoint() -> str:
        write_random_checkpoint(checkpoint, TINY_CONFIG, seed=0)
        return f"{checkpoint.name}, {checkpoint.stat().st_size / 1e6:.1f} MB of random weights"

    def load() -> str:
        sam = state["sam"] = load_sam(checkpoint, device=None if device == "auto" else device)
        _require(sam.config.embed_dim == TINY_CONFIG.embed_dim, f"wrong shape inferred: {sam.config}")
        return f"{sam.config.title} on {sam.device}, fingerprint {sam.checkpoint_id}"

    def encode() -> str:
        predictor = state["predictor"] = SamPredictor(state["sam"])
        predictor.set_image(photo)
        embedding = predictor.get_image_embedding()
        _require(tuple(embedding.shape) == (1, 256, 64, 64), f"embedding shape {tuple(embedding.shape)}")
        _require(bool(torch.isfinite(embedding).all()), "embedding has NaN or inf")
        return f"{IMAGE_SHAPE[1]}x{IMAGE_SHAPE[0]} photo -> embedding 1x256x64x64"

    def decode() -> str:
        candidates = state["predictor"].predict_candidates(
            point_coords=np.array([CLICK]), point_labels=np.array([1]), multimask_output=True)
        _require(len(candidates) == 3, f"{len(candidates)} candidates instead of 3")
        mask = candidates.mask(candidates.best)
        _require(mask.shape == IMAGE_SHAPE and mask.dtype == bool, f"mask {mask.shape} {mask.dtype}")
        state["candidate"] = (mask, float(candidates.iou_predictions[candidates.best]))
        ious = ", ".join(f"{v:.2f}" for v in candidates.iou_predictions)
        return f"click at {CLICK} -> 3 candidates (predicted IoU {ious}), best has {int(mask.sum())} px"

    def export_coco() -> str:
        dataset = state["dataset"] = _dataset(*state["candidate"])
        return _check_coco(dataset, tmp / "coco_rle.json", tmp / "coco_polygons.json")

    def export_sa1b() -> str:
        return _check_sa1b(state["dataset"], tmp / "sa1b")

    checks.run("read images: PNG, JPEG, a damaged JPEG flagged", lambda: _check_images(tmp, photo))
    checks.run("write a random-weight checkpoint", make_checkpoint)
    checks.run("load it", load)
    checks.run("encode an image", encode)
    checks.run("decode a click", decode)
    checks.run("export COCO and read it back", export_coco)
    checks.run("export SA-1B and read it back", export_sa1b)
    checks.run("export YOLO, labelme and PNG masks, read the first two back",
               lambda: _check_other_formats(state["dataset"], tmp))
    checks.run("HTTPS certificates for model downloads", _check_tls)
    if gui:
        checks.run("the window, offscreen: load, encode, click, accept",
                   lambda: _check_window(tmp, checkpoint, photo, device))


def _check_images(tmp: Path, photo: np.ndarray) -> str:
    """The one image reader with this build's codecs: PNG exact, JPEG close, and a JPEG cut short
    (still ending in FF D9) read with a warning, as the image list and the messages show it."""
    import cv2

    from sam_core.image_files import read_image_file

    folder = tmp / "images-check"
    folder.mkdir()
    bgr = np.ascontiguousarray(photo[:, :, ::-1])
    cv2.imencode(".png", bgr)[1].tofile(folder / "check.png")
    jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    (folder / "check.jpg").write_bytes(jpeg)
    (folder / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2] + b"\xff\xd9")
    png, jpg, cut = (read_image_file(folder / name) for name in ("check.png", "check.jpg", "cut.jpg"))
    _require(np.array_equal(png.pixels, photo) and not png.warnings, "the PNG did not read back exactly")
    error = float(np.abs(jpg.pixels.astype(np.int16) - photo).mean())
    _require(jpg.size == photo.shape[:2] and error < 8 and not jpg.warnings, f"the JPEG read back wrong ({error:.1f})")
    _require(cut.size == photo.shape[:2] and len(cut.warnings) == 1, "a damaged JPEG was not flagged")
    return f"PNG exact, JPEG mean error {error:.1f}, damaged JPEG flagged: {cut.warnings[0][:60]}…"


def _check_other_formats(dataset, tmp: Path) -> str:
    """The formats that need PyYAML (YOLO's data.yaml) and OpenCV's PNG writer: a bundle
    missing either fails here, not in the user's first export."""
    from app.model.io.labelme import parse_labelme, write_labelme
    from app.model.io.png_masks import write_png_masks
    from app.model.io.yolo import parse_yolo, write_yolo

    objects = sum(1 for a in dataset.annotations() if not a.mask.is_empty)
    write_yolo(dataset, tmp / "yolo")
    yolo = parse_yolo(tmp / "yolo").annotation_count
    _require(yolo == objects, f"YOLO: {yolo} objects read back instead of {objects}")
    write_labelme(dataset, tmp / "labelme", tmp)
    labelme = parse_labelme(tmp / "labelme").annotation_count
    _require(labelme == objects, f"labelme: {labelme} objects read back instead of {objects}")
    report = write_png_masks(dataset, tmp / "png")
    _require(report.masks == objects, f"PNG masks: {report.masks} masks written instead of {objects}")
    return f"{objects} objects each way; {len(report.files)} PNG files"


def _dataset(sam_mask: np.ndarray, predicted_iou: float):
    """The SAM candidate plus a mask with a hole and two parts, which every format must keep."""
    from app.model import Annotation, Category, Dataset, ImageRecord, Mask, Provenance

    h, w = IMAGE_SHAPE
    tricky = np.zeros(IMAGE_SHAPE, bool)
    tricky[20:100, 30:130] = True
    tricky[45:70, 60:90] = False  # a hole
    tricky[150:200, 200:300] = True  # a second part
    dataset = Dataset()
    dataset.add_image(ImageRecord(1, "selftest.png", w, h))
    dataset.add_category(Category(1, "object", (0, 160, 255)))
    dataset.add_annotation(Annotation(1, 1, 1, Mask.from_full(tricky), Provenance(source="brush")))
    if sam_mask.any():  # random weights may predict nothing; the tricky mask is checked either way
        provenance = Provenance(points=(CLICK,), point_labels=(1,), predicted_iou=predicted_iou)
        dataset.add_annotation(Annotation(2, 1, 1, Mask.from_full(sam_mask), provenance))
    return dataset


def _same_masks(expected, actual, what: str) -> None:
    want = {a.id: a.mask.full_mask() for a in expected.annotations()}
    got = {a.id: a.mask.full_mask() for a in actual.annotations()}
    _require(want.keys() == got.keys(), f"{what}: annotation ids {sorted(got)} instead of {sorted(want)}")
    for key in want:
        _require(np.array_equal(want[key], got[key]), f"{what}: annotation {key}'s mask differs")


def _pycocotools_decode(segmentation: dict) -> np.ndarray:
    from pycocotools import mask as mask_utils

    rle = dict(segmentation, counts=segmentation["counts"].encode())
    with warnings.catch_warnings():  # pycocotools' decode trips a numpy 2 deprecation that is not ours
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode(rle).astype(bool)


def _check_coco(dataset, rle_path: Path, polygon_path: Path) -> str:
    from app.model.io import read_coco, write_coco

    write_coco(dataset, rle_path, segmentation="rle")
    document = json.loads(rle_path.read_text(encoding="utf-8"))
    for item in document["annotations"]:
        truth = dataset.annotation(item["id"]).mask
        _require(np.array_equal(_pycocotools_decode(item["segmentation"]), truth.full_mask()),
                 f"pycocotools decodes annotation {item['id']} differently")
        _require(item["area"] == truth.area and list(item["bbox"]) == list(truth.bbox),
                 f"annotation {item['id']}: area/bbox disagree with the mask")
    _same_masks(dataset, read_coco(rle_path), "COCO RLE round trip")
    report = write_coco(dataset, polygon_path, segmentation="polygons")
    read_coco(polygon_path)
    return (f"{len(document['annotations'])} RLE masks identical through pycocotools and read_coco; "
            f"polygon export {report.annotations} annotations")


def _check_sa1b(dataset, directory: Path) -> str:
    from app.model.io import read_sa1b, write_sa1b

    written = write_sa1b(dataset, directory)
    _require(len(written) == 1, f"{len(written)} SA-1B files instead of 1")
    document = json.loads(written[0].read_text(encoding="utf-8"))
    for item in document["annotations"]:
        truth = dataset.annotation(item["id"]).mask.full_mask()
        _require(np.array_equal(_pycocotools_decode(item["segmentation"]), truth),
                 f"pycocotools decodes SA-1B annotation {item['id']} differently")
    _same_masks(dataset, read_sa1b(directory), "SA-1B round trip")
    return f"{written[0].name}: {len(document['annotations'])} masks identical after reading back"


def _check_tls() -> str:
    from app.services.checkpoints.download import tls_context

    count = tls_context().cert_store_stats().get("x509_ca", 0)
    _require(count > 0, "no CA certificates found; HTTPS downloads of checkpoints would fail")
    return f"{count} CA certificates available"


def _check_window(tmp: Path, checkpoint: Path, photo: np.ndarray, device: str) -> str:
    """Build the real application offscreen, wait for the embedding, click, accept."""
    from PySide6.QtCore import qInstallMessageHandler

    previous = qInstallMessageHandler(_quiet_offscreen)
    try:
        return _drive_window(tmp, checkpoint, photo, device)
    finally:
        qInstallMessageHandler(previous)


def _quiet_offscreen(_kind, _context, message: str) -> None:
    """Qt's offscreen platform warns about window hints it cannot apply; other messages pass."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def _drive_window(tmp: Path, checkpoint: Path, photo: np.ndarray, device: str) -> str:
    import cv2
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from app.bootstrap.assemble import build
    from app.services.settings import Settings

    folder = tmp / "images"
    folder.mkdir()
    ok, data = cv2.imencode(".png", cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    _require(ok, "OpenCV could not encode a PNG")
    data.tofile(folder / "photo.png")
    qapp = QApplication.instance() or QApplication([sys.argv[0]])

    def wait(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise CheckFailed(f"timed out waiting for {what}")
            qapp.processEvents(QEventLoop.AllEvents, 50)
            time.sleep(0.005)

    errors: list[str] = []
    app = build(str(folder), str(checkpoint), device, Settings(tmp / "settings.ini"))
    try:
        app.notices.events.posted.connect(lambda e: errors.append(e.value.html) if e.value.level == "error" else None)
        app.window.show()
        state, prompting = app.state, app.prompting
        wait(lambda: errors or (state.sam.ready and state.image_id is not None), "the checkpoint and the image")
        _require(not errors, f"the window reported: {errors[:1]}")
        wait(lambda: errors or app.worker.is_encoded(state.image_key), "the embedding")
        prompting.add_point(*CLICK, positive=True)
        wait(lambda: errors or state.prompts.candidates is not None, "the click's candidates")
        _require(not errors, f"the window reported: {errors[:1]}")
        annotation = prompting.accept()
        if annotation is None:  # random weights predicted an empty mask: a box must still work
            prompting.set_box(40, 30, 200, 150)
            wait(lambda: state.prompts.candidates is not None, "the box's candidates")
            annotation = prompting.accept()
        _require(annotation is not None, "nothing could be accepted")
        shown = app.window.sam_label.text()
    finally:
        app.window.close()
        app.shutdown()
    return f"'{shown}', annotation of {annotation.area} px accepted"

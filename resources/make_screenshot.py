"""Make ``resources/screenshot_<W>x<H>.png``: the real window, labelling a synthetic image, as it
opens at its first start on a screen of that size (it fills the screen).

Run under a display of that size, e.g.
``xvfb-run -s "-screen 0 1366x768x24" python resources/make_screenshot.py`` (and 1600x1000).
It uses a random-weight checkpoint (no real weights are needed or downloaded),
so the live candidates are whatever that untrained model predicts (noise); the
accepted annotations are the drawn objects, imported from a COCO file through
``app.model.io``. The window, panels and prompts are exactly what a user sees.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


SHAPES = [  # (category, kind, geometry) drawn in this order
    ("book", "rect", (120, 120, 260, 560), (60, 90, 160)),
    ("tray", "rect", (850, 520, 1010, 640), (40, 40, 40)),
    ("plate", "ellipse", ((560, 400), (260, 170)), (235, 235, 230)),
    ("fruit", "circle", ((480, 380), 70), (200, 30, 25)),
    ("fruit", "circle", ((640, 420), 62), (240, 150, 20)),
    ("fruit", "circle", ((560, 300), 48), (120, 180, 40)),
]


def draw(target: np.ndarray, kind: str, geometry, color) -> None:
    if kind == "rect":
        x0, y0, x1, y1 = geometry
        cv2.rectangle(target, (x0, y0), (x1, y1), color, -1)
    elif kind == "ellipse":
        cv2.ellipse(target, geometry[0], geometry[1], 0, 0, 360, color, -1, cv2.LINE_AA)
    else:
        cv2.circle(target, geometry[0], geometry[1], color, -1, cv2.LINE_AA)


def scene(h: int = 720, w: int = 1080, seed: int = 0) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """A table top with fruit, a plate, a book and a tray (RGB), and each object's
    visible (ground-truth) mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    wood = np.array([150, 110, 75], np.float32) * (0.8 + 0.2 * np.sin(xx / 37.0 + yy / 90.0))[..., None]
    img = wood.astype(np.uint8)
    owner = np.full((h, w), -1, np.int32)
    for i, (_, kind, geometry, color) in enumerate(SHAPES):
        draw(img, kind, geometry, color)
        layer = np.zeros((h, w), np.uint8)
        draw(layer, kind, geometry, 1)
        owner[layer > 0] = i
    cv2.ellipse(img, (560, 400), (200, 125), 0, 0, 360, (215, 215, 210), 3, cv2.LINE_AA)
    noise = rng.normal(0, 5, img.shape)
    masks = [(SHAPES[i][0], owner == i) for i in range(len(SHAPES))]
    return np.clip(img + noise, 0, 255).astype(np.uint8), masks


def ground_truth_coco(path: Path, file_name: str, masks, size) -> None:
    """The drawn objects as a COCO file, as another tool would have exported them."""
    from app.model import Annotation, Category, Dataset, ImageRecord, Mask, Provenance
    from app.model.io import write_coco

    dataset = Dataset()
    dataset.add_image(ImageRecord(1, file_name, size[1], size[0]))
    colors = {"fruit": (230, 60, 60), "plate": (70, 170, 255), "book": (250, 200, 40), "tray": (170, 90, 230)}
    for name, color in colors.items():
        dataset.add_category(Category(dataset.new_category_id(), name, color))
    for name, mask in masks:
        category = dataset.category_by_name(name)
        dataset.add_annotation(Annotation(dataset.new_annotation_id(), 1, category.id, Mask.from_full(mask),
                                          Provenance(source="import")))
    write_coco(dataset, path)


def main() -> None:
    from PySide6.QtWidgets import QApplication

    from app.bootstrap.assemble import build
    from app.services.settings import Settings
    from sam_core import SamConfig
    from sam_core.testing import write_random_checkpoint

    tmp = Path(tempfile.mkdtemp(prefix="maskwright_shot_"))
    folder = tmp / "kitchen"
    folder.mkdir()
    for i in range(4):
        rgb, masks = scene(seed=i)
        if i:
            rgb = np.roll(rgb, 120 * i, axis=1)
        cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tofile(folder / f"table_{i + 1:02d}.png")
        if i == 0:
            ground_truth_coco(tmp / "earlier_export.json", "table_01.png", masks, rgb.shape[:2])
    config = SamConfig(embed_dim=64, depth=2, num_heads=2, global_attn_indexes=(1,))
    checkpoint = write_random_checkpoint(tmp / "sam_random_test_weights.pth", config, seed=3)

    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    app = build(str(folder), str(checkpoint), "cpu", Settings(tmp / "settings.ini"))  # a first start
    window, lab = app.window, app
    window.show()

    def pump(until, timeout=30.0):
        end = time.time() + timeout
        while not until() and time.time() < end:
            qapp.processEvents()
            time.sleep(0.01)

    pump(lambda: lab.state.sam.ready and lab.state.image_id is not None)
    pump(lambda: app.worker.is_encoded(lab.state.project.key(lab.state.image_id)))
    lab.navigation.open_image(lab.state.project.image_ids()[0])
    pump(lambda: window.canvas.image_shape is not None)
    # Earlier work on this image comes from a COCO file; the live prompt below goes through SAM.
    from app.model.io import import_coco

    import_coco(lab.state.project.dataset, tmp / "earlier_export.json")
    lab.state.project.set_done(lab.state.project.image_ids()[1], True)
    lab.controllers.categories.select(lab.state.project.dataset.category_by_name("fruit").id)
    lab.prompting.add_point(640, 420, True)
    pump(lambda: lab.state.prompts.candidates is not None)
    lab.state.select(lab.state.project.dataset.annotations(lab.state.image_id)[2].id)
    window.annotations.select(lab.state.selected)
    next_key = lab.state.project.key(lab.state.project.image_ids()[1])
    pump(lambda: app.worker.is_encoded(next_key))  # its "Pre-encoded" status line comes before the caption's
    pump(lambda: False, 0.5)
    lab.notices.mark_all_read()  # the session's messages are in the Messages panel
    window.statusBar().showMessage("Demo checkpoint has random weights: its candidates are noise; "
                                   "annotations imported from COCO", 60000)
    pump(lambda: False, 1.0)

    screen = window.screen().geometry()
    out = ROOT / "resources" / f"screenshot_{screen.width()}x{screen.height()}.png"
    geometry = window.frameGeometry()
    subprocess.run(
        ["import", "-window", "root", "-crop",
         f"{geometry.width()}x{geometry.height()}+{geometry.x()}+{geometry.y()}", "+repage", str(out)],
        check=True,
    )
    # 256 colours without dithering: the same picture at about a third of the size.
    subprocess.run(["convert", str(out), "-dither", "None", "-colors", "256", f"PNG8:{out}"], check=True)
    print(f"wrote {out}")
    window.close()


if __name__ == "__main__":
    main()

"""A big folder in the real window: listed from headers before anything is decoded, thumbnails
made smallest file first, sizes corrected by the decode, files only the decoder finds broken
taken out with a message; and the Images panel's filter, which D and A follow."""
from __future__ import annotations

import io
import zlib

import numpy as np
from PySide6.QtCore import Qt

from tests.app.conftest import write_image


def png_with_broken_pixels(rgb: np.ndarray) -> bytes:
    """A PNG whose header and end are whole but whose pixel data is not (a flipped IDAT byte)."""
    import cv2

    data = bytearray(cv2.imencode(".png", rgb)[1].tobytes())
    start = data.index(b"IDAT") + 4
    data[start + 10] ^= 0xFF  # the chunk's CRC no longer matches: libpng refuses it
    assert zlib.crc32(bytes(data[start - 4:start + 20])) is not None
    return bytes(data)


def turned_png(rgb: np.ndarray) -> bytes:
    """A PNG stored as ``rgb`` with an EXIF orientation that turns it a quarter when shown."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG", exif=exif.tobytes())
    return buffer.getvalue()


def test_the_folder_is_listed_first_then_decoded_smallest_first(qtbot, make_app, tmp_path, photo):
    folder = tmp_path / "many"
    folder.mkdir()
    sizes = {}
    for i in range(30):
        side = 24 + 4 * ((i * 7) % 30)  # file sizes in no particular name order
        sizes[f"img_{i:02d}.png"] = write_image(folder / f"img_{i:02d}.png", photo(side, side + 8, seed=i)).stat().st_size
    (folder / "broken.png").write_bytes(png_with_broken_pixels(photo(40, 50, seed=99)))
    (folder / "turned.png").write_bytes(turned_png(photo(20, 40, seed=5)))
    app = make_app(None, None)
    loader, order = app.services.loader, []
    loader.listed_images.connect(lambda _s, batch: order.extend(("listed", i.path.name) for i in batch))
    loader.list_finished.connect(lambda _s: order.append(("list_finished", "")))
    loader.thumbnails.connect(lambda _s, batch: order.extend(("thumbnail", i.path.name) for i in batch))
    app.navigation.open_folder(folder)
    project = app.state.project
    qtbot.waitUntil(lambda: ("thumbnail", "img_00.png") in order and not project.unverified
                    and len(project.skipped) == 1, timeout=20000)
    kinds = [kind for kind, _name in order]
    assert kinds.index("list_finished") == kinds.count("listed") == 32  # every file listed before any decode
    decoded = [name for kind, name in order if kind == "thumbnail" and name in sizes]
    assert decoded == sorted(sizes, key=lambda name: (sizes[name]))  # the most thumbnails soonest
    assert "broken.png" in app.window.message_bar.text and project.id_of(folder / "broken.png") is None
    window = app.window
    assert window.image_list.count() == 31 and window.docks["Images"].windowTitle() == "Images (31)"
    turned = project.dataset.image_by_name("turned.png")
    assert turned.shape == (40, 20)  # the header said 40 wide; the decode turned it
    assert all(project.thumbnail(i) is not None for i in project.image_ids())


def test_the_filter_shows_its_count_and_d_and_a_move_within_it(qtbot, make_app, tmp_path, photo):
    folder = tmp_path / "pets"
    folder.mkdir()
    for i, name in enumerate(("cat_1.png", "dog_1.png", "cat_2.png", "dog_2.png", "cat_3.png")):
        write_image(folder / name, photo(30, 40, seed=i))
    app = make_app(folder, None)
    window, state = app.window, app.state
    qtbot.waitUntil(lambda: state.image_id is not None and window.image_list.count() == 5, timeout=10000)
    names = lambda: [state.project.dataset.images[window.image_list.model_.image_id_at(r)].file_name  # noqa: E731
                     for r in range(window.image_list.count())]

    window.actions["image.filter"].trigger()  # Ctrl+F
    bar = window.image_filter
    assert bar.text.hasFocus()
    qtbot.keyClicks(bar.text, "cat")
    qtbot.keyClick(bar.text, Qt.Key_D)  # a letter typed into the filter is text, not "next image"
    assert state.project.dataset.images[state.image_id].file_name == "cat_1.png"
    qtbot.keyClick(bar.text, Qt.Key_Backspace)
    assert names() == ["cat_1.png", "cat_2.png", "cat_3.png"]
    assert window.docks["Images"].windowTitle() == "Images (3 of 5)"
    for expected in ("cat_2.png", "cat_3.png"):
        window.actions["image.next"].trigger()
        qtbot.waitUntil(lambda e=expected: state.project.dataset.images[state.image_id].file_name == e, timeout=5000)
    window.actions["image.next"].trigger()
    assert "Last image of the filter" in window.statusBar().currentMessage()

    state.project.set_done(state.image_id, True)  # cat_3 is done; only the todo cats are left
    bar.status.setCurrentIndex(bar.status.findData("todo"))
    qtbot.waitUntil(lambda: names() == ["cat_1.png", "cat_2.png", "cat_3.png"], timeout=2000)  # current stays
    window.actions["image.prev"].trigger()
    qtbot.waitUntil(lambda: state.project.dataset.images[state.image_id].file_name == "cat_2.png", timeout=5000)
    qtbot.waitUntil(lambda: names() == ["cat_1.png", "cat_2.png"], timeout=2000)  # the done one left the list
    assert window.docks["Images"].windowTitle() == "Images (2 of 5)"

    app.navigation.open_folder(folder)  # another folder (here the same again): no filter
    qtbot.waitUntil(lambda: window.image_list.count() == 5, timeout=10000)
    assert bar.text.text() == "" and bar.status.currentData() == "all" and not state.image_filter.active

"""After a crash the app says so and restores the newest saved state."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.model.io.sidecar import SidecarPaths

REPO = Path(__file__).resolve().parents[2]

# A session that labels one image, saves it with the app's save code, and then hangs.
SESSION = """
import sys, time
from pathlib import Path
import numpy as np
from app.model import Annotation, Mask
from app.model.io.sidecar import read_sidecar
from app.model.project import Project
from app.model.saving import ChangeTracker, write_snapshot
folder = Path(sys.argv[1])
project = Project(folder)
project.restore(read_sidecar(folder))
record = project.add_image(folder / "img_2.png", 120, 90)
tracker = ChangeTracker(project)
crop = np.ones((10, 20), bool)
project.dataset.add_annotation(Annotation(1, record.id, 1, Mask.from_crop(crop, 5, 6, record.shape)))
project.set_setting("last_image", "img_2.png")
assert write_snapshot(tracker.take()).ok
print("saved", flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_after_kill_9_the_app_says_so_and_restores_the_saved_state(qtbot, make_app, image_folder):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with subprocess.Popen([sys.executable, "-c", SESSION, str(image_folder)], stdout=subprocess.PIPE, text=True,
                          cwd=REPO, env=env) as proc:
        assert proc.stdout.readline().strip() == "saved"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert SidecarPaths(image_folder).session_file.exists()
    app = make_app(image_folder)
    lab, window = app, app.window
    qtbot.waitUntil(lambda: lab.state.image_id is not None and window.canvas.image_shape is not None, timeout=10000)
    assert "ended unexpectedly" in window.message_bar.text and "1 annotation(s) on 1 image(s)" in window.message_bar.text
    record = lab.state.project.dataset.images[lab.state.image_id]
    assert record.file_name == "img_2.png"  # its last image
    (annotation,) = lab.state.project.dataset.annotations(record.id)
    assert annotation.mask.bbox == (5, 6, 20, 10)
    assert window.annotations.tree.topLevelItemCount() == 1  # and the panel shows it
    # This session now owns the marker; a clean close removes it, so the next start is quiet.
    qtbot.waitUntil(lambda: str(os.getpid()) in SidecarPaths(image_folder).session_file.read_text(), timeout=2000)
    window.close()
    assert not SidecarPaths(image_folder).session_file.exists()
    again = make_app(image_folder)
    qtbot.waitUntil(lambda: again.state.image_id is not None, timeout=10000)
    assert "unexpectedly" not in again.window.message_bar.text

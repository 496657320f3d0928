"""The Candidates panel's thumbnails: the image dimmed, the candidate painted over it; the
image is shrunk once per size, not once per candidate."""
from __future__ import annotations

import numpy as np

from app.model.prompts import PromptSession
from app.ui.widgets.candidates_panel import CandidatesPanel


def test_thumbnails_show_the_dimmed_image_under_the_candidate_and_reuse_the_shrunk_image(qtbot):
    panel = CandidatesPanel(PromptSession())
    qtbot.addWidget(panel)
    image = np.zeros((3000, 4000, 3), dtype=np.uint8)
    image[:, 2000:] = 200  # right half bright
    panel.set_background(image)
    mask = np.zeros((72, 96), dtype=bool)
    mask[:, :20] = True
    thumb = panel._thumbnail(mask)
    assert thumb.shape == (72, 96, 3)
    assert thumb[36, 80].tolist() == [110, 110, 110]  # 0.55 of the bright half
    assert thumb[36, 30].tolist() == [0, 0, 0]  # the dark half, outside the candidate
    assert thumb[36, 5].tolist() == [178, 147, 28]  # the candidate's yellow over the dark half
    assert panel._base(72, 96) is panel._base(72, 96)
    panel.set_background(np.full((3000, 4000, 3), 100, dtype=np.uint8))  # another image
    assert panel._thumbnail(mask)[36, 80].tolist() == [55, 55, 55]

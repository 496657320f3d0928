"""SAM's candidates for the current prompt: thumbnails ranked by predicted IoU.

Button k (key k) is the candidate ranked k-th by predicted IoU. A single button
means SAM's single-mask output (more than one prompt is no longer ambiguous).
"""
from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QLabel, QToolButton, QVBoxLayout, QWidget

from app.model.prompts import PromptSession
from app.ui.widgets.qimage import rgb_pixmap

THUMB = 96


class CandidatesPanel(QWidget):
    rank_clicked = Signal(int)

    def __init__(self, session: PromptSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.background: np.ndarray | None = None  # RGB copy of the image (the display copy)
        self._bases: dict[tuple[int, int], np.ndarray] = {}  # (w, h) -> the shrunk, dimmed background
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.buttons: list[QToolButton] = []
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        for rank in range(3):
            button = QToolButton()
            button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
            button.setIconSize(QSize(THUMB, THUMB))
            button.setCheckable(True)
            button.setFocusPolicy(Qt.NoFocus)
            button.clicked.connect(lambda _=False, r=rank: self.rank_clicked.emit(r))
            layout.addWidget(button)
            self.buttons.append(button)
        layout.addStretch(1)
        session.events.candidates_changed.connect(self._refresh)
        session.events.selection_changed.connect(self._refresh)
        self._refresh()

    def set_background(self, rgb: np.ndarray | None) -> None:
        self.background = rgb
        self._bases.clear()

    def _refresh(self, _event=None) -> None:
        candidates = self.session.candidates
        count = 0 if candidates is None else len(candidates)
        if count == 0:
            self.header.setText("No candidates yet: click the object (right click = background), or drag a box.")
        elif count == 1:
            self.header.setText("1 candidate: SAM gives a single mask once the prompt has more than one point or box.")
        else:
            self.header.setText(f"{count} candidates, best predicted IoU first. Keys 1-{count} pick, Tab cycles.")
        order = candidates.order if candidates is not None else []
        for rank, button in enumerate(self.buttons):
            if rank >= count:
                button.hide()
                continue
            index = order[rank]
            iou = float(candidates.iou_predictions[index])
            stability = float(candidates.stability_scores[index])
            scores = "manual box" if np.isnan(iou) else f"IoU {iou:.3f}\nstability {stability:.3f}"
            button.setText(f"{rank + 1}  {scores}")
            button.setIcon(QIcon(rgb_pixmap(self._thumbnail(candidates.thumbnail(index, THUMB)))))
            button.setChecked(index == self.session.selected)
            button.show()

    def _thumbnail(self, mask: np.ndarray) -> np.ndarray:
        base = self._base(*mask.shape).copy()
        base[mask] = base[mask] * 0.3 + np.array([255, 210, 40], np.float32) * 0.7
        return base.astype(np.uint8)

    def _base(self, h: int, w: int) -> np.ndarray:
        """The background shrunk to h x w (float32 RGB, dimmed), made once per image and size:
        shrinking a 4000x3000 image for every candidate took about 0.1 s each time."""
        base = self._bases.get((w, h))
        if base is None:
            if self.background is None:
                base = np.full((h, w, 3), 30, np.float32)
            else:
                step = max(1, min(self.background.shape[0] // (4 * h), self.background.shape[1] // (4 * w)))
                small = np.ascontiguousarray(self.background[::step, ::step])  # area-averaging 4x the pixels is plenty
                base = cv2.resize(small, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) * 0.55
            self._bases[(w, h)] = base
        return base

"""SAM's candidates for the current prompt: a compact strip of three thumbnails in one row,
each with its predicted IoU and stability score, best predicted IoU first.

Button k (key k) is the candidate ranked k-th by predicted IoU. A single button
means SAM's single-mask output (more than one prompt is no longer ambiguous).
The strip's size never changes with what it shows, so the panels below it stay
put; it can sit in its dock or float over the canvas (:meth:`float_over`).
"""
from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from app.model.prompts import PromptSession
from app.ui.widgets.qimage import rgb_pixmap

THUMB = 52
MARGIN = 8  # from the canvas's corner, when floating


class CandidatesPanel(QFrame):
    rank_clicked = Signal(int)

    def __init__(self, session: PromptSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.background: np.ndarray | None = None  # RGB copy of the image (the display copy)
        self._bases: dict[tuple[int, int], np.ndarray] = {}  # (w, h) -> the shrunk, dimmed background
        self.header = QLabel()
        self.header.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)  # long text never widens the column
        self.buttons: list[QToolButton] = []
        row = QHBoxLayout()
        row.setSpacing(2)
        small = self.font()
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.85))
        for rank in range(3):
            button = QToolButton()
            button.setFont(small)
            button.setToolButtonStyle(Qt.ToolButtonTextUnderIcon)
            button.setIconSize(QSize(THUMB, THUMB))
            button.setCheckable(True)
            button.setFocusPolicy(Qt.NoFocus)
            button.setAutoRaise(True)
            button.clicked.connect(lambda _=False, r=rank: self.rank_clicked.emit(r))
            row.addWidget(button)
            self.buttons.append(button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(1)
        layout.addWidget(self.header)
        layout.addLayout(row)
        self.setAutoFillBackground(True)
        self._fix_size()
        session.events.candidates_changed.connect(self._refresh)
        session.events.selection_changed.connect(self._refresh)
        self._refresh()

    def _fix_size(self) -> None:
        """The size of three scored candidates, whatever is shown now: nothing around moves."""
        for button in self.buttons:
            button.setText("IoU .000\nstab .000")
            button.setIcon(QIcon(rgb_pixmap(np.zeros((THUMB, THUMB, 3), np.uint8))))
        width = max(b.sizeHint().width() for b in self.buttons)
        for button in self.buttons:
            button.setFixedWidth(width)
        self.header.setText("Xg")
        self.setFixedHeight(self.sizeHint().height())
        self.setMinimumWidth(self.sizeHint().width())
        self._blank = QIcon(rgb_pixmap(np.full((THUMB, THUMB, 3), 60, np.uint8)))

    def set_background(self, rgb: np.ndarray | None) -> None:
        self.background = rgb
        self._bases.clear()

    def float_over(self, canvas: QWidget | None) -> None:
        """Show the strip in ``canvas``'s top-left corner (None: back to whoever takes it next)."""
        if canvas is None:
            return
        self.setParent(canvas)
        self.adjustSize()
        self.move(MARGIN, MARGIN)
        self.show()
        self.raise_()

    def _refresh(self, _event=None) -> None:
        candidates = self.session.candidates
        count = 0 if candidates is None else len(candidates)
        if count == 0:
            self.header.setText("No candidates: click or drag a box")
            self.header.setToolTip("Click the object (right click or Alt+click: background), or drag a box")
        elif count == 1:
            self.header.setText("1 candidate (more than one prompt)")
            self.header.setToolTip("SAM gives a single mask once the prompt has more than one point or box")
        else:
            self.header.setText(f"{count} candidates · keys 1-{count}, Tab")
            self.header.setToolTip("Best predicted IoU first: keys 1-3 pick one, Tab cycles")
        order = candidates.order if candidates is not None else []
        for rank, button in enumerate(self.buttons):
            button.setEnabled(rank < count)  # an empty slot keeps its place
            if rank >= count:
                button.setText(f"{rank + 1}\n")
                button.setIcon(self._blank)
                button.setToolTip("")
                button.setChecked(False)
                continue
            index = order[rank]
            iou = float(candidates.iou_predictions[index])
            stability = float(candidates.stability_scores[index])
            if np.isnan(iou):
                button.setText("box\nas drawn")
                button.setToolTip(f"{rank + 1}: the dragged box as a rectangle (no SAM checkpoint)")
            else:
                button.setText(f"IoU {_score(iou)}\nstab {_score(stability)}")
                button.setToolTip(f"Key {rank + 1}: predicted IoU {iou:.3f}, stability score {stability:.3f}")
            button.setIcon(QIcon(rgb_pixmap(self._thumbnail(candidates.thumbnail(index, THUMB)))))
            button.setChecked(index == self.session.selected)

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


def _score(value: float) -> str:
    """".962" (three digits in little room; "1.00" and "-.104" keep their sign and unit)."""
    text = f"{value:.3f}"
    return text[1:] if text.startswith("0.") else text.replace("-0.", "-.")

"""The Automatic panel: run "segment everything", follow its progress, review its masks.

The list shows the current image's automatic masks still to review (predicted
IoU, area); choosing one selects the annotation, to edit it with the brush or
delete it. Buttons are the window's actions; the panel holds no document state
and is refilled from :meth:`app.workflow.prelabeling.Prelabeler.to_review`.
"""
from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from app.model import Annotation
from app.ui.widgets.tool_options import action_button

ID_ROLE = Qt.UserRole
BUTTONS = ("auto.image", "auto.folder", "auto.cancel", "auto.next", "auto.accept_all", "auto.reject_all",
           "label.delete")


class PrelabelReview(QWidget):
    selected = Signal(int)  # annotation id

    def __init__(self, actions: Mapping[str, QAction], parent=None) -> None:
        super().__init__(parent)
        self.progress_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.hide()
        self.header = QLabel("No automatic masks to review on this image.")
        self.header.setWordWrap(True)
        self.list = QListWidget()
        self.list.setFocusPolicy(Qt.NoFocus)
        grid = QGridLayout()
        for n, action_id in enumerate(BUTTONS):
            grid.addWidget(action_button(actions[action_id], Qt.ToolButtonIconOnly), n // 2, n % 2)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.header)
        layout.addWidget(self.list, 1)
        self._filling = False
        self.list.currentItemChanged.connect(self._on_current)

    def show_progress(self, text: str, done: int, total: int) -> None:
        self.progress_label.setText(text)
        self.progress.setVisible(total > 0)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def show_masks(self, annotations: list[Annotation], selected: int | None) -> None:
        """The automatic masks to review, best predicted IoU first."""
        self._filling = True
        self.list.clear()
        count = len(annotations)
        self.header.setText(f"{count} automatic mask{'s' * (count != 1)} to review on this image."
                            if count else "No automatic masks to review on this image.")
        ranked = sorted(annotations, key=lambda a: -(a.provenance.predicted_iou or 0.0))
        for annotation in ranked:
            iou = annotation.provenance.predicted_iou
            item = QListWidgetItem(f"#{annotation.id}  IoU {iou:.3f}  ·  {annotation.area} px" if iou is not None
                                   else f"#{annotation.id}  {annotation.area} px")
            item.setData(ID_ROLE, annotation.id)
            self.list.addItem(item)
            if annotation.id == selected:
                self.list.setCurrentItem(item)
        self._filling = False

    def select(self, annotation_id: int) -> None:
        """Show ``annotation_id`` as the current row (none when it is not listed), without refilling."""
        row = next((i for i, a in enumerate(self.ids()) if a == annotation_id), -1)
        self._filling = True
        self.list.setCurrentRow(row)
        self._filling = False

    def ids(self) -> list[int]:
        return [self.list.item(i).data(ID_ROLE) for i in range(self.list.count())]

    def _on_current(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is not None and not self._filling:
            self.selected.emit(item.data(ID_ROLE))

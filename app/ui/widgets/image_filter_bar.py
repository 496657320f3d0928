"""The Images panel's filter: a text box, the status (all, todo, done) and annotations (any,
labelled, empty) to show.

It sends the filter it shows as an intent (``filter_requested``) and shows what it is
told (:meth:`show_filter`); it decides nothing. The count of images shown is in the
panel's title (the window sets it), where it costs the narrow column no width.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from app.model.image_filter import ANNOTATIONS, STATUSES, ImageFilter

STATUS_LABELS = {"all": "All", "todo": "Todo", "done": "Done"}
ANNOTATION_LABELS = {"any": "Any", "labelled": "Labelled", "empty": "Empty"}


class ImageFilterBar(QWidget):
    filter_requested = Signal(object)  # ImageFilter

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.text = QLineEdit()
        self.text.setPlaceholderText("Filter by name…  (Ctrl+F)")
        self.text.setClearButtonEnabled(True)
        self.text.setToolTip("Words that must all be in the image's name (case ignored)")
        self.text.textChanged.connect(self._send)
        self.status = self._choice(STATUSES, STATUS_LABELS, "Images marked done, or not (D and A follow the filter)")
        self.annotations = self._choice(ANNOTATIONS, ANNOTATION_LABELS,
                                        "Images with at least one annotation (labelled), or none (empty)")
        choices = QHBoxLayout()
        choices.setContentsMargins(0, 0, 0, 0)
        choices.addWidget(self.status, 1)
        choices.addWidget(self.annotations, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(2, 2, 2, 2)
        column.setSpacing(2)
        column.addWidget(self.text)
        column.addLayout(choices)

    def _choice(self, values: tuple[str, ...], labels: dict[str, str], tip: str) -> QComboBox:
        box = QComboBox(toolTip=tip, focusPolicy=Qt.NoFocus)  # the canvas keeps the keys
        for value in values:
            box.addItem(labels[value], value)
        box.currentIndexChanged.connect(self._send)
        return box

    def current(self) -> ImageFilter:
        return ImageFilter(self.text.text(), self.status.currentData(), self.annotations.currentData())

    def show_filter(self, image_filter: ImageFilter) -> None:
        """Show ``image_filter`` (e.g. after a folder opens: none) without sending it back."""
        widgets = (self.text, self.status, self.annotations)
        for widget in widgets:
            widget.blockSignals(True)
        if self.text.text() != image_filter.text:
            self.text.setText(image_filter.text)
        self.status.setCurrentIndex(self.status.findData(image_filter.status))
        self.annotations.setCurrentIndex(self.annotations.findData(image_filter.annotations))
        for widget in widgets:
            widget.blockSignals(False)

    def _send(self, *_args) -> None:
        self.filter_requested.emit(self.current())


def count_title(shown: int, total: int) -> str:
    """The Images panel's title: how many images there are, and how many the filter shows."""
    return f"Images ({total:,})" if shown == total else f"Images ({shown:,} of {total:,})"


__all__ = ["ImageFilterBar", "count_title"]

"""Annotations of the current image: category, colour, area, predicted IoU, source
(sam, auto, brush, box, import; "edited" once a brush or mask operation changed it), show/hide, delete."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHeaderView, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from app.model import Dataset
from app.model.events import follow
from app.ui.deferrable import Deferrable
from app.ui.widgets.qimage import swatch

ID_ROLE = Qt.UserRole


class AnnotationList(QWidget):
    selected = Signal(int)  # annotation id, -1 for none
    visibility_changed = Signal(int, bool)
    delete_requested = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["", "Category", "Area", "IoU", "Source"])  # column 0: the show/hide boxes
        self.tree.headerItem().setToolTip(0, "Show")
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QTreeWidget.SingleSelection)
        self.tree.setFocusPolicy(Qt.NoFocus)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setFocusPolicy(Qt.NoFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        layout.addWidget(self.delete_button)
        self.dataset: Dataset | None = None
        self.image_id: int | None = None
        self.hidden: set[int] = set()
        self._filling = False
        self.refresh_soon = Deferrable(self.refresh)  # held during a command: one refill, not one per event
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.itemSelectionChanged.connect(self._on_selection)
        self.delete_button.clicked.connect(self._on_delete)

    def set_dataset(self, dataset: Dataset | None) -> None:
        self.dataset = follow(self.dataset, dataset, self._on_event)
        self.refresh()

    def show_image(self, image_id: int | None, hidden: set[int]) -> None:
        self.image_id, self.hidden = image_id, hidden
        self.refresh()

    def _on_event(self, event) -> None:
        if event.type.startswith("annotation_") and event.value.image_id == self.image_id:
            self.refresh_soon()
        elif event.type.startswith("category_"):
            self.refresh_soon()

    def refresh(self) -> None:
        self._filling = True
        current = self.current_id()
        self.tree.clear()
        if self.dataset is not None and self.image_id in self.dataset.images:
            for annotation in self.dataset.annotations(self.image_id):
                category = self.dataset.categories[annotation.category_id]
                iou = annotation.provenance.predicted_iou
                source = annotation.provenance.source + (", edited" if annotation.provenance.edited else "")
                if annotation.waits_for_sam:
                    source = "box, waiting for SAM (Ctrl+B)"
                item = QTreeWidgetItem(["", category.name, str(annotation.area), "—" if iou is None else f"{iou:.3f}",
                                        source])
                item.setData(0, ID_ROLE, annotation.id)
                item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
                item.setCheckState(0, Qt.Unchecked if annotation.id in self.hidden else Qt.Checked)
                item.setIcon(1, swatch(category.color))
                self.tree.addTopLevelItem(item)
                if annotation.id == current:
                    item.setSelected(True)
        self._filling = False

    def current_id(self) -> int | None:
        items = self.tree.selectedItems()
        return items[0].data(0, ID_ROLE) if items else None

    def select(self, annotation_id: int | None) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setSelected(item.data(0, ID_ROLE) == annotation_id)

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if not self._filling and column == 0:
            self.visibility_changed.emit(item.data(0, ID_ROLE), item.checkState(0) == Qt.Checked)

    def _on_selection(self) -> None:
        if not self._filling:
            current = self.current_id()
            self.selected.emit(-1 if current is None else current)

    def _on_delete(self) -> None:
        current = self.current_id()
        if current is not None:
            self.delete_requested.emit(current)

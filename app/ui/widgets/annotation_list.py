"""Annotations of the current image: category, colour, area, predicted IoU, source
(sam, auto, brush, box, polygon, import; "edited" once a brush or mask operation changed it), show/hide,
delete. A double-click on a row asks to zoom to that annotation (rows have no editor: a
double-click never starts one).

The list follows the document row by row: an added, removed or changed annotation
inserts, takes out or rewrites its own row (at its drawing-order position), so a
change costs the same with 20 annotations or 20,000. The rows of the image shown before
are kept (and kept up to date), so going back and forth fills nothing; rows are filled
from scratch only for an image not kept, or when one command changed most of them.
"""
from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHeaderView, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from app.model import Annotation, Dataset
from app.model.events import follow
from app.ui.deferrable import Deferrable
from app.ui.widgets.qimage import swatch

ID_ROLE = Qt.UserRole
REFILL_OVER = 0.5  # a command that touches more than this share of the rows refills the list
KEPT_IMAGES = 1  # images whose rows are kept besides the one shown


class AnnotationList(QWidget):
    selected = Signal(int)  # annotation id, -1 for none
    visibility_changed = Signal(int, bool)
    delete_requested = Signal(int)
    zoom_requested = Signal(int)  # annotation id: a double-click on its row

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["", "Category", "Area", "IoU", "Source"])  # column 0: the show/hide boxes
        self.tree.headerItem().setToolTip(0, "Show")
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QTreeWidget.SingleSelection)
        self.tree.setEditTriggers(QTreeWidget.NoEditTriggers)  # a double-click zooms
        self.tree.setFocusPolicy(Qt.NoFocus)
        self.tree.setUniformRowHeights(True)  # Qt then never measures every row
        header = self.tree.header()
        header.setStretchLastSection(False)
        # Fixed widths, never ResizeToContents: that measures every row on every change, which
        # with 2,000 rows made one insert or removal cost tens of milliseconds.
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        digit = self.tree.fontMetrics().horizontalAdvance("0")
        for column, chars in ((0, 5), (2, 8), (3, 6), (4, 12)):
            header.resizeSection(column, chars * digit + 24)
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
        self._items: dict[int, QTreeWidgetItem] = {}  # annotation id -> its row
        self._wanted: int | None = None  # the selected annotation, even before its row exists
        self._pending: dict[int, None] = {}  # annotation ids whose rows are out of date (ordered set)
        # image id -> (its rows in order, id -> row, ids out of date) for images shown before
        self._kept: OrderedDict[int, tuple[list[QTreeWidgetItem], dict[int, QTreeWidgetItem], dict[int, None]]] = \
            OrderedDict()
        self.refresh_soon = Deferrable(self._apply_pending)  # held during a command: rows patched once
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.itemSelectionChanged.connect(self._on_selection)
        self.tree.itemDoubleClicked.connect(lambda item, _column: self.zoom_requested.emit(item.data(0, ID_ROLE)))
        self.delete_button.clicked.connect(self._on_delete)

    def set_dataset(self, dataset: Dataset | None) -> None:
        self.dataset = follow(self.dataset, dataset, self._on_event)
        self._kept.clear()
        self.refresh()

    def show_image(self, image_id: int | None, hidden: set[int]) -> None:
        """Show ``image_id``'s annotations (``hidden``: the state's set of hidden ids, read live)."""
        self.hidden = hidden
        if image_id == self.image_id:
            self.refresh()
            return
        self._apply_pending()
        self._filling = True
        if self._has_image() and self._items:
            self._kept[self.image_id] = (self.tree.invisibleRootItem().takeChildren(), self._items, {})
            while len(self._kept) > KEPT_IMAGES:
                self._kept.popitem(last=False)
        self._filling = False
        self.image_id, self._items = image_id, {}
        kept = self._kept.pop(image_id, None)
        if kept is None or not self._has_image():
            self.refresh()
            return
        rows, self._items, self._pending = kept
        self._filling = True
        self.tree.clear()
        self.tree.addTopLevelItems(rows)
        self.tree.clearSelection()
        self._show_wanted()
        self._filling = False
        self.refresh_soon()  # what changed while it was not shown

    def _on_event(self, event) -> None:
        if event.type == "image_removed":
            self._kept.pop(event.value.id, None)
        elif event.type.startswith("annotation_") and event.value.image_id in self._kept:
            self._kept[event.value.image_id][2][event.value.id] = None
        elif event.type.startswith("category_"):
            self._kept.clear()  # rare: those images are filled again when shown
        if event.type.startswith("annotation_") and event.value.image_id == self.image_id:
            self._pending[event.value.id] = None
        elif event.type.startswith("category_"):
            category_id = event.value.id
            self._pending.update((i, None) for i, item in self._items.items() if item.data(1, ID_ROLE) == category_id)
        else:
            return
        self.refresh_soon()

    # -- filling --------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Fill the rows from scratch (another image, another document)."""
        self._pending.clear()
        self._filling = True
        self.tree.clear()
        self._items.clear()
        if self._has_image():
            items = [self._make_item(a) for a in self.dataset.annotations(self.image_id)]
            self.tree.addTopLevelItems(items)
            self._show_wanted()
        self._filling = False

    def _apply_pending(self) -> None:
        """Patch the rows of the annotations that changed since the last patch."""
        pending, self._pending = list(self._pending), {}
        if not pending:
            return
        if not self._has_image() or len(pending) > REFILL_OVER * max(len(self._items), 1) + 8:
            self.refresh()
            return
        self._filling = True
        dataset, shown = self.dataset, []
        for annotation_id in pending:
            annotation = _find(dataset, annotation_id)
            if annotation is None or annotation.image_id != self.image_id:
                item = self._items.pop(annotation_id, None)
                if item is not None:
                    self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))
            elif annotation_id in self._items:
                self._fill_item(self._items[annotation_id], annotation)
            else:
                shown.append(annotation)
        # Bottom first: every row above one is in place when it is inserted at its position.
        for annotation in sorted(shown, key=lambda a: dataset.order_key(a.id)):
            self.tree.insertTopLevelItem(dataset.annotation_index(annotation.id), self._make_item(annotation))
        self._show_wanted()
        self._filling = False

    def _show_wanted(self) -> None:
        item = self._items.get(self._wanted)
        if item is not None and not item.isSelected():
            item.setSelected(True)

    def _has_image(self) -> bool:
        return self.dataset is not None and self.image_id in self.dataset.images

    def _make_item(self, annotation: Annotation) -> QTreeWidgetItem:
        item = QTreeWidgetItem()
        item.setData(0, ID_ROLE, annotation.id)
        item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
        self._fill_item(item, annotation)
        self._items[annotation.id] = item
        return item

    def _fill_item(self, item: QTreeWidgetItem, annotation: Annotation) -> None:
        category = self.dataset.categories[annotation.category_id]
        iou = annotation.provenance.predicted_iou
        source = annotation.provenance.source + (", edited" if annotation.provenance.edited else "")
        if annotation.waits_for_sam:
            source = "box, waiting for SAM (Ctrl+B)"
        for column, text in enumerate(("", category.name, str(annotation.area),
                                       "—" if iou is None else f"{iou:.3f}", source)):
            item.setText(column, text)
        item.setData(1, ID_ROLE, category.id)
        item.setCheckState(0, Qt.Unchecked if annotation.id in self.hidden else Qt.Checked)
        item.setIcon(1, swatch(category.color))

    # -- selection and intents ------------------------------------------------------------------------
    def current_id(self) -> int | None:
        """The annotation whose row is selected, or None."""
        items = self.tree.selectedItems()
        return items[0].data(0, ID_ROLE) if items else None

    def select(self, annotation_id: int | None) -> None:
        self._wanted = annotation_id
        current = self.current_id()
        if current == annotation_id:
            return
        if current in self._items:
            self._items[current].setSelected(False)
        if annotation_id in self._items:
            self._items[annotation_id].setSelected(True)

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


def _find(dataset: Dataset, annotation_id: int) -> Annotation | None:
    try:
        return dataset.annotation(annotation_id)
    except KeyError:
        return None

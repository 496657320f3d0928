"""Categories: pick the current one, create, rename (double click) and recolour."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.model import Dataset
from app.model.events import follow
from app.ui.widgets.qimage import swatch

ID_ROLE = Qt.UserRole


class CategoryPicker(QWidget):
    current_changed = Signal(int)
    create_requested = Signal()
    rename_requested = Signal(int, str)
    recolor_requested = Signal(int, tuple)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setFocusPolicy(Qt.ClickFocus)  # focus only while renaming
        self.list.setEditTriggers(QListWidget.DoubleClicked | QListWidget.EditKeyPressed)
        new, color = QPushButton("New"), QPushButton("Colour…")
        for button in (new, color):
            button.setFocusPolicy(Qt.NoFocus)
        buttons = QHBoxLayout()
        buttons.addWidget(new)
        buttons.addWidget(color)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self.dataset: Dataset | None = None
        self._filling = False
        self._current: int | None = None
        self._keys: list[str] = [f"Ctrl+{n}" for n in range(1, 10)]  # the keys of categories 1..9
        new.clicked.connect(self.create_requested)
        color.clicked.connect(self._ask_color)
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemChanged.connect(self._on_renamed)

    def set_dataset(self, dataset: Dataset | None) -> None:
        self.dataset = follow(self.dataset, dataset, self._on_event)
        self.refresh()

    def _on_event(self, event) -> None:
        if event.type.startswith("category_"):
            self.refresh()

    def refresh(self) -> None:
        self._filling = True
        self.list.clear()
        if self.dataset is not None:
            for number, category in enumerate(self.dataset.categories.values(), start=1):
                item = QListWidgetItem(swatch(category.color), category.name)
                item.setData(ID_ROLE, category.id)
                item.setFlags(item.flags() | Qt.ItemIsEditable)
                if number <= len(self._keys) and self._keys[number - 1]:
                    item.setToolTip(f"{self._keys[number - 1]}: make current")
                self.list.addItem(item)
                if category.id == self._current:
                    self.list.setCurrentItem(item)
        self._filling = False

    def set_keys(self, keys: list[str]) -> None:
        """The keys bound to "category 1" … "category 9" now (shown as tooltips)."""
        self._keys = list(keys)
        self.refresh()

    def set_current(self, category_id: int) -> None:
        self._current = category_id
        for i in range(self.list.count()):
            if self.list.item(i).data(ID_ROLE) == category_id:
                self._filling = True
                self.list.setCurrentRow(i)
                self._filling = False

    def _on_current(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is not None and not self._filling:
            self.current_changed.emit(item.data(ID_ROLE))

    def _on_renamed(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        category_id, text = item.data(ID_ROLE), item.text()
        self.rename_requested.emit(category_id, text)  # an accepted rename refreshes the list (event)
        category = self.dataset.categories.get(category_id) if self.dataset is not None else None
        if category is not None and category.name != text:
            self.refresh()  # rejected (empty) or trimmed: show the name the category kept

    def _ask_color(self) -> None:
        if self.dataset is None or self._current not in self.dataset.categories:
            return
        color = QColorDialog.getColor(QColor(*self.dataset.categories[self._current].color), self, "Category colour")
        if color.isValid():
            self.recolor_requested.emit(self._current, (color.red(), color.green(), color.blue()))

"""The folder's images (subfolders' too, by relative path): thumbnail, name, annotation count, done/todo."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from app.model.names import display_name
from app.model.project import Project
from app.ui.widgets.qimage import rgb_pixmap

ID_ROLE = Qt.UserRole


class ImageList(QListWidget):
    image_requested = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setIconSize(QSize(48, 48))
        self.setFocusPolicy(Qt.NoFocus)
        self.setUniformItemSizes(True)
        self.setTextElideMode(Qt.ElideLeft)  # a long path in subfolders keeps its file name in sight
        self.project: Project | None = None
        self._items: dict[int, QListWidgetItem] = {}
        self.itemClicked.connect(lambda item: self.image_requested.emit(item.data(ID_ROLE)))

    def set_project(self, project: Project | None) -> None:
        if self.project is not None:
            self.project.dataset.events.disconnect(self._on_dataset)
            self.project.events.done_changed.disconnect(self._on_done)
        self.clear()
        self._items.clear()
        self.project = project
        if project is None:
            return
        project.dataset.events.connect(self._on_dataset)
        project.events.done_changed.connect(self._on_done)
        for image_id in project.image_ids():
            self._add(image_id)

    def _add(self, image_id: int) -> None:
        item = QListWidgetItem()
        item.setData(ID_ROLE, image_id)
        thumbnail = self.project.thumbnail(image_id)
        if thumbnail is not None:
            item.setIcon(QIcon(rgb_pixmap(thumbnail)))
        self._items[image_id] = item
        self.addItem(item)
        self._update(image_id)

    def _update(self, image_id: int) -> None:
        item = self._items.get(image_id)
        if item is None:
            return
        record = self.project.dataset.images[image_id]
        count = self.project.dataset.annotation_count_of(image_id)  # no list of thousands per change
        status = "✓ done" if self.project.is_done(image_id) else "todo"
        name = display_name(record.file_name)  # Qt would drop bytes that are not UTF-8
        item.setToolTip(name)
        if image_id in self.project.missing:
            status += " · file missing"
            item.setToolTip(f"{name} is no longer in the folder; its annotations are kept "
                            "until Image > Forget missing images")
        elif image_id in self.project.image_warnings:
            status += " · ⚠ warning"
            item.setToolTip(f"{name}: " + "; ".join(self.project.image_warnings[image_id]))
        item.setText(f"{name}\n{count} annotation{'s' * (count != 1)} · {status}")

    def _on_dataset(self, event) -> None:
        if event.type == "image_added":
            self._add(event.value.id)
        elif event.type == "image_removed":
            item = self._items.pop(event.value.id, None)
            if item is not None:
                self.takeItem(self.row(item))
        elif event.type.startswith("annotation_"):
            self._update(event.value.image_id)

    def _on_done(self, event) -> None:
        self._update(event.value)

    def set_current(self, image_id: int | None) -> None:
        item = self._items.get(image_id)
        if item is not None:
            self.setCurrentItem(item)
            self.scrollToItem(item)

    def text_of(self, image_id: int) -> str:
        return self._items[image_id].text()

"""The folder's images (subfolders' too, by relative path): thumbnail, name, annotation count,
and ✓ for the ones marked done (short enough for the narrow column; the tooltip says todo or done).

A list view over a model that holds only image ids: each row's text, tooltip and icon
are made when the view asks for them, that is for the rows on screen, so a folder of
10,000 images costs a list of ints. Images that arrive in a burst (a listing batch,
a restore) are added in one insertion after the burst. With a filter
(:class:`~app.model.image_filter.ImageFilter`) the rows are the images it passes, plus
the current image; a change that may change which pass is applied once per burst too.
"""
from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QListView

from app.model.image_filter import ImageFilter
from app.model.names import display_name
from app.model.project import Project
from app.ui.widgets.qimage import rgb_pixmap

ID_ROLE = Qt.UserRole
ICONS_KEPT = 2048  # thumbnails as QIcons (the rest are made again when scrolled to)
ARRIVAL_MS = 200  # images arriving meanwhile are added in one insertion: each makes the view lay out every row


class ImageListModel(QAbstractListModel):
    """Rows: image ids of the project in folder order (those the filter passes)."""

    counts_changed = Signal()  # rows or images were added or removed

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.filter = ImageFilter()
        self.current: int | None = None
        self._ids: list[int] = []
        self._rows: dict[int, int] = {}
        self._icons: dict[int, QIcon] = {}
        self._arrived: list[int] = []  # added since the last flush
        self._flush = QTimer(self, singleShot=True)
        self._flush.timeout.connect(self.flush)
        self._refilter_pending = False
        self._dirty: set[int] = set()  # images whose rows changed since the last flush

    # -- Qt's model interface --------------------------------------------------------------------
    def rowCount(self, parent=None) -> int:  # noqa: N802 (Qt's name; the view asks it very often)
        return len(self._ids) if parent is None or not parent.isValid() else 0

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid() or self.project is None or not 0 <= index.row() < len(self._ids):
            return None
        image_id = self._ids[index.row()]
        if image_id not in self.project.dataset.images:
            return None
        if role == Qt.DisplayRole:
            return self.text_of(image_id)
        if role == Qt.ToolTipRole:
            return self._tooltip(image_id)
        if role == Qt.DecorationRole:
            return self._icon(image_id)
        if role == ID_ROLE:
            return image_id
        return None

    # -- contents --------------------------------------------------------------------------------
    def text_of(self, image_id: int) -> str:
        project = self.project
        record = project.dataset.images[image_id]
        count = project.dataset.annotation_count_of(image_id)  # no list of thousands per change
        line = f"{'✓ ' * project.is_done(image_id)}{count} annotation{'s' * (count != 1)}"  # ✓: done
        if image_id in project.missing:
            line += " · file missing"
        elif image_id in project.image_warnings:
            line += " · ⚠ warning"
        name = display_name(record.file_name)  # Qt would drop bytes that are not UTF-8
        return f"{name}\n{line}"

    def _tooltip(self, image_id: int) -> str:
        project = self.project
        record = project.dataset.images[image_id]
        name = display_name(record.file_name)
        if image_id in project.missing:
            return (f"{name} is no longer in the folder or cannot be read; its annotations are kept "
                    "until Image > Forget missing images")
        if image_id in project.image_warnings:
            return f"{name}: " + "; ".join(project.image_warnings[image_id])
        status = "done" if project.is_done(image_id) else "todo"
        return f"{name} · {record.width}x{record.height} · {status}"

    def _icon(self, image_id: int) -> QIcon | None:
        icon = self._icons.get(image_id)
        if icon is None:
            thumbnail = self.project.thumbnail(image_id)
            if thumbnail is None:
                return None
            if len(self._icons) >= ICONS_KEPT:
                self._icons.pop(next(iter(self._icons)))
            icon = self._icons[image_id] = QIcon(rgb_pixmap(thumbnail))
        return icon

    def row_of(self, image_id: int | None) -> int | None:
        return self._rows.get(image_id)

    def image_id_at(self, row: int) -> int:
        return self._ids[row]

    # -- following the project -------------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        if self.project is not None:
            self.project.dataset.events.disconnect(self._on_dataset)
            self.project.events.done_changed.disconnect(self._on_done)
            self.project.events.thumbnail_changed.disconnect(self._on_thumbnail)
        self.project, self.current = project, None
        self._icons.clear()
        self._arrived.clear()
        if project is not None:
            project.dataset.events.connect(self._on_dataset)
            project.events.done_changed.connect(self._on_done)
            project.events.thumbnail_changed.connect(self._on_thumbnail)
        self._reset()

    def set_filter(self, image_filter: ImageFilter) -> None:
        if image_filter != self.filter:
            self.filter = image_filter
            self._reset()

    def set_current(self, image_id: int | None) -> None:
        """The current image is always a row, whatever the filter says."""
        previous, self.current = self.current, image_id
        if self.filter.active and previous != image_id:
            self._reset()

    def _reset(self) -> None:
        self._flush.stop()
        self._arrived.clear()
        self._refilter_pending = False
        self._dirty.clear()
        self.beginResetModel()
        self._ids = [] if self.project is None else self.filter.image_ids(self.project, keep=self.current)
        self._rows = {image_id: row for row, image_id in enumerate(self._ids)}
        self.endResetModel()
        self.counts_changed.emit()

    def flush(self) -> None:
        """Apply what arrived or changed since the last flush (the timer calls this after a burst)."""
        self._redraw_dirty()
        if self._refilter_pending:
            self._reset()
            return
        if not self._arrived or self.project is None:
            return
        arrived = [i for i in self._arrived if i not in self._rows and i in self.project.dataset.images]
        self._arrived.clear()
        if self.filter.active:
            arrived = [i for i in arrived if i == self.current or self.filter.accepts(self.project, i)]
        if not arrived:
            self.counts_changed.emit()
            return
        start = len(self._ids)
        self.beginInsertRows(QModelIndex(), start, start + len(arrived) - 1)
        for offset, image_id in enumerate(arrived):
            self._ids.append(image_id)
            self._rows[image_id] = start + offset
        self.endInsertRows()
        self.counts_changed.emit()

    def _on_dataset(self, event) -> None:
        kind = event.type
        if kind == "image_added":
            self._arrived.append(event.value.id)
            if not self._flush.isActive():  # the first rows at once, then a burst's in a few insertions
                self._flush.start(0 if not self._ids else ARRIVAL_MS)
        elif kind == "image_removed":
            self._icons.pop(event.value.id, None)
            row = self._rows.get(event.value.id)
            if row is not None:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._ids[row]
                self._rows = {image_id: r for r, image_id in enumerate(self._ids)}
                self.endRemoveRows()
            self.counts_changed.emit()
        elif kind == "image_changed":
            self._changed(event.value.id)
        elif kind.startswith("annotation_"):
            self._edited(event.value.image_id)

    def _on_done(self, event) -> None:
        self._edited(event.value)

    def _edited(self, image_id: int) -> None:
        """An image's count or status changed: its row says so, and a filter may now hide it."""
        self._changed(image_id)
        if self.filter.follows_edits:
            self._refilter_pending = True
            self._flush.start(0)

    def _on_thumbnail(self, event) -> None:
        self._icons.pop(event.value, None)
        self._changed(event.value)

    def _changed(self, image_id: int) -> None:
        """The row of ``image_id`` is redrawn after the burst (one signal for a burst's rows: each
        signal costs the view a few hundred calls back into this model)."""
        if image_id in self._rows:
            self._dirty.add(image_id)
            if not self._flush.isActive():
                self._flush.start(0)

    def _redraw_dirty(self) -> None:
        rows = [self._rows[i] for i in self._dirty if i in self._rows]
        self._dirty.clear()
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)))


class ImageList(QListView):
    """The Images panel's list; ``image_requested`` (image id) when one is clicked."""

    image_requested = Signal(int)
    rows_changed = Signal(int, int)  # rows shown, images in the project

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setIconSize(QSize(48, 48))
        self.setFocusPolicy(Qt.NoFocus)
        self.setUniformItemSizes(True)  # the view lays out 10,000 rows without asking each its size
        self.setTextElideMode(Qt.ElideMiddle)  # a long path keeps its start and its file name's end in sight
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # the column is narrow: elide, never scroll
        self.setEditTriggers(QListView.NoEditTriggers)
        self.model_ = ImageListModel(self)
        self.setModel(self.model_)
        self.clicked.connect(lambda index: self.image_requested.emit(self.model_.image_id_at(index.row())))
        self.model_.counts_changed.connect(self._report_rows)

    @property
    def project(self) -> Project | None:
        return self.model_.project

    def set_project(self, project: Project | None) -> None:
        self.model_.set_project(project)

    def set_filter(self, image_filter: ImageFilter) -> None:
        self.model_.set_filter(image_filter)
        self.set_current(self.model_.current)

    def set_current(self, image_id: int | None) -> None:
        self.model_.set_current(image_id)
        row = self.model_.row_of(image_id)
        if row is not None:
            index = self.model_.index(row)
            self.setCurrentIndex(index)
            self.scrollTo(index)

    def count(self) -> int:
        """Rows shown (after the filter, and after the burst being added has been added)."""
        self.model_.flush()
        return self.model_.rowCount()

    def text_of(self, image_id: int) -> str:
        return self.model_.text_of(image_id)

    def _report_rows(self) -> None:
        project = self.model_.project
        self.rows_changed.emit(self.model_.rowCount(), 0 if project is None else len(project.dataset.images))


__all__ = ["ImageList", "ImageListModel"]

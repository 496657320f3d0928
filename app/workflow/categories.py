"""The current category, and creating, renaming and recolouring categories (undoable,
recorded on the current image's history: see :mod:`app.workflow.history`)."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.model import edits
from app.workflow.history import History
from app.model import Category, Dataset


class Categories(QObject):
    changed = Signal(int)  # the current category's id
    status = Signal(str)

    def __init__(self, history: History) -> None:
        super().__init__()
        self.history = history
        self.dataset: Dataset | None = None
        self._current: int | None = None

    def set_dataset(self, dataset: Dataset | None) -> None:
        self.dataset = dataset
        self._current = None
        self.current()

    def current(self) -> int | None:
        """The current category's id; falls back to the first when it went away (undo)."""
        if self.dataset is None or not self.dataset.categories:
            return None
        if self._current not in self.dataset.categories:
            self.select(next(iter(self.dataset.categories)))
        return self._current

    def select(self, category_id: int) -> None:
        if self.dataset is not None and category_id in self.dataset.categories:
            self._current = category_id
            self.changed.emit(category_id)

    def select_number(self, number: int) -> int | None:
        """Make the ``number``-th category (1-based, shortcut order) current; its id, or None."""
        ids = list(self.dataset.categories) if self.dataset is not None else []
        if not 1 <= number <= len(ids):
            self.status.emit(f"There is no category {number}")
            return None
        self.select(ids[number - 1])
        return ids[number - 1]

    def create(self, name: str | None = None) -> Category | None:
        if self.dataset is None:
            return None
        command = edits.new_category(self.dataset, name)
        self.history.push(command)
        self.select(command.category.id)
        return command.category

    def rename(self, category_id: int, name: str) -> None:
        """Rename (undoable); an empty or unchanged name changes nothing."""
        command = edits.rename_category(self.dataset, category_id, name)
        if command is not None:
            self.history.push(command)

    def recolor(self, category_id: int, color: tuple[int, int, int]) -> None:
        command = edits.recolor_category(self.dataset, category_id, color)
        if command is not None:
            self.history.push(command)

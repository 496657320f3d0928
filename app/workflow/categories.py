"""Categories: choosing the current one, and creating, renaming and recolouring them.

A plain controller on the UI thread. The current category is in the labelling
state; changes to categories are undoable commands, recorded on the current
image's history (see :mod:`app.model.history`).
"""
from __future__ import annotations

from app.model import Category, edits
from app.model.history import History
from app.model.labeling_state import LabelingState
from app.model.notices import Notices


class CategoryEditor:
    def __init__(self, state: LabelingState, history: History, notices: Notices) -> None:
        self.state, self.history, self.notices = state, history, notices

    def select(self, category_id: int) -> None:
        self.state.set_category(category_id)

    def select_number(self, number: int) -> int | None:
        """Make the ``number``-th category (1-based, shortcut order) current, and give it to
        the selected annotation (one undo step); its id, or None when there is none such."""
        dataset = self.state.dataset
        ids = list(dataset.categories) if dataset is not None else []
        if not 1 <= number <= len(ids):
            self.notices.status(f"There is no category {number}")
            return None
        category_id = ids[number - 1]
        self.state.set_category(category_id)
        if self.state.selected is not None:
            self.history.push(edits.assign_category(dataset, self.state.selected, category_id))
        return category_id

    def create(self, name: str | None = None) -> Category | None:
        dataset = self.state.dataset
        if dataset is None:
            return None
        command = edits.new_category(dataset, name)
        self.history.push(command)
        self.state.set_category(command.category.id)
        return command.category

    def rename(self, category_id: int, name: str) -> None:
        """Rename (undoable); an empty or unchanged name changes nothing."""
        if self.state.dataset is not None:
            self.history.push(edits.rename_category(self.state.dataset, category_id, name))

    def recolor(self, category_id: int, color: tuple[int, int, int]) -> None:
        if self.state.dataset is not None:
            self.history.push(edits.recolor_category(self.state.dataset, category_id, color))


__all__ = ["CategoryEditor"]

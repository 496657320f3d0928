"""Which images of the project the image list shows, and D/A moves through: a filter, without Qt.

The filter is a value: the words of a text box (each must be in the image's name, case
ignored), the image's status (all, todo, done) and whether it has annotations (any,
labelled: at least one, empty: none). The current image is always among the images
shown, so the list never loses the image being labelled while the filter would hide it.
"""
from __future__ import annotations

from dataclasses import dataclass

from app.model.names import display_name
from app.model.project import Project

STATUSES = ("all", "todo", "done")
ANNOTATIONS = ("any", "labelled", "empty")


@dataclass(frozen=True)
class ImageFilter:
    text: str = ""
    status: str = "all"  # one of STATUSES
    annotations: str = "any"  # one of ANNOTATIONS

    def __post_init__(self) -> None:
        if self.status not in STATUSES or self.annotations not in ANNOTATIONS:
            raise ValueError(f"not a filter: status {self.status!r}, annotations {self.annotations!r}")

    @property
    def active(self) -> bool:
        return bool(self.words) or self.status != "all" or self.annotations != "any"

    @property
    def follows_edits(self) -> bool:
        """Whether an edit (an annotation, a done mark) can change which images pass."""
        return self.status != "all" or self.annotations != "any"

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.text.lower().split())

    def accepts(self, project: Project, image_id: int) -> bool:
        """Whether ``image_id`` of ``project`` passes (it must be one of the project's images)."""
        if self.status != "all" and project.is_done(image_id) != (self.status == "done"):
            return False
        if self.annotations != "any":
            has = project.dataset.annotation_count_of(image_id) > 0
            if has != (self.annotations == "labelled"):
                return False
        words = self.words
        if words:
            name = display_name(project.dataset.images[image_id].file_name).lower()
            return all(word in name for word in words)
        return True

    def image_ids(self, project: Project, keep: int | None = None) -> list[int]:
        """The project's images that pass, in folder order, with ``keep`` (the current image) among them."""
        if not self.active:
            return project.image_ids()
        return [i for i in project.dataset.images if i == keep or self.accepts(project, i)]


__all__ = ["ANNOTATIONS", "STATUSES", "ImageFilter"]

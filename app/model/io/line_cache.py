"""The JSON lines of a project's annotations, kept between saves so a save encodes only
what changed.

Annotations are immutable: an edit makes a new object. So a line encoded for one
object stays right for as long as the image holds that very object, and saving an
image with 10,000 annotations after one accept encodes one line and joins the rest.
Only the writer thread uses a cache (autosave has one write in flight at a time).
"""
from __future__ import annotations

from collections.abc import Sequence

from app.model.annotation import Annotation, ImageRecord
from app.model.io.project_format import annotation_line, image_bytes


class LineCache:
    """Per image file name: annotation id -> (the annotation, its line)."""

    def __init__(self) -> None:
        self._images: dict[str, dict[int, tuple[Annotation, str]]] = {}
        self.encoded = 0  # lines encoded since the cache was made (what saves cost)

    def image_bytes(self, image: ImageRecord, done: bool, annotations: Sequence[Annotation]) -> bytes:
        """The image file's bytes, encoding only annotations not seen in this image's last save."""
        old = self._images.get(image.file_name, {})
        new: dict[int, tuple[Annotation, str]] = {}
        lines = []
        for annotation in annotations:
            cached = old.get(annotation.id)
            if cached is None or cached[0] is not annotation:
                cached = (annotation, annotation_line(annotation))
                self.encoded += 1
            new[annotation.id] = cached
            lines.append(cached[1])
        self._images[image.file_name] = new  # only what the image has now: deleted ones are dropped
        return image_bytes(image, done, lines)

    def forget(self, file_name: str) -> None:
        """Drop an image's lines (its file failed to write, or it left the project)."""
        self._images.pop(file_name, None)


__all__ = ["LineCache"]

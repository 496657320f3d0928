"""A project: a folder of images, its document (:class:`Dataset`) and per-image status.

Qt-free. The folder scan adds images one at a time as they are read; files that
cannot be read are remembered in ``skipped`` with a one-line reason.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.model import Category, Dataset, EmitterGroup, ImageRecord, default_color

DEFAULT_CATEGORY = "object"


class Project:
    """Images of one folder plus their annotations.

    Events: ``done_changed`` (value: image id), ``skipped`` (value: one-line reason).
    """

    def __init__(self, folder: Path, dataset: Dataset | None = None) -> None:
        self.folder = Path(folder)
        self.dataset = dataset if dataset is not None else Dataset()
        self.events = EmitterGroup(self, ("done_changed", "skipped"))
        self._paths: dict[int, Path] = {}
        self._thumbnails: dict[int, np.ndarray] = {}
        self._done: set[int] = set()
        self.skipped: list[str] = []
        if not self.dataset.categories:
            self.dataset.add_category(Category(1, DEFAULT_CATEGORY, default_color(1)))

    def add_image(self, path: Path, width: int, height: int, thumbnail: np.ndarray | None = None) -> ImageRecord:
        """Register a readable image file of the folder."""
        path = Path(path)
        name = path.relative_to(self.folder).as_posix() if path.is_relative_to(self.folder) else path.name
        record = self.dataset.image_by_name(name)
        if record is None:
            record = ImageRecord(self.dataset.new_image_id(), name, int(width), int(height))
            self._paths[record.id] = path
            if thumbnail is not None:
                self._thumbnails[record.id] = thumbnail
            self.dataset.add_image(record)
        return record

    def skip(self, reason: str) -> None:
        self.skipped.append(reason)
        self.events.skipped.emit(reason)

    # -- reading -------------------------------------------------------------------------------------
    def image_ids(self) -> list[int]:
        return list(self.dataset.images)

    def path(self, image_id: int) -> Path:
        return self._paths.get(image_id) or self.folder / self.dataset.images[image_id].file_name

    def key(self, image_id: int) -> str:
        """Identifies an image's embedding for the worker."""
        return str(self.path(image_id))

    def thumbnail(self, image_id: int) -> np.ndarray | None:
        return self._thumbnails.get(image_id)

    def neighbour(self, image_id: int | None, step: int) -> int | None:
        """The image ``step`` places after (or before) ``image_id`` in folder order."""
        ids = self.image_ids()
        if not ids:
            return None
        if image_id not in self.dataset.images:
            return ids[0]
        index = ids.index(image_id) + step
        return ids[index] if 0 <= index < len(ids) else None

    # -- status --------------------------------------------------------------------------------------
    def is_done(self, image_id: int) -> bool:
        return image_id in self._done

    def set_done(self, image_id: int, done: bool) -> None:
        if done != (image_id in self._done):
            (self._done.add if done else self._done.discard)(image_id)
            self.events.done_changed.emit(image_id)

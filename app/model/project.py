"""A project: a folder of images, its document (:class:`Dataset`), per-image status and settings.

Qt-free and disk-free. The folder scan adds images one at a time as they are
read; files that cannot be read are remembered in ``skipped`` with a one-line
reason. What the sidecar held (:class:`StoredProject`, read off the UI thread)
is applied with :meth:`Project.restore` before the scan adds images; each
image's saved annotations and status are attached when the scan adds it, and
images the sidecar knows but the folder no longer has are added by
:meth:`Project.finish_scan` as *missing*, annotations and all, until the user
decides to forget them. Changes made while restoring are flagged by
``restoring`` so autosave does not write back what it just read.
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from app.model import Category, Dataset, EmitterGroup, ImageRecord, default_color
from app.model.io.sidecar import StoredImage, StoredProject
from app.model.names import display_name, name_bytes

DEFAULT_CATEGORY = "object"


class Project:
    """Images of one folder plus their annotations.

    Events: ``done_changed`` (value: image id), ``settings_changed`` (value: key), ``problem`` (value: one-line message),
    ``set_aside_requested`` (value: image file name whose saved file must be moved aside).
    """

    def __init__(self, folder: Path, dataset: Dataset | None = None) -> None:
        self.folder = Path(folder)
        self.dataset = dataset if dataset is not None else Dataset()
        self.events = EmitterGroup(
            self, ("done_changed", "settings_changed", "problem", "set_aside_requested")
        )
        self._paths: dict[int, Path] = {}
        self._thumbnails: dict[int, np.ndarray] = {}
        self._done: set[int] = set()
        self.skipped: list[str] = []
        self.image_warnings: dict[int, tuple[str, ...]] = {}  # images that loaded, with what their decoder said
        self.settings: dict[str, Any] = {}
        self.missing: set[int] = set()  # images known from the sidecar but not (readable) in the folder
        self.stored: StoredProject | None = None
        self.restoring = False
        self.start_image: str | None = None  # file name to open first, from the last session
        self._pending: dict[str, StoredImage] = {}
        self._category_ids: dict[int, int] = {}  # stored id -> id in this dataset
        self._set_aside: set[str] = set()
        if not self.dataset.categories:
            self.dataset.add_category(Category(1, DEFAULT_CATEGORY, default_color(1)))

    # -- restoring from the sidecar ------------------------------------------------------------------
    @property
    def restored(self) -> bool:
        return self.stored is not None

    @contextmanager
    def _restoring(self):
        was, self.restoring = self.restoring, True
        try:
            yield
        finally:
            self.restoring = was

    def restore(self, stored: StoredProject) -> None:
        """Apply a sidecar's categories and settings; saved annotations follow their images."""
        self.stored = stored
        with self._restoring():
            self._restore_categories(stored)
        self._pending = dict(stored.images)
        self.settings.update(stored.settings)
        self.start_image = stored.settings.get("last_image")
        for record in list(self.dataset.images.values()):  # added before the sidecar was read
            self._attach(record)

    def _restore_categories(self, stored: StoredProject) -> None:
        dataset = self.dataset
        categories = list(stored.categories or [])
        known = {c.id for c in categories}
        for image in stored.images.values():  # without a readable project.json, keep every annotation
            for annotation in image.annotations:
                if annotation.category_id not in known:
                    known.add(annotation.category_id)
                    cid = annotation.category_id
                    categories.append(Category(cid, f"category {cid}", default_color(cid)))
        if not categories:
            return
        untouched = (
            len(dataset.categories) == 1
            and next(iter(dataset.categories.values())).name == DEFAULT_CATEGORY
            and dataset.annotation_count == 0
        )
        if untouched:
            dataset.remove_category(next(iter(dataset.categories)))
        for category in categories:
            mine = dataset.category_by_name(category.name)
            if mine is None:
                new_id = category.id if category.id not in dataset.categories else dataset.new_category_id()
                mine = dataset.add_category(replace(category, id=new_id))
            self._category_ids[category.id] = mine.id

    def _attach(self, record: ImageRecord) -> None:
        stored = self._pending.pop(record.file_name, None)
        if stored is None:
            return
        if stored.shape != record.shape:
            self.events.problem.emit(
                f"{record.file_name}: the image is now {record.width}x{record.height} but its "
                f"{len(stored.annotations)} saved annotation(s) were made on {stored.width}x{stored.height}; "
                "they are not loaded, and their file is kept in .maskwright/set-aside/"
            )
            self._set_aside.add(record.file_name)
            self.events.set_aside_requested.emit(record.file_name)
            return
        with self._restoring():
            for annotation in stored.annotations:
                new_id = annotation.id
                if self._annotation_id_taken(new_id):
                    new_id = self.dataset.new_annotation_id()
                category_id = self._category_ids.get(annotation.category_id, annotation.category_id)
                self.dataset.add_annotation(replace(annotation, id=new_id, image_id=record.id, category_id=category_id))
            if stored.done:
                self.set_done(record.id, True)

    def _annotation_id_taken(self, annotation_id: int) -> bool:
        try:
            self.dataset.annotation(annotation_id)
        except KeyError:
            return False
        return True

    def finish_scan(self) -> list[str]:
        """Add the images the sidecar has annotations for but the scan did not find
        (deleted, renamed or now unreadable) as missing; returns their names."""
        names = []
        for name, stored in list(self._pending.items()):
            record = ImageRecord(self.dataset.new_image_id(), name, stored.width, stored.height)
            self.missing.add(record.id)  # before the image_added event, so the image list says so
            with self._restoring():
                self.dataset.add_image(record)
            self._attach(record)
            names.append(name)
        return names

    def forget_missing(self) -> list[str]:
        """Remove the missing images and their annotations from the project (autosave
        moves their files to ``set-aside/``); returns their names."""
        names = []
        for image_id in sorted(self.missing):
            names.append(self.dataset.images[image_id].file_name)
            self._done.discard(image_id)
            self.dataset.remove_image(image_id)
        self.missing.clear()
        return names

    def take_set_aside(self) -> set[str]:
        """Image file names whose saved files must be moved aside before the next write."""
        names, self._set_aside = self._set_aside, set()
        return names

    def is_start_image(self, image_id: int) -> bool:
        """Whether the scan should open this image first: the last session's image, else the first."""
        return self.start_image is None or self.dataset.images[image_id].file_name == self.start_image

    def save_settings(self) -> None:
        """Ask for the settings to be written with the next save (e.g. the view, at close)."""
        self.events.settings_changed.emit(None)

    def set_setting(self, key: str, value: Any, announce: bool = True) -> None:
        """Change a project setting; ``announce=False`` for values saved only with other changes
        (the view moves too often to be worth a write of its own)."""
        if self.settings.get(key) != value:
            self.settings[key] = value
            if announce:
                self.events.settings_changed.emit(key)

    # -- images --------------------------------------------------------------------------------------
    def add_image(self, path: Path, width: int, height: int, thumbnail: np.ndarray | None = None,
                  warnings: tuple[str, ...] = ()) -> ImageRecord:
        """Register a readable image file of the folder (with its saved annotations, if any);
        ``warnings`` are what its decoder reported (one line each), shown with the image."""
        path = Path(path)
        name = path.relative_to(self.folder).as_posix() if path.is_relative_to(self.folder) else path.name
        record = self.dataset.image_by_name(name)
        if record is None:
            record = ImageRecord(self.dataset.new_image_id(), name, int(width), int(height))
            self._paths[record.id] = path
            if thumbnail is not None:
                self._thumbnails[record.id] = thumbnail
            if warnings:
                self.image_warnings[record.id] = tuple(warnings)
            self.dataset.add_image(record)
            self._attach(record)
        return record

    def skip(self, reason: str) -> None:
        """Remember a file of the folder that could not be read (one-line reason)."""
        self.skipped.append(reason)

    # -- reading -------------------------------------------------------------------------------------
    def image_ids(self) -> list[int]:
        return list(self.dataset.images)

    def present_image_ids(self) -> list[int]:
        """The images whose file is in the folder (not ``missing``), in folder order."""
        return [i for i in self.dataset.images if i not in self.missing]

    def path(self, image_id: int) -> Path:
        return self._paths.get(image_id) or self.folder / self.dataset.images[image_id].file_name

    def key(self, image_id: int) -> str:
        """Identifies an image's embedding for the worker: its path, and for a name with bytes that
        are not UTF-8 (which Qt's strings would drop on the way through a signal) the path as
        shown plus a hash of its bytes, so it stays unique and survives the trip."""
        path = str(self.path(image_id))
        shown = display_name(path)
        if shown == path:
            return path
        return f"{shown}#{hashlib.blake2b(name_bytes(path), digest_size=8).hexdigest()}"

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

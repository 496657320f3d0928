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

A big folder is listed from the images' headers first (``provisional`` sizes, no thumbnail)
and decoded later; :meth:`Project.verify` then gives each image its thumbnail and true size,
and :meth:`Project.drop_unreadable` takes out the ones that fail to decode.
"""
from __future__ import annotations

import hashlib
import os
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
    ``set_aside_requested`` (value: image file name whose saved file must be moved aside),
    ``thumbnail_changed`` (value: image id; its thumbnail or warnings arrived).
    """

    def __init__(self, folder: Path, dataset: Dataset | None = None) -> None:
        self.folder = Path(folder)
        self._prefix = os.path.join(os.fspath(self.folder), "")  # the folder, with a separator after it
        self.dataset = dataset if dataset is not None else Dataset()
        self.events = EmitterGroup(
            self, ("done_changed", "settings_changed", "problem", "set_aside_requested", "thumbnail_changed")
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
        self.unverified: set[int] = set()  # images listed with their header's size, not decoded yet
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
            self._put_aside(record.file_name, (
                f"{record.file_name}: the image is now {record.width}x{record.height} but its "
                f"{len(stored.annotations)} saved annotation(s) were made on {stored.width}x{stored.height}; "
                "they are not loaded, and their file is kept in .maskwright/set-aside/"))
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

    def _put_aside(self, file_name: str, problem: str) -> None:
        """Say ``problem`` and have the image's saved file moved aside before the next write."""
        self.events.problem.emit(problem)
        self._set_aside.add(file_name)
        self.events.set_aside_requested.emit(file_name)

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
                  warnings: tuple[str, ...] = (), provisional: bool = False) -> ImageRecord:
        """Register a readable image file of the folder (with its saved annotations, if any);
        ``warnings`` are what its decoder reported (one line each), shown with the image.
        ``provisional``: the size is its header's, not yet confirmed by a decode (:meth:`verify`);
        where the header's size is the saved one turned a quarter (an EXIF orientation of a format
        the header reader does not know), the saved size is taken."""
        path = Path(path)
        name = self.name_of(path)
        record = self.dataset.image_by_name(name)
        if record is None:
            saved = self._pending.get(name)
            if provisional and saved is not None and saved.shape == (int(width), int(height)):
                width, height = saved.width, saved.height
            record = ImageRecord(self.dataset.new_image_id(), name, int(width), int(height))
            self._paths[record.id] = path
            if thumbnail is not None:
                self._thumbnails[record.id] = thumbnail
            if warnings:
                self.image_warnings[record.id] = tuple(warnings)
            if provisional:
                self.unverified.add(record.id)
            self.dataset.add_image(record)
            self._attach(record)
        return record

    def verify(self, image_id: int, width: int, height: int, thumbnail: np.ndarray,
               warnings: tuple[str, ...] = ()) -> None:
        """What decoding a listed image found: its thumbnail, its decoder's warnings and its true
        size (see :meth:`correct_size`)."""
        if image_id not in self.dataset.images:
            return
        self.unverified.discard(image_id)
        self._thumbnails[image_id] = thumbnail
        if warnings:
            self.image_warnings[image_id] = tuple(dict.fromkeys(self.image_warnings.get(image_id, ()) + tuple(warnings)))
        self.correct_size(image_id, width, height)
        self.events.thumbnail_changed.emit(image_id)

    def correct_size(self, image_id: int, width: int, height: int) -> bool:
        """Give an image its decoded size when its listed one was wrong; its annotations, made
        (or saved) on the wrong size, are then set aside as :meth:`_attach` does. True when it changed."""
        record = self.dataset.images[image_id]
        if (record.width, record.height) == (int(width), int(height)):
            return False
        count = self.dataset.annotation_count_of(image_id)
        if count:
            with self._restoring():
                for annotation_id in reversed(self.dataset.annotation_ids(image_id)):
                    self.dataset.remove_annotation(annotation_id)
            self._put_aside(record.file_name, (
                f"{record.file_name}: the image is {width}x{height}, not {record.width}x{record.height} as its "
                f"{count} annotation(s) were made on; they are taken out, and their file is kept in "
                ".maskwright/set-aside/"))
        with self._restoring():
            self.dataset.resize_image(image_id, width, height)
        return True

    def has_saved(self, image_id: int) -> bool:
        """Whether something of the image would be lost with it: annotations, or its done mark."""
        return bool(self.dataset.annotation_count_of(image_id)) or self.is_done(image_id)

    def drop_unreadable(self, image_id: int, keep: bool = False) -> None:
        """A listed image failed to decode: an image with something saved (annotations, done) or
        ``keep`` (it is the one shown) stays as *missing*, like a deleted file; any other is removed."""
        if image_id not in self.dataset.images:
            return
        self.unverified.discard(image_id)
        if keep or self.has_saved(image_id):
            self.missing.add(image_id)
            self.events.thumbnail_changed.emit(image_id)  # its list entry says so
            return
        self._paths.pop(image_id, None)
        self._thumbnails.pop(image_id, None)
        self.image_warnings.pop(image_id, None)
        with self._restoring():  # nothing of it was saved: nothing to set aside
            self.dataset.remove_image(image_id)

    def skip(self, reason: str) -> None:
        """Remember a file of the folder that could not be read (one-line reason)."""
        self.skipped.append(reason)

    # -- reading -------------------------------------------------------------------------------------
    def id_of(self, path: str | Path) -> int | None:
        """The id of the image at ``path`` (a file of the folder), None when it is not listed."""
        record = self.dataset.image_by_name(self.name_of(path))
        return None if record is None else record.id

    def name_of(self, path: str | Path) -> str:
        """The file name an image of the folder has in the document: its path inside the folder,
        with forward slashes (a file elsewhere: its name). String work, not pathlib's: a listing
        of 10,000 images asks this for each."""
        text, prefix = os.fspath(path), self._prefix
        if text.startswith(prefix):
            return text[len(prefix):].replace(os.sep, "/")
        path = Path(path)
        return path.relative_to(self.folder).as_posix() if path.is_relative_to(self.folder) else path.name

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

    def neighbour(self, image_id: int | None, step: int, ids: list[int] | None = None) -> int | None:
        """The image ``step`` places after (or before) ``image_id`` in folder order, among ``ids``
        (a filter's images, in folder order; default all)."""
        ids = self.image_ids() if ids is None else ids
        if not ids:
            return None
        if image_id not in ids:
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

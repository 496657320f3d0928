"""What changed in a project since its last save, and writing it: the save code autosave runs.

Qt-free. A :class:`ChangeTracker` follows the document's events (not the undo
history: every path that changes the document emits one) and the project's, and
remembers *which* images and whether the project file changed. :meth:`take`
turns that into a :class:`Snapshot` of immutable records on the UI thread (cheap:
no copying, no encoding); :func:`write_snapshot` writes it on any thread, file by
file, each atomically, and returns what it could not write so the tracker takes
it back for the next attempt. Nothing is ever dropped: a part that fails stays
pending until a later save succeeds.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.model import Annotation, Category, ImageRecord
from app.model.io.line_cache import LineCache
from app.model.io.sidecar import (
    NEWER,
    SidecarPaths,
    open_session,
    set_aside_image_file,
    write_image_file,
    write_project_file,
)
from app.model.names import display_name
from app.model.project import Project

SAVE_DELAY_S = 0.25  # from the first unsaved change to its write starting: well within a second


@dataclass(frozen=True)
class ImageState:
    """One image's saved content: its record, status and annotations in drawing order."""

    record: ImageRecord
    done: bool
    annotations: tuple[Annotation, ...]


@dataclass(frozen=True)
class Snapshot:
    """The changed parts of a project at one moment; safe to read from any thread."""

    paths: SidecarPaths
    open_session: bool = False
    set_aside: tuple[str, ...] = ()  # image file names whose saved files move to set-aside/ first
    categories: tuple[Category, ...] | None = None  # None: project.json unchanged
    settings: dict[str, Any] = field(default_factory=dict)
    images: tuple[ImageState, ...] = ()
    lines: LineCache | None = None  # the tracker's encoded lines, used by the writer thread only

    @property
    def empty(self) -> bool:
        return not (self.open_session or self.set_aside or self.categories is not None or self.images)


@dataclass
class SaveResult:
    """What :func:`write_snapshot` did. ``retry`` holds the parts not written (None when
    all were); ``errors`` one line per failure, naming the file."""

    snapshot: Snapshot
    written: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_numbers: list[int | None] = field(default_factory=list)
    retry: Snapshot | None = None

    @property
    def ok(self) -> bool:
        return self.retry is None


def write_snapshot(
    snapshot: Snapshot, protected: Mapping[Path, str] | set[Path] | frozenset[Path] = frozenset()
) -> SaveResult:
    """Write ``snapshot``: session marker, set-asides, ``project.json``, then image files.

    Files in ``protected`` (written by a newer Maskwright, or broken and not movable
    aside; a mapping gives the reason) are never overwritten: their images stay unsaved.
    Each file is written on its own: whatever goes wrong with one (I/O, a mask that
    cannot be encoded, a name, any exception) is reported for that file and leaves it
    pending, and the others are still written. Never raises; see :class:`SaveResult`.
    """
    paths = snapshot.paths
    result = SaveResult(snapshot)
    failed_session, failed_aside, failed_images = False, [], []
    failed_project = False

    def fail(exc: Exception | str, path: Path | str) -> None:
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            result.error_numbers.append(exc.errno)
        elif isinstance(exc, (str, ValueError)):
            reason = str(exc)
            result.error_numbers.append(None)
        else:  # not an expected failure: still one line, with what it was
            reason = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            result.error_numbers.append(None)
        result.errors.append(f"{display_name(str(path))}: {reason}")

    def image_path(name: str) -> Path | str:
        try:
            return paths.image_file(name)
        except Exception:  # never let naming one file stop the others
            return paths.annotations_dir / display_name(name)

    if snapshot.open_session:
        try:
            open_session(paths)
            result.written.append(paths.session_file)
        except Exception as exc:
            failed_session = True
            fail(exc, paths.session_file)
    for name in snapshot.set_aside:
        try:
            target = set_aside_image_file(paths, name)
            if target is not None:
                result.written.append(target)
        except Exception as exc:
            failed_aside.append(name)
            fail(exc, image_path(name))
    if snapshot.categories is not None:
        try:
            result.written.append(write_project_file(paths, list(snapshot.categories), snapshot.settings))
        except Exception as exc:
            failed_project = True
            fail(exc, paths.project_file)
    for state in snapshot.images:
        name = state.record.file_name
        path = image_path(name)
        if name in failed_aside:
            failed_images.append(state)  # the old file is still there: do not write over it
        elif path in protected:
            failed_images.append(state)
            fail(protected.get(path, NEWER) if isinstance(protected, Mapping) else NEWER, path)
        else:
            try:
                result.written.append(write_image_file(paths, state.record, state.done, list(state.annotations),
                                                       snapshot.lines))
            except Exception as exc:  # OSError, a mask that cannot be encoded, anything: this file only
                failed_images.append(state)
                fail(exc, path)
    if failed_session or failed_aside or failed_project or failed_images:
        result.retry = Snapshot(
            paths,
            failed_session,
            tuple(failed_aside),
            snapshot.categories if failed_project else None,
            snapshot.settings,
            tuple(failed_images),
            snapshot.lines,
        )
    return result


class ChangeTracker:
    """Follows one project's changes; :meth:`take` hands them out as a :class:`Snapshot`.

    ``on_change`` (if set) is called after every change worth saving, e.g. to start
    a save timer. Changes made while the project restores itself are ignored.
    """

    def __init__(self, project: Project, on_change: Callable[[], None] | None = None) -> None:
        self.project = project
        self.paths = SidecarPaths(project.folder)
        self.on_change = on_change
        self._images: set[int] = set()
        self._set_aside: set[str] = set(project.take_set_aside())
        self._categories = False  # project.json must be written for a category change...
        self._settings = False  # ...or only for settings (last image, view): not edits
        self._session_written = False
        self._session_ended = False
        self.lines = LineCache()  # encoded annotation lines, kept between saves (writer thread only)
        project.dataset.events.connect(self._on_dataset)
        project.events.done_changed.connect(self._on_done)
        project.events.settings_changed.connect(self._on_settings)
        project.events.set_aside_requested.connect(self._on_set_aside)

    def close(self) -> None:
        """Stop following the project (what is pending stays pending)."""
        self.project.dataset.events.disconnect(self._on_dataset)
        self.project.events.done_changed.disconnect(self._on_done)
        self.project.events.settings_changed.disconnect(self._on_settings)
        self.project.events.set_aside_requested.disconnect(self._on_set_aside)

    # -- following ------------------------------------------------------------------------------------
    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _on_dataset(self, event) -> None:
        if self.project.restoring:
            return
        kind = event.type
        if kind.startswith("annotation_"):
            self._images.add(event.value.image_id)
        elif kind.startswith("category_"):
            self._categories = True
        elif kind == "image_removed":
            self._images.discard(event.value.id)
            self._set_aside.add(event.value.file_name)
        else:
            return  # a new image has nothing to save until it is labelled
        self._changed()

    def _on_done(self, event) -> None:
        if not self.project.restoring:
            self._images.add(event.value)
            self._changed()

    def _on_settings(self, _event) -> None:
        self._settings = True
        self._changed()

    def _on_set_aside(self, _event) -> None:
        self._set_aside |= self.project.take_set_aside()
        self._changed()

    # -- handing out ----------------------------------------------------------------------------------
    @property
    def blocked(self) -> str | None:
        """Why nothing may be written (a newer ``project.json``), or None."""
        return None if self.project.stored is None else self.project.stored.frozen

    @property
    def protected(self) -> dict[Path, str]:
        """Files never to be written over, with why (see :class:`~app.model.io.sidecar.StoredProject`)."""
        return {} if self.project.stored is None else dict(self.project.stored.protected)

    @property
    def session_open(self) -> bool:
        return self._session_written

    def session_ended(self) -> None:
        """The session marker was removed while the project stays open: the next save writes it again."""
        self._session_written, self._session_ended = False, True

    @property
    def pending(self) -> bool:
        """Whether something is not on disk yet. A project that must not be written
        counts only its edits; otherwise changed settings count too, and a first
        session marker when the project already has a sidecar."""
        if self._images or self._set_aside or self._categories:
            return True
        stored = self.project.stored
        first_marker = not self._session_written and (self._session_ended or stored is not None and stored.exists)
        return not self.blocked and (self._settings or first_marker)

    def take(self) -> Snapshot | None:
        """The pending changes as a snapshot, now considered in flight; None when there
        are none, or while the project is not restored yet (or must not be written)."""
        project = self.project
        if not project.restored or self.blocked or not self.pending:
            return None
        dataset = project.dataset
        images = []
        for image_id in sorted(self._images):
            record = dataset.images.get(image_id)
            if record is not None:
                images.append(ImageState(record, project.is_done(image_id), tuple(dataset.annotations(image_id))))
        snapshot = Snapshot(
            self.paths,
            open_session=not self._session_written,
            set_aside=tuple(sorted(self._set_aside)),
            categories=tuple(dataset.categories.values()) if self._categories or self._settings else None,
            settings=dict(project.settings),
            images=tuple(images),
            lines=self.lines,
        )
        self._images.clear()
        self._set_aside.clear()
        self._categories = self._settings = False
        self._session_written = True
        return snapshot

    def retry(self, failed: Snapshot) -> None:
        """Take back the parts of a snapshot that were not written."""
        if failed.open_session:
            self._session_written = False
        self._set_aside.update(failed.set_aside)
        if failed.categories is not None:
            self._categories = True
        for state in failed.images:
            record = self.project.dataset.image_by_name(state.record.file_name)
            if record is not None:
                self._images.add(record.id)


__all__ = ["SAVE_DELAY_S", "ChangeTracker", "ImageState", "SaveResult", "Snapshot", "write_snapshot"]

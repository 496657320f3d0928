"""Reading import files off the UI thread: a file (or folder) becomes an :class:`ImportPlan`.

The UI thread hands over a snapshot of the project's image list (immutable
records) and returns at once; a one-thread pool reads, matches and rasterises
(:mod:`app.model.io.readers`, :mod:`app.model.import_plan`) and reports the plan,
or one line saying why the file could not be read. Applying the plan is the UI
thread's (it only adds records). Every report carries the job id it was asked
under, so a controller can drop the answer to a question nobody asks any more.

:meth:`Importer.cancel` stops the jobs asked for so far at their next file, image
or annotation (each job has its own ``threading.Event``, checked at every progress
step): such a job reports ``cancelled`` instead of a plan, so nothing of it can
reach the project.

*Import automatic masks* also brings the embeddings the data engine stored
(``--embeddings``): each matched image is decoded and hashed as the SAM worker
hashes it, and its embedding files are hard-linked (or copied) into the app's
disk cache, where the worker finds them instead of encoding.
"""
from __future__ import annotations

import os
import shutil
import threading
import traceback
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal

from app.model.import_plan import ImportPlan, plan_import
from app.model.io.fields import FormatError
from app.model.io.matching import ProjectImage
from app.model.io.readers import read_labels
from app.model.io.sa1b_import import manifest_json_files, parse_sa1b, read_manifest, sa1b_files
from app.model.mask import Mask
from app.services.messages import one_line
from sam_core import content_hash
from sam_core.embedding_cache import SUFFIX
from sam_core.image_files import read_image


class ImportCancelled(Exception):
    """Raised from the progress callback to stop an import."""


class Importer(QObject):
    progress = Signal(int, str, int, int)  # job id, what, done, total
    planned = Signal(int, object)  # job id, ImportPlan
    failed = Signal(int, str)  # job id, one line naming the file and the problem
    cancelled = Signal(int)  # job id: it stopped before its plan was made

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._lock = threading.Lock()
        self._job = 0
        self._stops: dict[int, threading.Event] = {}  # job id -> its cancel flag, until it reports

    def _next_job(self) -> int:
        with self._lock:
            self._job += 1
            self._stops[self._job] = threading.Event()
            return self._job

    def cancel(self) -> None:
        """Stop every job asked for so far (queued ones never start)."""
        with self._lock:
            for stop in self._stops.values():
                stop.set()

    def read(self, path: Path, fmt: str, images: Sequence[ProjectImage]) -> int:
        """Read ``path`` as ``fmt`` ("auto", "coco", "sa1b", "labelme", "yolo") and plan it
        against ``images``; returns the job id of the reports."""
        job = self._next_job()
        self._pool.start(partial(self._guarded, job, Path(path), self._read, Path(path), fmt, tuple(images)))
        return job

    def read_automatic(self, folder: Path, images: Sequence[ProjectImage], existing: Mapping[int, tuple[Mask, ...]],
                       paths: Mapping[int, Path], embeddings: Path | None, cache: Path | None) -> int:
        """Read an engine output folder (or any folder of SA-1B JSON) as automatic masks;
        with ``embeddings`` (a folder in the disk cache's format) and ``cache`` (the app's disk
        cache folder) also bring the matched images' embeddings."""
        job = self._next_job()
        args = (Path(folder), tuple(images), dict(existing), dict(paths), embeddings, cache)
        self._pool.start(partial(self._guarded, job, Path(folder), self._read_automatic, *args))
        return job

    def wait(self) -> None:
        self._pool.waitForDone()

    # -- in the pool ----------------------------------------------------------------------------
    def _stop_of(self, job: int) -> threading.Event:
        with self._lock:
            return self._stops[job]

    def _guarded(self, job: int, path: Path, work, *args) -> None:
        try:
            if self._stop_of(job).is_set():
                raise ImportCancelled
            plan = work(job, *args)
        except ImportCancelled:
            self.cancelled.emit(job)
        except FormatError as exc:
            self.failed.emit(job, str(exc))
        except OSError as exc:
            self.failed.emit(job, f"{exc.filename or path}: {exc.strerror or one_line(exc)}")
        except Exception as exc:  # never lost in a pool thread: the user hears of it in one line
            traceback.print_exc()
            self.failed.emit(job, f"{path}: {one_line(exc)}")
        else:
            self.planned.emit(job, plan)
        finally:
            with self._lock:
                self._stops.pop(job, None)

    def _reporter(self, job: int, what: str):
        """``progress(done, total)`` for the readers: reports at most ~50 times a job, and
        raises :class:`ImportCancelled` at any step once the job is cancelled."""
        step, stop = [0], self._stop_of(job)

        def report(done: int, total: int) -> None:
            if stop.is_set():
                raise ImportCancelled
            if done == total or done - step[0] >= max(1, total // 50):  # at most ~50 reports a job
                step[0] = done
                self.progress.emit(job, what, done, total)
        return report

    def _read(self, job: int, path: Path, fmt: str, images: tuple[ProjectImage, ...]) -> ImportPlan:
        parsed = read_labels(path, fmt, progress=self._reporter(job, f"Reading {path.name}"))
        return plan_import(parsed, images, progress=self._reporter(job, f"Matching {path.name}"))

    def _read_automatic(self, job: int, folder: Path, images, existing, paths, embeddings, cache) -> ImportPlan:
        lines = read_manifest(folder)
        files = manifest_json_files(folder, lines) if folder.is_dir() else None
        parsed = parse_sa1b(folder, files if files is not None else sa1b_files(folder),
                            progress=self._reporter(job, f"Reading {folder.name}"))
        failed = [line for line in lines if line.get("status") == "failed"]
        if failed:
            parsed.skipped.add("image", "the data engine failed on (see its manifest.jsonl)",
                               f"{failed[0].get('file')}: {failed[0].get('error')}", count=len(failed))
        plan = plan_import(parsed, images, auto=True, existing=existing,
                           progress=self._reporter(job, f"Matching {folder.name}"))
        if embeddings is not None:
            plan.embeddings = self._bring_embeddings(job, plan, paths, Path(embeddings), cache)
        return plan

    def _bring_embeddings(self, job: int, plan: ImportPlan, paths: Mapping[int, Path], embeddings: Path,
                          cache: Path | None) -> int:
        if cache is None:
            plan.skipped.add("embedding folder", "(the disk cache is off: embedding_cache_mb is 0)", str(embeddings))
            return 0
        by_hash: dict[str, list[Path]] = {}
        for entry in embeddings.glob(f"*{SUFFIX}"):
            if not entry.name.startswith("."):
                by_hash.setdefault(entry.name.split("-", 1)[0], []).append(entry)
        cache.mkdir(parents=True, exist_ok=True)
        brought, report = 0, self._reporter(job, "Finding embeddings")
        for done, planned in enumerate(plan.images, start=1):
            path = paths.get(planned.image_id)
            try:
                found = by_hash.get(content_hash(read_image(path)), []) if path is not None else []
            except Exception:  # an unreadable image simply has no embedding to bring
                found = []
            for entry in found:
                target = cache / entry.name
                if not target.exists():
                    _link_or_copy(entry, target)
                brought += 1
            report(done, len(plan.images))
        return brought


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (no second copy on disk) where the file system allows it, else a copy, both
    through a temporary name so the cache never sees half a file."""
    tmp = target.with_name(f".tmp-{os.getpid()}-{target.name}")
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


__all__ = ["ImportCancelled", "Importer"]

"""Builds the application in one place: settings, services, state, controllers, window, and wires them.

The only module that knows every layer. Controllers get the labelling state and
the services they use, never each other or the window: where one controller's
news is another's work (the folder scan found the image to open first), the
signal is connected here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.model.history import History
from app.model.labeling_state import LabelingState
from app.model.notices import Notices
from app.model.progress import Jobs
from app.model.session_stats import SessionStats
from app.services.autosave import Autosave
from app.services.checkpoints.device_probe import DeviceProbe
from app.services.checkpoints.jobs import ModelJobs
from app.services.exporter import Exporter
from app.services.image_loader import ImageLoader
from app.services.importer import Importer
from app.services.precompute import Precompute
from app.services.qt_compat import guard_none_refcount
from app.services.sam.worker import SamWorker
from app.services.settings import Settings
from app.ui.bindings import Bound, Controllers, bind
from app.ui.main_window import MainWindow
from app.workflow.annotations import AnnotationEditor
from app.workflow.boxes import BoxesToMasks
from app.workflow.brush import Brush
from app.workflow.categories import CategoryEditor
from app.workflow.checkpoint import CheckpointLoader
from app.workflow.export import ExportController
from app.workflow.folder_scan import FolderScan
from app.workflow.importing import ImportController
from app.workflow.navigation import Navigation
from app.workflow.polygon import PolygonTool
from app.workflow.precompute_folder import PrecomputeLauncher
from app.workflow.prelabeling import Prelabeler
from app.workflow.project_keeper import ProjectKeeper
from app.workflow.prompting import Prompting
from app.workflow.undo import Undo
from sam_core import EmbeddingCache

DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class Services:
    """What runs off the UI thread."""

    settings: Settings
    worker: SamWorker
    loader: ImageLoader
    exporter: Exporter
    autosave: Autosave
    precompute: Precompute
    importer: Importer


@dataclass
class App:
    """Everything :func:`build` made, for ``main`` and for tests."""

    services: Services
    state: LabelingState
    history: History
    notices: Notices
    controllers: Controllers
    scan: FolderScan
    window: MainWindow
    bound: Bound
    checkpoint: str | None = None  # the one build started loading (given or remembered)
    jobs: Jobs | None = None  # the long jobs the status bar shows
    stats: SessionStats | None = None  # the session's figures the Statistics panel draws

    # The pieces tests and the self-test reach most often.
    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def worker(self) -> SamWorker:
        return self.services.worker

    @property
    def navigation(self) -> Navigation:
        return self.controllers.navigation

    @property
    def prompting(self) -> Prompting:
        return self.controllers.prompting

    @property
    def brush(self) -> Brush:
        return self.controllers.brush

    @property
    def prelabel(self) -> Prelabeler:
        return self.controllers.prelabel

    def shutdown(self) -> None:
        """Stop the background threads (after the window has closed)."""
        services = self.services
        services.precompute.cancel()
        services.worker.stop()
        services.loader.shutdown()
        services.exporter.wait()
        services.importer.wait()
        services.autosave.stop()
        if self.controllers.checkpoints.checks is not None:
            self.controllers.checkpoints.checks.shutdown()


def make_services(settings: Settings) -> Services:
    worker = SamWorker()
    if settings.embedding_cache_mb:  # encoded images survive restarts: no image is encoded twice
        worker.set_disk_cache(EmbeddingCache(settings.embedding_cache_dir, settings.embedding_cache_mb * 2**20))
    return Services(settings, worker, ImageLoader(limits=settings.limits), Exporter(), Autosave(), Precompute(worker),
                    Importer())


def make_controllers(services: Services, state: LabelingState, history: History, notices: Notices,
                     ) -> tuple[Controllers, FolderScan]:
    s = services
    navigation = Navigation(state, history, s.worker, s.loader, s.settings, notices)
    scan = FolderScan(state, s.loader, notices)
    keeper = ProjectKeeper(state, s.loader, s.autosave, notices)
    controllers = Controllers(
        navigation=navigation,
        prompting=Prompting(state, history, s.worker, s.settings, notices),
        brush=Brush(state, history, notices),
        polygon=PolygonTool(state, history, notices),
        prelabel=Prelabeler(state, history, s.worker, notices),
        categories=CategoryEditor(state, history, notices),
        annotations=AnnotationEditor(state, history),
        undo=Undo(history, notices),
        checkpoints=CheckpointLoader(state, s.worker, s.settings, notices, ModelJobs()),
        export=ExportController(state, s.exporter, s.settings, notices),
        precompute=PrecomputeLauncher(state, s.precompute, notices),
        keeper=keeper,
        boxes=BoxesToMasks(state, history, s.worker, notices),
        importing=ImportController(state, history, s.importer, s.settings, notices,
                                   s.settings.embedding_cache_dir if s.settings.embedding_cache_mb else None),
    )
    # One controller's news is another's work: connected here, so neither holds the other.
    scan.open_requested.connect(navigation.open_image)
    keeper.open_requested.connect(navigation.open_image)
    keeper.close_requested.connect(navigation.close_image)
    return controllers, scan


def build(
    folder: str | None = None,
    checkpoint: str | None = None,
    device: str | None = None,
    settings: Settings | None = None,
) -> App:
    """Make the services, state, controllers and the window; a QApplication must exist.
    Falls back to the remembered folder, checkpoint and device when they are not given."""
    guard_none_refcount()  # PySide6 6.12 on Python 3.11 would otherwise abort within minutes
    services = make_services(settings or Settings())
    state, history, notices = LabelingState(), History(), Notices()
    controllers, scan = make_controllers(services, state, history, notices)
    jobs = Jobs()
    stats = SessionStats(state)  # counts what the document accepts; the click latency comes from Prompting
    controllers.prompting.click_ms.connect(stats.record_click)
    window = MainWindow(services.settings, state.prompts)
    bound = bind(window, state, history, notices, controllers, services.precompute, jobs, stats)
    app = App(services, state, history, notices, controllers, scan, window, bound, jobs=jobs, stats=stats)
    window.close_guard = controllers.keeper.may_close
    window.closing.append(app.shutdown)
    services.worker.start(SamWorker.LowPriority)  # Windows and macOS; Linux uses nice (see SamWorker.run)
    loader = controllers.checkpoints
    loader.device = device or services.settings.device or "auto"  # also for checkpoints opened later
    probe = DeviceProbe(window)  # which device, and why not CUDA/MPS: said in the status bar
    probe.reported.connect(window.show_device)
    probe.start(loader.device)
    app.checkpoint = checkpoint or services.settings.checkpoint or None
    if app.checkpoint:
        loader.load(app.checkpoint)
    else:
        loader.explain_missing()
    folder = folder or services.settings.last_folder or None
    if folder and Path(folder).is_dir():
        controllers.navigation.open_folder(folder)
    return app


__all__ = ["DEVICES", "App", "Services", "build"]

"""Controllers without a window: the real labelling state, history and notices, and real services
(the SAM worker thread, the image loader, settings in a temp file) where a controller uses them."""
from __future__ import annotations

import pytest

from app.model.history import History
from app.model.labeling_state import LabelingState
from app.model.notices import Notices
from app.services.qt_compat import guard_none_refcount
from tests.app.conftest import image_folder, settings, worker  # noqa: F401  (shared fixtures)

guard_none_refcount()


class Recorder:
    """Collects the notices (level, html) and status lines a controller posts."""

    def __init__(self, notices: Notices) -> None:
        self.messages: list[tuple[str, str]] = []
        self.status: list[str] = []
        notices.events.posted.connect(lambda e: self.messages.append((e.value.level, e.value.html)))
        notices.events.status.connect(lambda e: self.status.append(e.value))

    def errors(self) -> list[str]:
        return [html for level, html in self.messages if level == "error"]


@pytest.fixture
def state() -> LabelingState:
    return LabelingState()


@pytest.fixture
def history() -> History:
    return History()


@pytest.fixture
def notices() -> Notices:
    return Notices()


@pytest.fixture
def said(notices) -> Recorder:
    return Recorder(notices)


@pytest.fixture
def loader(qtbot):
    from app.services.image_loader import ImageLoader

    loader = ImageLoader()
    yield loader
    loader.shutdown()

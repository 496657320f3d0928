"""The model manager in the real window, against a loopback server: download with
progress and a verified checkpoint that loads, cancel and resume, wrong checksum,
offline with the manual option, and the first-run offer."""
from __future__ import annotations

import hashlib

import pytest

from app.bootstrap.cli import parse_args, start
from app.services.checkpoints import catalog as model_catalog
from app.services.checkpoints.catalog import CheckpointEntry
from tests.app.loopback_http import LoopbackServer, refused_url


pytestmark = pytest.mark.usefixtures("no_proxy")


@pytest.fixture
def checkpoint_bytes(tiny_checkpoint) -> bytes:
    return tiny_checkpoint.read_bytes()


@pytest.fixture
def catalog(monkeypatch, checkpoint_bytes):
    """A one-entry catalogue whose file is the tiny random-weight checkpoint."""
    entry = CheckpointEntry("vit_tiny", "sam_tiny_random.pth", len(checkpoint_bytes),
                            hashlib.sha256(checkpoint_bytes).hexdigest(), "for tests")
    monkeypatch.setattr(model_catalog, "CATALOG", (entry,))
    return entry


@pytest.fixture
def server(checkpoint_bytes):
    with LoopbackServer({"sam_tiny_random.pth": checkpoint_bytes}) as server:
        yield server


def open_manager(app):
    app.window.actions["file.models"].trigger()
    manager = app.window.model_manager
    assert manager is not None and manager.isVisible() and not manager.isModal()
    return manager


def test_download_from_the_file_menu_verifies_and_loads_the_model(qtbot, make_app, settings, catalog, server):
    settings.model_base_url = server.base_url
    app = make_app()
    assert not app.state.sam.ready
    manager = open_manager(app)
    assert manager.list.count() == 1 and manager.list.item(0).text().startswith("SAM vit_tiny · 20")
    assert manager.primary.text() == "Download"
    details = []
    manager.jobs.progress.connect(lambda progress: details.append(manager.detail.text()))
    manager.primary.click()
    assert not manager.primary.isEnabled() and manager.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: app.state.sam.ready, timeout=30000)
    path = settings.models_dir / catalog.file_name
    assert path.is_file() and settings.checkpoint == str(path)
    assert any(" of 20" in text for text in details)
    assert "verified (SHA-256 matches)" in manager.message.text()
    assert manager.primary.text() == "Use this model" and "✓ downloaded" in manager.list.item(0).text()
    assert app.window.sam_label.text().startswith("SAM ")
    with qtbot.waitSignal(manager.chosen, timeout=5000) as chosen:  # a downloaded model is used at once
        manager.primary.click()
    assert chosen.args == [str(path)] and len(server.requests) == 1


def test_cancel_then_resume_continues_with_a_range_request(qtbot, make_app, settings, catalog, server):
    settings.model_base_url = server.base_url
    server.delay = 0.01  # a slow line: ~6 MB/s
    app = make_app()
    manager = open_manager(app)
    manager.primary.click()
    qtbot.waitUntil(lambda: manager.progress.value() > 50, timeout=20000)
    manager.cancel_button.click()
    qtbot.waitUntil(lambda: "paused" in manager.message.text(), timeout=10000)
    assert manager.primary.text() == "Resume download" and manager.primary.isEnabled()
    kept = (settings.models_dir / (catalog.file_name + ".part")).stat().st_size
    assert 0 < kept < catalog.size and not app.state.sam.ready
    server.delay = 0
    manager.primary.click()
    qtbot.waitUntil(lambda: app.state.sam.ready, timeout=30000)
    assert server.ranges == [None, f"bytes={kept}-"]


def test_a_wrong_checksum_is_reported_and_nothing_is_loaded(qtbot, make_app, settings, catalog, server,
                                                            checkpoint_bytes):
    server.files[catalog.file_name] = checkpoint_bytes[:-1] + bytes([checkpoint_bytes[-1] ^ 0xFF])
    settings.model_base_url = server.base_url
    app = make_app()
    manager = open_manager(app)
    manager.primary.click()
    qtbot.waitUntil(lambda: "SHA-256" in manager.message.text(), timeout=30000)
    assert "the file was deleted" in manager.message.text()
    assert not any(settings.models_dir.iterdir()) and not app.state.sam.ready
    assert manager.primary.text() == "Download"


def test_offline_says_so_and_the_manual_option_works(qtbot, make_app, settings, catalog, tiny_checkpoint):
    settings.model_base_url = refused_url()
    app = make_app()
    manager = open_manager(app)
    manager.primary.click()
    qtbot.waitUntil(lambda: "refused the connection" in manager.message.text(), timeout=20000)
    text = manager.message.text()
    assert "are you offline" in text and "Use a file I already have" in text and "sam_tiny_random.pth</a>" in text
    manager.use_local_file(tiny_checkpoint)  # what "Use a file I already have…" does after its file dialog
    qtbot.waitUntil(lambda: app.state.sam.ready, timeout=30000)
    assert (settings.models_dir / catalog.file_name).read_bytes() == tiny_checkpoint.read_bytes()


def test_a_file_that_is_no_official_checkpoint_is_refused(qtbot, make_app, settings, catalog, tmp_path):
    other = tmp_path / "fine_tuned.pth"
    other.write_bytes(b"not a checkpoint")
    manager = open_manager(make_app())
    manager.use_local_file(other)
    qtbot.waitUntil(lambda: "not one of the official checkpoints" in manager.message.text(), timeout=10000)
    assert "File &gt; Open checkpoint" in manager.message.text()
    assert not settings.models_dir.exists() or not any(settings.models_dir.iterdir())


def test_first_run_offers_the_manager_and_later_runs_do_not(qtbot, tmp_path, tiny_checkpoint):
    ini = tmp_path / "first_run.ini"
    app = start(parse_args(["--settings", str(ini), "--device", "cpu"]))
    try:
        qtbot.addWidget(app.window)
        assert app.window.model_manager is not None and app.window.model_manager.isVisible()
        assert not app.window.model_manager.isModal()
        assert app.window.model_manager.models_dir == tmp_path / "models"
    finally:
        app.window.close()
    later = start(parse_args(["--settings", str(ini), "--checkpoint", str(tiny_checkpoint), "--device", "cpu"]))
    try:
        qtbot.addWidget(later.window)
        assert later.window.model_manager is None
    finally:
        later.window.close()


def test_the_command_line_device_is_used_for_checkpoints_chosen_later(qtbot, tmp_path, tiny_checkpoint, monkeypatch):
    from app.ui import main_window

    app = start(parse_args(["--settings", str(tmp_path / "first_run.ini"), "--device", "cpu"]))
    try:
        qtbot.addWidget(app.window)
        asked = []
        monkeypatch.setattr(app.worker, "load_checkpoint", lambda path, device: asked.append((path, device)))
        app.window.model_manager.chosen.emit(str(tiny_checkpoint))
        monkeypatch.setattr(main_window.QFileDialog, "getOpenFileName", lambda *_a, **_k: (str(tiny_checkpoint), ""))
        app.window.ask_checkpoint()  # File > Open checkpoint…
        assert asked == [(str(tiny_checkpoint), "cpu")] * 2  # not the remembered (here: default) "auto"
    finally:
        app.window.close()


def test_a_remembered_checkpoint_that_fails_offers_the_manager_until_one_loads(qtbot, tmp_path, tiny_checkpoint):
    from app.services.settings import Settings

    ini, gone = tmp_path / "remembered.ini", tmp_path / "deleted" / "sam_vit_b_01ec64.pth"
    Settings(ini).checkpoint = str(gone)
    app = start(parse_args(["--settings", str(ini), "--device", "cpu"]))
    try:
        qtbot.addWidget(app.window)
        assert app.window.model_manager is None  # loading: not offered yet
        qtbot.waitUntil(lambda: app.window.model_manager is not None and app.window.model_manager.isVisible(),
                        timeout=20000)
        app.window.model_manager.hide()
        app.controllers.checkpoints.load(tiny_checkpoint)
        qtbot.waitUntil(lambda: app.state.sam.ready, timeout=20000)
        failures = []
        app.worker.failed.connect(lambda kind, _text: failures.append(kind))
        app.controllers.checkpoints.load(gone)  # once one has worked, a failure is only reported
        qtbot.waitUntil(lambda: failures == ["checkpoint"], timeout=20000)
        assert not app.window.model_manager.isVisible()
    finally:
        app.window.close()


def test_a_remembered_official_checkpoint_is_checked_once_before_it_loads(qtbot, make_app, settings, catalog,
                                                                        checkpoint_bytes):
    from app.services.checkpoints.verified import RECORD, installed

    path = settings.models_dir / catalog.file_name
    path.parent.mkdir(parents=True)
    path.write_bytes(checkpoint_bytes)  # right name and size, copied in by hand: never checked
    settings.checkpoint = str(path)
    app = make_app()
    qtbot.waitUntil(lambda: app.state.sam.ready, timeout=30000)
    assert installed(catalog, settings.models_dir) == path and (settings.models_dir / RECORD).exists()
    app.window.close()

    path.write_bytes(checkpoint_bytes[:-1] + bytes([checkpoint_bytes[-1] ^ 1]))  # changed, same size
    again = make_app()
    qtbot.waitUntil(lambda: "failed its SHA-256 check" in again.window.message_bar.text, timeout=30000)
    assert not again.state.sam.ready and not path.exists()  # never loaded; the wrong file is gone


def test_an_unexpected_job_error_comes_back_on_one_line(qtbot, monkeypatch, tmp_path):
    from app.services.checkpoints import adopt as model_adopt
    from app.services.checkpoints.jobs import ModelJobs

    def broken(*_args, **_kwargs):
        raise RuntimeError("the disk\n  exploded")

    monkeypatch.setattr(model_adopt, "adopt", broken)
    jobs = ModelJobs()
    with qtbot.waitSignal(jobs.failed, timeout=10000) as failed:
        jobs.adopt(tmp_path / "x.pth", tmp_path / "models")
    jobs.shutdown()
    assert failed.args == ["error", "RuntimeError: the disk exploded"] and not jobs.busy


def test_the_manager_lists_every_family_with_size_licence_use_and_check(qtbot, make_app):
    manager = open_manager(make_app())
    texts = [manager.list.item(row).text() for row in range(manager.list.count())]
    assert len(texts) == len(model_catalog.CATALOG) and all("Apache-2.0" in text for text in texts)
    for title in ("SAM vit_b", "SAM 2.1 hiera_t", "MobileSAM vit_t", "EfficientViT-SAM l0", "HQ-SAM vit_h"):
        assert any(text.startswith(title + " · ") for text in texts), title
    mobile = next(row for row, text in enumerate(texts) if text.startswith("MobileSAM"))
    assert "fastest on a CPU" in texts[mobile] and "~41 MB" in texts[mobile]
    manager.list.setCurrentRow(mobile)
    about = manager.about.text()
    assert about.startswith("mobile_sam.pt · ~41 MB · Apache-2.0") and "no SHA-256 is published" in about
    assert "ChaoningZhang/MobileSAM" in manager.list.item(mobile).toolTip()
    manager.list.setCurrentRow(0)
    assert "checked against its SHA-256" in manager.about.text()
    assert "ec2df627" in manager.list.item(0).toolTip()


def test_a_model_without_a_published_hash_downloads_checks_by_loading_and_labels(qtbot, make_app, settings,
                                                                               monkeypatch, tmp_path):
    from sam_core.testing import MOBILE_SAM_TEST_CONFIG, write_random_family_checkpoint

    data = write_random_family_checkpoint(tmp_path / "mobile.pt", MOBILE_SAM_TEST_CONFIG, seed=2).read_bytes()
    entry = CheckpointEntry("vit_t", "mobile_sam.pt", len(data), None, "fastest on a CPU", "MobileSAM",
                            loads_as=f"mobile_sam {MOBILE_SAM_TEST_CONFIG.variant}")
    monkeypatch.setattr(model_catalog, "CATALOG", (entry,))
    with LoopbackServer({"mobile_sam.pt": data}) as server:
        settings.model_base_url = server.base_url
        app = make_app()
        manager = open_manager(app)
        assert "no SHA-256 is published" in manager.about.text()
        manager.primary.click()
        qtbot.waitUntil(lambda: app.state.sam.ready, timeout=30000)
    assert "its size is right and it loads as MobileSAM vit_t" in manager.message.text()
    assert app.window.sam_label.text().startswith("MobileSAM ") and app.state.sam.title.startswith("MobileSAM")
    assert (settings.models_dir / "mobile_sam.pt").read_bytes() == data


def test_a_remembered_model_without_a_published_hash_is_loaded_as_a_check_once(qtbot, make_app, settings,
                                                                             monkeypatch, tmp_path):
    from app.services.checkpoints.verified import RECORD, installed
    from sam_core.testing import HQ_TINY_TEST_CONFIG, write_random_family_checkpoint

    path = settings.models_dir / "sam_hq_vit_tiny.pth"
    path.parent.mkdir(parents=True)
    write_random_family_checkpoint(path, HQ_TINY_TEST_CONFIG, seed=4)  # copied in by hand: never checked
    entry = CheckpointEntry("vit_tiny", path.name, path.stat().st_size, None, "for tests", "HQ-SAM",
                            loads_as=f"hq_sam {HQ_TINY_TEST_CONFIG.variant}")
    monkeypatch.setattr(model_catalog, "CATALOG", (entry,))
    settings.checkpoint = str(path)
    app = make_app()
    qtbot.waitUntil(lambda: app.state.sam.ready, timeout=30000)
    assert installed(entry, settings.models_dir) == path and "loads_as" in (settings.models_dir / RECORD).read_text()
    assert app.window.sam_label.text().startswith("HQ-SAM ")
    app.window.close()

    size = path.stat().st_size
    path.write_bytes(bytes(size))  # replaced by something of that size that is no checkpoint
    again = make_app()
    qtbot.waitUntil(lambda: "does not load as HQ-SAM vit_tiny" in again.window.message_bar.text, timeout=30000)
    assert not again.state.sam.ready and not path.exists()

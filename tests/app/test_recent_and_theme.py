"""File > Recent folders, and View > Theme (follow the system, light, dark), both remembered."""
from __future__ import annotations

import shutil

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from app.ui import theme
from tests.app.conftest import write_image


@pytest.fixture
def light_again():
    """The QApplication is shared by every test: leave it light."""
    yield
    qapp = QApplication.instance()
    qapp.setPalette(qapp.style().standardPalette())


def window_is_dark() -> bool:
    return QApplication.instance().palette().color(QPalette.Window).lightness() < 100


def test_recent_folders_most_recent_first_and_opened_from_the_menu(qtbot, make_app, image_folder, tmp_path, photo):
    other = tmp_path / "other"
    other.mkdir()
    write_image(other / "x.png", photo(50, 60, seed=4))
    gone = tmp_path / "gone"
    gone.mkdir()
    app = make_app(gone)
    app.navigation.open_folder(image_folder)
    app.navigation.open_folder(other)
    menu = app.window.recent_menu
    assert menu.folders() == [str(other), str(image_folder), str(gone)]
    assert app.window.menus["File"].actions().index(menu.menuAction()) == 1  # right below Open folder…
    shutil.rmtree(gone)
    menu.aboutToShow.emit()
    entries = {a.data(): a for a in menu.actions() if a.data()}
    assert not entries[str(gone)].isEnabled() and "(not found)" in entries[str(gone)].text()
    entries[str(image_folder)].trigger()
    assert app.state.project.folder == image_folder and menu.folders()[0] == str(image_folder)
    app.window.close()
    again = make_app()
    assert again.window.recent_menu.folders()[:2] == [str(image_folder), str(other)]  # remembered
    clear = next(a for a in again.window.recent_menu.actions() if a.text() == "Clear recent folders")
    clear.trigger()
    assert again.window.recent_menu.folders() == [] and again.settings.recent_folders == []


def test_the_dark_theme_is_chosen_under_view_and_remembered(qtbot, make_app, settings, light_again):
    app = make_app()
    actions = app.window.actions
    assert actions["view.theme_system"].isChecked()
    actions["view.theme_dark"].trigger()
    assert window_is_dark() and settings.theme == "dark" and QApplication.instance().style().name().lower() == "fusion"
    app.window.close()
    again = make_app()
    assert window_is_dark() and again.window.actions["view.theme_dark"].isChecked()
    again.window.actions["view.theme_light"].trigger()
    assert not window_is_dark() and settings.theme == "light"


def test_following_the_system_without_a_desktop_is_light(qtbot, make_app, monkeypatch, light_again):
    """Here (Linux, no desktop, no gsettings): Qt cannot tell and darkdetect says light."""
    darkdetect = pytest.importorskip("darkdetect")
    monkeypatch.setenv("PATH", "")  # no gsettings to ask, as on a bare server
    assert darkdetect.theme() == "Light" and theme.system_is_dark() is False
    app = make_app()
    app.window.actions["view.theme_system"].trigger()
    assert not window_is_dark()
    monkeypatch.setattr(darkdetect, "theme", lambda: "Dark")  # a GNOME desktop set to dark
    app.window.actions["view.theme_system"].trigger()
    assert window_is_dark()

"""The Statistics panel: the session drawn with pyqtgraph, in three small plots.

- annotations per hour over the session (a trailing hour, sampled each minute);
- the predicted-IoU histogram of the accepted masks;
- click-to-mask latency over time, with the recent p50 and p95.

It draws what :class:`app.model.session_stats.SessionStats` keeps and holds nothing
else. It never draws on every click: a change only marks it stale, and it redraws at
most once per ``interval_ms``, and only while it is on screen: shown, and in front when
its dock is a tab (Qt keeps a tab behind others "visible", moved off screen, so the window
connects its dock's ``visibilityChanged`` to :meth:`StatisticsPanel.set_in_front`). A
panel that comes back catches up at once. While on screen it also redraws once a minute,
since the hourly rate moves on with time alone.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.model.session_stats import SessionStats

ACCENT = (70, 130, 200)
TICK_MS = 60_000  # the hourly rate's sampling step


def time_axis(seconds: np.ndarray) -> tuple[np.ndarray, str]:
    """Seconds since the start in minutes, or in hours once the session is long."""
    if seconds.size and seconds[-1] > 3 * 3600:
        return seconds / 3600.0, "h"
    return seconds / 60.0, "min"


def small_plot() -> pg.PlotWidget:
    plot = pg.PlotWidget(background=None)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setMinimumHeight(70)
    plot.setFocusPolicy(Qt.NoFocus)
    plot.getPlotItem().setContentsMargins(0, 0, 4, 0)
    return plot


def caption() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # never widens the column
    return label


class StatisticsPanel(QWidget):
    def __init__(self, interval_ms: int = 1000, parent=None) -> None:
        super().__init__(parent)
        self._stats: SessionStats | None = None
        self._stale = False
        self._in_front = True
        self.interval_ms = interval_ms
        self.draws = 0  # how many times it has drawn (throttling is checked by it)
        self.rate_caption, self.iou_caption, self.latency_caption = caption(), caption(), caption()
        self.rate_plot, self.iou_plot, self.latency_plot = small_plot(), small_plot(), small_plot()
        self.rate_curve = self.rate_plot.plot(pen=pg.mkPen(ACCENT, width=2), fillLevel=0, brush=(*ACCENT, 60))
        self.iou_bars = pg.BarGraphItem(x0=[], width=[], height=[], brush=ACCENT, pen=None)
        self.iou_plot.addItem(self.iou_bars)
        self.iou_plot.setXRange(0, 1, padding=0.02)
        self.latency_curve = self.latency_plot.plot(pen=pg.mkPen(ACCENT, width=1))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        for label, plot in ((self.rate_caption, self.rate_plot), (self.iou_caption, self.iou_plot),
                            (self.latency_caption, self.latency_plot)):
            layout.addWidget(label)
            layout.addWidget(plot, 1)
        self._throttle = QTimer(self, singleShot=True, timeout=self._draw_if_on_screen)
        self._tick = QTimer(self, interval=TICK_MS, timeout=self._mark_stale)
        self._draw_empty()

    def follow(self, stats: SessionStats | None) -> None:
        """Draw ``stats`` from now on (None: nothing more)."""
        if self._stats is not None:
            self._stats.events.changed.disconnect(self._mark_stale)
        self._stats = stats
        if stats is not None:
            stats.events.changed.connect(self._mark_stale)
        self._mark_stale()

    # -- throttling --------------------------------------------------------------------------------
    @property
    def stale(self) -> bool:
        return self._stale

    @property
    def on_screen(self) -> bool:
        return self.isVisible() and self._in_front

    def set_in_front(self, on: bool) -> None:
        """Whether its dock's tab is the one in front (a dock's ``visibilityChanged``)."""
        self._in_front = bool(on)
        self._follow_screen()

    def _mark_stale(self, _event=None) -> None:
        self._stale = True
        if self.on_screen and not self._throttle.isActive():
            self._throttle.start(self.interval_ms)

    def _draw_if_on_screen(self) -> None:
        if self._stale and self.on_screen:
            self.redraw()

    def _follow_screen(self) -> None:
        """The minute tick runs while on screen; coming back, it catches up at once."""
        if not self.on_screen:
            self._tick.stop()
            return
        if not self._tick.isActive():
            self._tick.start()
        if self._stale:
            self._throttle.start(0)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._follow_screen()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self._follow_screen()

    # -- drawing ----------------------------------------------------------------------------------
    def _draw_empty(self) -> None:
        self.rate_caption.setText("Annotations per hour")
        self.iou_caption.setText("Predicted IoU of accepted masks")
        self.latency_caption.setText("Click → mask (ms)")

    def redraw(self) -> None:
        """Draw the figures now (the throttle calls this)."""
        self._stale = False
        stats = self._stats
        if stats is None:
            return
        self.draws += 1
        t, rate = stats.rate_per_hour()
        x, unit = time_axis(t)
        self.rate_curve.setData(x, rate)
        self.rate_plot.setLabel("bottom", unit)
        now = f"{rate[-1]:.0f}/h now, " if rate.size else ""
        self.rate_caption.setText(f"Annotations per hour: {now}{stats.accepted} in all")
        self.rate_caption.setToolTip("Annotations accepted in the last hour (or the session so far, while "
                                     "shorter), per hour; undo takes one back")

        edges, counts = stats.iou_histogram()
        self.iou_bars.setOpts(x0=edges[:-1], width=np.diff(edges), height=counts)
        self.iou_plot.setYRange(0, max(1, int(counts.max(initial=0))), padding=0.05)
        with_iou = int(counts.sum())
        mean = float((counts * (edges[:-1] + edges[1:]) / 2).sum() / with_iou) if with_iou else None
        self.iou_caption.setText("Predicted IoU of accepted masks" +
                                 (f": {with_iou}, mean {mean:.2f}" if mean is not None else ""))
        self.iou_caption.setToolTip("SAM's own guess of each accepted mask's IoU, in bins of "
                                    f"{1 / stats.iou_bins:.2f}")

        t, ms = stats.latency()
        x, unit = time_axis(t)
        self.latency_curve.setData(x, ms)
        self.latency_plot.setLabel("bottom", unit)
        percentiles = stats.latency_percentiles()
        self.latency_caption.setText("Click → mask (ms)" if percentiles is None else
                                     f"Click → mask: p50 {percentiles[0]:.0f}, p95 {percentiles[1]:.0f} ms")


__all__ = ["StatisticsPanel"]

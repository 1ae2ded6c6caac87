"""Live views of a time-resolved PL run: the latest streak image of one time range with a
region of interest whose decay is fitted as it moves, and the long-delay PL against
photon fluence with the live cross-section fit."""

import collections
import functools
import math

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtCore, QtWidgets

from procedures.trpl import EDGE, TRPL, decay

from ...analysis import decays, models
from ...units import pretty
from ..background import Latest
from .base import PALETTE, View, colour_bar, evenly_spaced, log_axes

DEFAULT_WINDOW = (TRPL.window_start.default, TRPL.window_stop.default)     # nm


def _lifetime(ns: float) -> str:
    return f"{ns * 1e3:.3g} ps" if ns < 1 else f"{ns:.3g} ns"


def _number(value) -> float:
    """A result value as a float (a stored run's JSON has None for NaN)."""
    return math.nan if value is None else float(value)


class StreakView(View):
    """The newest image of the ``name`` range (log colour, time running down) and the
    decay inside the region of interest (its wavelengths and times), fitted with one or
    two exponentials ⊗ a Gaussian IRF whenever the image or the region changes. The fit
    (~50-150 ms) runs off the GUI thread on the newest decay; the view draws each fit as
    it finishes."""

    def __init__(self, name="long", parent=None):
        super().__init__(parent)
        self.name, self.array, self.axis = name, f"streak_{name}", f"time_{name}"
        self.title = f"Streak ({name} range)"
        self.image_plot = pg.PlotWidget()
        self.image_plot.invertY(True)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.image_plot.addItem(self.image)
        self.bar = colour_bar(self.image_plot.getPlotItem(), self.image, "log₁₀ counts")
        self.roi = pg.RectROI((0, 0), (1, 1), pen=pg.mkPen(PALETTE[1], width=2))
        self.roi.sigRegionChangeFinished.connect(self.refit)
        self.image_plot.addItem(self.roi)
        self.decay_plot = pg.PlotWidget(axisItems=log_axes())
        self.decay_plot.setLogMode(x=False, y=True)
        self.decay_plot.showGrid(x=True, y=True, alpha=0.2)
        self.data = self.decay_plot.plot(pen=None, symbol="o", symbolSize=3, symbolPen=None,
                                         symbolBrush=PALETTE[0])
        self.fit = self.decay_plot.plot(pen=pg.mkPen(PALETTE[3], width=2))
        splitter = QtWidgets.QSplitter()
        splitter.addWidget(self.image_plot)
        splitter.addWidget(self.decay_plot)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.band = DEFAULT_WINDOW              # nm, where the region starts
        self.recorded = self.time = None        # the newest image only: bounded memory
        self.pedestal = 0.0                     # counts added to it when it was recorded
        self.placed = False
        self.result = None                      # the region's fit values, or None
        self.lifetimes = []                     # its lifetimes (ns), shortest first
        self.fitter = Latest(functools.partial(decays.fit_fewest, most=2), self)
        self.fitter.done.connect(self.show_fit)

    def reset(self, start):
        super().reset(start)
        parameters = getattr(start, "parameters", {}) or {}
        self.band = (parameters.get("window_start", DEFAULT_WINDOW[0]),
                     parameters.get("window_stop", DEFAULT_WINDOW[1]))
        self.recorded = self.time = self.result = None
        self.fitter.cancel()
        self.placed = False
        self.image.clear()
        self.data.clear()
        self.fit.clear()
        self.image_plot.setLabel("left", "time after the trigger (ns)")
        self.decay_plot.setLabel("bottom", "time after the trigger (ns)")
        self.decay_plot.setLabel("left", "region of interest (counts per row)")
        self.decay_plot.setTitle("")

    def set_axes(self, axes):
        super().set_axes(axes)
        if "wavelength" in axes:
            self.image_plot.setLabel("bottom", f"wavelength ({pretty(axes['wavelength'][1])})")

    def add_steps(self, steps):
        newest = next((step for step in reversed(steps) if self.array in step.arrays), None)
        if newest is None or self.axis not in self.axes or "wavelength" not in self.axes:
            return
        s = newest.scalars
        self.recorded, self.pedestal = newest.arrays[self.array], s.get("pedestal", 0.0)
        self.time = t = np.asarray(self.axes[self.axis][0], float) + s.get(f"{self.name}_delay", 0.0)
        wl = np.asarray(self.axes["wavelength"][0], float)
        image = np.subtract(self.recorded, np.float32(self.pedestal), dtype=np.float32)
        image = evenly_spaced(t, evenly_spaced(wl, image, axis=1), axis=0)
        np.log10(np.maximum(image, 1.0, out=image), out=image)
        levels = (image.min(), max(image.max(), image.min() + 0.1))
        self.image.setImage(image.T, levels=levels)
        self.bar.setLevels(levels)
        self.image.setRect(QtCore.QRectF(wl[0], t[0], wl[-1] - wl[0], t[-1] - t[0]))
        if not self.placed:            # the exciton window over the fitted rows
            end = t[-1] - EDGE * (t[-1] - t[0])
            self.roi.setPos((self.band[0], t[0]), finish=False)
            self.roi.setSize((self.band[1] - self.band[0], end - t[0]), finish=False)
            self.placed = True
        self.refit()

    def region(self):
        """(wavelength start, stop), (time start, stop) of the region of interest."""
        (x, y), (w, h) = self.roi.pos(), self.roi.size()
        return (min(x, x + w), max(x, x + w)), (min(y, y + h), max(y, y + h))

    def refit(self, *_):
        """Decay of the region now, its fit when the fitter is free (``show_fit``)."""
        if self.recorded is None:
            return
        wl = np.asarray(self.axes["wavelength"][0], float)
        window, (start, stop) = self.region()
        rows = (self.time >= start) & (self.time <= stop)
        inside = (wl >= window[0]) & (wl <= window[1])
        if rows.sum() < 20 or not inside.any():
            self.fitter.cancel()
            self.result = None
            self.data.clear()
            self.fit.clear()
            self.decay_plot.setTitle("region too small", size="10pt")
            return
        counts = self.recorded[:, inside] - self.pedestal           # the window's columns only
        t, curve = self.time[rows], decay(self.time, wl[inside], counts, window)[rows]
        positive = curve > 0
        self.data.setData(t[positive], curve[positive])
        self.fitter.request((window, (start, stop), t), t, curve)

    def show_fit(self, region, fit):
        """Draw a finished fit: of the newest decay, or of an older one while the newest
        waits for the fitter."""
        window, (start, stop), t = region
        if isinstance(fit, Exception):
            self.result = None
            self.fit.clear()
            self.decay_plot.setTitle(f"no fit: {fit}", size="10pt")
            return
        v = fit.values
        self.result = v
        self.lifetimes = [v[f"tau{i}"] for i in range(1, 3) if f"tau{i}" in v]
        amplitudes = [v[f"a{i}"] for i in range(1, len(self.lifetimes) + 1)]
        model = models.exp_decay(t, amplitudes, self.lifetimes, v["t0"], v["irf_fwhm"], v["background"])
        self.fit.setData(t[model > 0], model[model > 0])
        taus = ", ".join(f"τ{'₁₂'[i]} = {_lifetime(tau)}" for i, tau in enumerate(self.lifetimes))
        self.decay_plot.setTitle(f"{window[0]:.0f}–{window[1]:.0f} nm, {start:.3g}–{stop:.3g} ns<br>"
                                 f"{taus}, IRF {v['irf_fwhm'] * 1e3:.3g} ps", size="10pt")


class LongDelayView(View):
    """Long-delay PL against photon fluence (log axis) and the live fit A(1 − e^{−σj})."""

    title = "Long-delay PL"
    keep = 10_000

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget(axisItems=log_axes())
        self.plot.setLogMode(x=True, y=False)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.addLegend(offset=(10, 10))
        self.points = self.plot.plot(pen=None, symbol="o", symbolSize=8, symbolBrush=PALETTE[0],
                                     name="long-delay PL (exciton window)")
        self.curve = self.plot.plot(pen=pg.mkPen(PALETTE[1], width=2), name="A(1 − e^(−σj))")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.rows = collections.deque(maxlen=self.keep)        # (photon fluence, PL)
        self.sigma = None

    def reset(self, start):
        super().reset(start)
        self.rows.clear()
        self.sigma = None
        self.points.clear()
        self.curve.clear()
        self.plot.setLabel("bottom", "photon fluence j (photons/cm²)")
        self.plot.setLabel("left", f"long-delay PL ({self.units.get('long_delay_pl', 'counts')}/pulse)")
        self.plot.setTitle("")

    def add_steps(self, steps):
        for step in steps:
            j, pl = step.scalars.get("photon_fluence", math.nan), step.scalars.get("long_delay_pl", math.nan)
            if j > 0 and math.isfinite(pl):
                self.rows.append((j, pl))
        if self.rows:
            j, pl = np.array(self.rows).T
            self.points.setData(j, pl)

    def set_results(self, results):
        fit = results.get("cross_section")
        if not fit or not self.rows:
            return
        self.sigma = _number(fit["value"])
        j = np.array(self.rows)[:, 0]
        x = np.geomspace(j.min() / 2, j.max() * 2, 200)
        self.curve.setData(x, models.saturation(x, _number(fit["amplitude"]), self.sigma))
        self.plot.setTitle(f"σ = {self.sigma:.3g} ± {_number(fit['error']):.2g} cm² "
                           f"({fit['points']} fluences)")


VIEWS = {"streak": StreakView, "long-delay-pl": LongDelayView}

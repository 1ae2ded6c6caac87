"""Live view of the polarization procedure: a polar plot of every line's intensity
against the analyzer angle, each normalized to its fitted maximum, with its Malus fit."""

import collections

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtWidgets

from .base import PALETTE, View

COMPONENTS = ("upper", "lower", "stimulated", "background")
COLORS = dict(zip(COMPONENTS, (PALETTE[0], PALETTE[1], PALETTE[3], "#777777")))
RINGS = (0.25, 0.5, 0.75, 1.0)


class PolarView(View):
    """Intensity / fitted maximum at radius r, analyzer angle θ as the polar angle."""

    title = "Polar (Malus)"
    keep = 5000                  # points per line kept (ring buffer)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setAspectLocked(True)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setTitle("radius: intensity / fitted maximum (Malus fit), polar angle: analyzer angle (°)",
                           size="9pt")
        self.plot.addLegend(offset=(5, 5))
        circle = np.radians(np.linspace(0, 360, 181))
        for r in RINGS:
            self.plot.plot(r * np.cos(circle), r * np.sin(circle), pen=pg.mkPen("#cccccc"))
            label = pg.TextItem(f"{r:g}", color="#888888", anchor=(0, 1))
            label.setPos(r * np.cos(np.radians(20)), r * np.sin(np.radians(20)))
            self.plot.addItem(label)
        for angle in range(0, 360, 45):
            a = np.radians(angle)
            self.plot.plot([0, 1.05 * np.cos(a)], [0, 1.05 * np.sin(a)], pen=pg.mkPen("#dddddd"))
            label = pg.TextItem(f"{angle}°", color="#555555", anchor=(0.5, 0.5))
            label.setPos(1.15 * np.cos(a), 1.15 * np.sin(a))
            self.plot.addItem(label)
        self.points = {n: self.plot.plot(pen=None, symbol="o", symbolSize=6, symbolBrush=COLORS[n],
                                         symbolPen=None, name=n) for n in COMPONENTS}
        self.fits = {n: self.plot.plot(pen=pg.mkPen(COLORS[n], width=2)) for n in COMPONENTS}
        self.label = QtWidgets.QLabel("")
        self.label.setWordWrap(True)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        layout.addWidget(self.label)
        self.angle = collections.deque(maxlen=self.keep)
        self.intensity = {n: collections.deque(maxlen=self.keep) for n in COMPONENTS}
        self.maximum = {}                # line -> fitted I_min + I_max

    def reset(self, start):
        super().reset(start)
        self.angle.clear()
        for n in COMPONENTS:
            self.intensity[n].clear()
            self.points[n].clear()
            self.fits[n].clear()
        self.maximum = {}
        self.label.setText("")

    def add_steps(self, steps):
        for step in steps:
            self.angle.append(step.scalars.get("angle_measured", np.nan))
            for n in COMPONENTS:
                self.intensity[n].append(step.scalars.get(f"intensity_{n}", np.nan))
        self.redraw()

    def normalized(self, name) -> np.ndarray:
        """The line's intensities over its fitted maximum (the measured one before a fit)."""
        values = np.asarray(self.intensity[name], float)
        top = self.maximum.get(name) or (np.nanmax(values) if np.isfinite(values).any() else 1.0)
        return values / top

    def redraw(self):
        theta = np.radians(np.asarray(self.angle, float))
        for n in COMPONENTS:
            r = self.normalized(n)
            ok = np.isfinite(r) & np.isfinite(theta)
            if ok.any():
                self.points[n].setData(r[ok] * np.cos(theta[ok]), r[ok] * np.sin(theta[ok]))
            else:
                self.points[n].clear()

    def set_results(self, results):
        lines = results.get("lines", {})
        curve = np.radians(np.linspace(0, 360, 361))
        texts = []
        for n in COMPONENTS:
            entry = lines.get(n)
            if not entry:
                self.fits[n].clear()
                continue
            top = entry["i_min"] + entry["i_max"]
            self.maximum[n] = top if top > 0 else None
            malus = entry["i_min"] + entry["i_max"] * np.cos(curve - np.radians(entry["theta0"])) ** 2
            r = malus / (top or 1.0)
            self.fits[n].setData(r * np.cos(curve), r * np.sin(curve))
            texts.append(f"{n}: DOLP {entry['dolp']:.3f} ± {entry['dolp_error']:.3f}, "
                         f"θ0 {entry['theta0']:.1f}°")
        splitting = results.get("splitting")
        if splitting:
            texts.append(f"splitting {splitting['value']:.3f} ± {splitting['error']:.3f} meV")
        self.label.setText("\n".join(texts))
        self.redraw()


VIEWS = {"polarization": PolarView}

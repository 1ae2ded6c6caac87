"""Live views of a photostability run: the output against pump shots (or beam-on time)
with the fitted first-order decay, and the latest stored spectrum."""

import collections
import math

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtWidgets

from .base import PALETTE, SpectrumView, View

OUTPUTS = (("stimulated", "intensity_stimulated", PALETTE[0]), ("total", "intensity_total", "#777777"))


def _number(value) -> float:
    """A result value as a float (a stored run's JSON has None for NaN)."""
    return math.nan if value is None else float(value)


class DecayView(View):
    """Stimulated and total output divided by the fitted output at zero shots, against
    shots or beam-on time; the fitted decay and the retained fraction at the reported
    shot count."""

    title = "Output decay"
    keep = 50_000          # steps kept (ring buffer)
    AXES = {"shots": ("pump shots", ""), "time": ("beam-on time", "h")}

    def __init__(self, x="shots", parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.addLegend(offset=(10, -10))
        self.xbox = QtWidgets.QComboBox()
        self.xbox.addItems(list(self.AXES))
        self.xbox.setCurrentText(x)
        self.xbox.currentTextChanged.connect(self.redraw)
        self.label = QtWidgets.QLabel("")
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(QtWidgets.QLabel("against"))
        bar.addWidget(self.xbox)
        bar.addWidget(self.label, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.plot)
        self.rows = collections.deque(maxlen=self.keep)     # (shots, elapsed s, stimulated, total)
        self.curves = {name: (self.plot.plot(pen=None, symbol="o", symbolSize=4, symbolBrush=colour,
                                             symbolPen=None, name=name),
                              self.plot.plot(pen=pg.mkPen(colour, width=2)))
                       for name, _, colour in OUTPUTS}
        self.results: dict = {}

    def reset(self, start):
        super().reset(start)
        self.rows.clear()
        self.results = {}
        self.plot.setLabel("left", "output / fitted output at zero shots")
        self.redraw()

    def add_steps(self, steps):
        for step in steps:
            s = step.scalars
            if s.get("template", 1) == 0:
                self.rows.append((s["shots"], s["elapsed"]) + tuple(s[c] for _, c, _ in OUTPUTS))
        self.redraw()

    def set_results(self, results):
        self.results = results
        self.redraw()

    def redraw(self, *_):
        name, unit = self.AXES[self.xbox.currentText()]
        self.plot.setLabel("bottom", f"{name} ({unit})" if unit else name)
        data = np.array(self.rows, float).reshape(-1, 4)
        shots = data[:, 0]
        per_x = 1.0 if self.xbox.currentText() == "shots" else \
            (float(np.median(shots / data[:, 1])) * 3600 if len(data) else 1.0)
        for column, (output, _, _) in enumerate(OUTPUTS, start=2):
            points, fit = self.curves[output]
            decay = self.results.get(output) or {}
            initial = _number(decay.get("initial")) if decay else (data[0, column] if len(data) else 1.0)
            points.setData(shots / per_x, data[:, column] / initial)
            if decay and len(data):
                x = np.linspace(0, shots.max(), 100)
                fit.setData(x / per_x, np.exp(_number(decay["slope"]) * x))
            else:
                fit.clear()
        d = self.results.get("stimulated")
        self.label.setText("" if not d else
                           f"ASE retained {100 * _number(d['retained_at']):.1f} ± "
                           f"{100 * _number(d['retained_at_error']):.1f} % after {_number(d['report_shots']):.3g} shots"
                           + (" (extrapolated)" if d.get("extrapolated") else ""))


class StoredSpectrumView(SpectrumView):
    """The latest stored spectra: steps whose spectrum was not stored (NaN rows) are skipped."""

    title = "Spectrum"

    def add_steps(self, steps):
        super().add_steps([step for step in steps
                           if self.array in step.arrays and np.isfinite(step.arrays[self.array][0])])


VIEWS = {"output-decay": DecayView, "stored-spectrum": StoredSpectrumView}

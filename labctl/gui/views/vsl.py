"""Live view of a variable-stripe-length run: the stimulated band against stripe length
for every fluence (log scale), with the live fit I(L) = (A/g)(e^{gL} − 1)."""

import collections
import math

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtWidgets

from ...analysis import models
from ...analysis.gain import MM_PER_CM
from ...units import pretty
from .base import PALETTE, View


def _number(value) -> float:
    """A result value as a float (a stored run's JSON has None for NaN)."""
    return math.nan if value is None else float(value)


class GainCurveView(View):
    """I(L) per fluence: the stimulated band with the template's seed added back (as the
    analysis fits it), the fitted curve solid up to gain saturation, dotted beyond, and
    the lengths left out (gain saturation, too faint) as open symbols."""

    title = "VSL gain"
    keep = 20_000          # lengths kept (ring buffer)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setLogMode(x=False, y=True)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.plot.addLegend(offset=(-10, 10))
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.points = collections.deque(maxlen=self.keep)      # (fluence target, length, intensity)
        self.blocks: dict = {}
        self.series: dict = {}                                  # fluence target -> (points, fit) items

    def reset(self, start):
        super().reset(start)
        self.points.clear()
        self.blocks = {}
        self.plot.setLabel("bottom", f"stripe length L ({pretty(self.units.get('length', 'mm'))})")
        self.plot.setLabel("left", f"stimulated band ({pretty(self.units.get('intensity_stimulated', ''))})")
        self.redraw()

    def add_steps(self, steps):
        for step in steps:
            s = step.scalars
            if s.get("template", 1) == 0 and math.isfinite(s.get("intensity_stimulated", math.nan)):
                self.points.append((s["fluence_target"], s["length"], s["intensity_stimulated"]))
        self.redraw()

    def set_results(self, results):
        self.blocks = {b["fluence_target"]: b for b in results.get("fluences", [])}
        self.redraw()

    def redraw(self):
        self.plot.clear()
        self.legend.clear()
        self.series = {}
        data = np.array(self.points, float).reshape(-1, 3)
        for i, target in enumerate(np.unique(data[:, 0])):
            colour = PALETTE[i % len(PALETTE)]
            rows = data[data[:, 0] == target]
            length, value = rows[:, 1], rows[:, 2]
            block = self.blocks.get(target, {})
            if block.get("found"):
                value = value + _number(block["seed"]) * length / _number(block["template_length"])
            ok = value > 0
            excluded = np.isin(length, block.get("excluded_lengths", []) + block.get("faint_lengths", []))
            name = f"{target:.4g} {pretty('uJ/cm^2')}"
            if block.get("found"):
                name = (f"{_number(block['fluence']):.4g} {pretty('uJ/cm^2')}: g = {_number(block['gain']):.4g} "
                        f"± {_number(block['error']):.2g} cm⁻¹")
            points = self.plot.plot(length[ok & ~excluded], value[ok & ~excluded], pen=None, symbol="o",
                                    symbolSize=7, symbolBrush=colour, symbolPen=colour, name=name)
            self.plot.plot(length[ok & excluded], value[ok & excluded], pen=None, symbol="o", symbolSize=7,
                           symbolBrush=None, symbolPen=colour)
            fit = None
            if block.get("found") and length.size:
                x = np.linspace(min(0.02, length.min()), length.max(), 200)
                y = models.vsl(x / MM_PER_CM, _number(block["gain"]), _number(block["amplitude"]))
                end = _number(block["saturation_length"])
                inside = x <= end if math.isfinite(end) else np.ones(x.size, bool)
                fit = self.plot.plot(x[inside], y[inside], pen=pg.mkPen(colour, width=2))
                self.plot.plot(x[~inside], y[~inside], pen=pg.mkPen(colour, width=1, style=2))
            self.series[target] = (points, fit)


VIEWS = {"vsl-gain": GainCurveView}

"""Live views of bias series: the threshold against the bias (with the inner runs'
intervals and the live linear trend) and the current through the device."""

import collections

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtWidgets

from .base import PALETTE, View, _label

KEEP = 10_000          # points kept (ring buffers)


class _Plot(View):
    """One plot widget with labelled axes and a ring buffer of (x, y, ...) rows."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.addLegend(offset=(-10, 10))
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.rows = collections.deque(maxlen=KEEP)

    def reset(self, start):
        super().reset(start)
        self.rows.clear()

    def table(self):
        return np.array(self.rows, float).T if self.rows else None


class ThresholdVsBiasView(_Plot):
    """ASE threshold of every inner run against the bias, its 95 % interval as error
    bars, and the fitted linear trend."""

    title = "Threshold vs bias"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.points = self.plot.plot(pen=None, symbol="o", symbolSize=8, symbolBrush=PALETTE[0],
                                     name="threshold")
        self.bars = pg.ErrorBarItem(pen=pg.mkPen(PALETTE[0]), beam=0.3)
        self.plot.addItem(self.bars)
        self.trend = self.plot.plot(pen=pg.mkPen(PALETTE[1], width=2), name="linear trend")

    def reset(self, start):
        super().reset(start)
        self.plot.setLabel("bottom", _label("bias", self.units.get("bias", "V")))
        self.plot.setLabel("left", _label("threshold", self.units.get("threshold", "")))
        self.points.clear()
        self.trend.clear()
        self.bars.setData(x=np.zeros(0), y=np.zeros(0), top=np.zeros(0), bottom=np.zeros(0))

    def add_steps(self, steps):
        for step in steps:
            s = step.scalars
            self.rows.append((s.get("bias", np.nan), s.get("threshold", np.nan),
                              s.get("threshold_low", np.nan), s.get("threshold_high", np.nan)))
        data = self.table()
        if data is None:
            return
        bias, value, low, high = data
        ok = np.isfinite(value)
        self.points.setData(bias[ok], value[ok])
        self.bars.setData(x=bias[ok], y=value[ok], top=high[ok] - value[ok], bottom=value[ok] - low[ok])

    def set_results(self, results):
        t = results.get("trend")
        data = self.table()
        if not t or data is None:
            self.trend.clear()
            return
        bias = np.array([np.nanmin(data[0]), np.nanmax(data[0])])
        self.trend.setData(bias, t["intercept"] + t["slope"] * bias)


class BiasCurrentView(_Plot):
    """Measured current against the measured voltage at every point of the series;
    points held at the compliance limit are marked."""

    title = "Bias and current"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.curve = self.plot.plot(pen=pg.mkPen(PALETTE[4], width=1), symbol="s", symbolSize=7,
                                    symbolBrush=PALETTE[4], name="current")
        self.held = self.plot.plot(pen=None, symbol="x", symbolSize=12, symbolPen=pg.mkPen(PALETTE[3], width=2),
                                   name="at compliance")

    def reset(self, start):
        super().reset(start)
        self.plot.setLabel("bottom", _label("voltage", self.units.get("voltage", "V")))
        self.plot.setLabel("left", _label("current", self.units.get("current", "A")))
        self.curve.clear()
        self.held.clear()

    def add_steps(self, steps):
        for step in steps:
            s = step.scalars
            self.rows.append((s.get("voltage", np.nan), s.get("current", np.nan), s.get("in_compliance", 0.0)))
        data = self.table()
        if data is None:
            return
        volts, amps, held = data
        self.curve.setData(volts, amps)
        self.held.setData(volts[held == 1], amps[held == 1])


VIEWS = {"threshold-vs-bias": ThresholdVsBiasView, "bias-current": BiasCurrentView}

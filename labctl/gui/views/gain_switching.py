"""Live view of gain switching: ASE and spontaneous intensity against time, with the
bias on a second axis."""

import collections

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtWidgets

from .base import PALETTE, View, _label

KEEP = 50_000          # points kept on screen (ring buffer)


class SwitchingView(View):
    """Intensities of every spectrum against its time stamp; the bias set (step trace,
    right axis); the live switching contrast and response time in the title."""

    title = "Gain switching"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.addLegend(offset=(-10, 10))
        self.ase = self.plot.plot(pen=pg.mkPen(PALETTE[2], width=1.5), name="ASE")
        self.spontaneous = self.plot.plot(pen=pg.mkPen(PALETTE[0], width=1.5), name="spontaneous")
        item = self.plot.getPlotItem()
        self.right = pg.ViewBox()
        item.showAxis("right")
        item.scene().addItem(self.right)
        item.getAxis("right").linkToView(self.right)
        self.right.setXLink(item)
        item.vb.sigResized.connect(lambda: self.right.setGeometry(item.vb.sceneBoundingRect()))
        self.bias = pg.PlotDataItem(pen=pg.mkPen("k", width=1.2), stepMode="right")
        self.right.addItem(self.bias)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.rows = collections.deque(maxlen=KEEP)
        self.summary = ""

    def reset(self, start):
        super().reset(start)
        self.rows.clear()
        self.summary = ""
        for curve in (self.ase, self.spontaneous, self.bias):
            curve.clear()
        self.plot.setLabel("bottom", _label("time", self.units.get("time", "s")))
        self.plot.setLabel("left", _label("intensity", self.units.get("intensity_ase", "")))
        self.plot.getPlotItem().getAxis("right").setLabel(_label("bias", self.units.get("bias", "V")))
        self.plot.setTitle("")

    def add_steps(self, steps):
        for step in steps:
            s = step.scalars
            self.rows.append((s.get("time", np.nan), s.get("intensity_ase", np.nan),
                              s.get("intensity_spontaneous", np.nan), s.get("bias", np.nan)))
        if not self.rows:
            return
        t, ase, spontaneous, bias = np.array(self.rows, float).T
        self.ase.setData(t, ase)
        self.spontaneous.setData(t, spontaneous)
        self.bias.setData(t, bias)

    def set_results(self, results):
        parts = []
        if "contrast" in results:
            parts.append(f"ASE window on/off {results['contrast']:.3g}")
        if "response_time" in results:
            parts.append(f"τ {results['response_time'] * 1e3:.3g} ms")
        if "reversible" in results:
            parts.append("reversible" if results["reversible"] else "NOT reversible")
        self.summary = ", ".join(parts)
        self.plot.setTitle(self.summary)


VIEWS = {"switching": SwitchingView}

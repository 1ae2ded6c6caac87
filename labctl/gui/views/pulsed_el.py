"""Live views of pulsed-electroluminescence runs: the J–V curve and the EL against the
current density (amplitude sweep only; the width scan stays at one amplitude)."""

import collections

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtWidgets

from ...units import pretty
from .base import PALETTE, LightInOutView, View, _label

KEEP = 20_000          # points kept by the live views (ring buffers)


def _sweep(steps):
    """The steps of the amplitude sweep."""
    return [step for step in steps if step.scalars.get("scan", 0.0) == 0.0]


class JVView(View):
    """Current density against the voltage across the device; points held at the
    source-meter's compliance and a device failure are marked."""

    title = "J–V"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.addLegend(offset=(10, 10))
        self.curve = self.plot.plot(pen=pg.mkPen(PALETTE[0], width=1), symbol="o", symbolSize=6,
                                    symbolBrush=PALETTE[0], name="measured")
        self.held = self.plot.plot(pen=None, symbol="d", symbolSize=10, symbolBrush=None,
                                   symbolPen=pg.mkPen(PALETTE[4], width=2), name="at compliance")
        self.note = pg.TextItem(color=PALETTE[3], anchor=(0, 0))
        self.plot.addItem(self.note)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.points = collections.deque(maxlen=KEEP)

    def reset(self, start):
        super().reset(start)
        self.points.clear()
        self.curve.clear()
        self.held.clear()
        self.note.setText("")
        self.plot.setLabel("bottom", _label("voltage across the device", self.units.get("voltage", "V")))
        self.plot.setLabel("left", _label("current density", self.units.get("current_density", "A/cm^2")))

    def add_steps(self, steps):
        for step in _sweep(steps):
            s = step.scalars
            self.points.append((s.get("voltage", np.nan), s.get("current_density", np.nan),
                                s.get("in_compliance", 0.0)))
        if not self.points:
            return
        v, j, held = np.array(self.points, float).T
        self.curve.setData(v, j)
        self.held.setData(v[held == 1], j[held == 1])

    def set_results(self, results):
        failure = results.get("failure") or {}
        r = results.get("series_resistance")
        text = failure["message"] if failure.get("found") else \
            f"differential resistance {r['value']:.3g} Ω" if r else ""
        self.note.setText(text)
        self.note.setColor(PALETTE[3] if failure.get("found") else PALETTE[1])
        if self.points:
            v, j, _ = np.array(self.points, float).T
            self.note.setPos(np.nanmin(v), np.nanmax(j))


class ELvsJView(LightInOutView):
    """Stimulated band and whole EL against the current density (log-log), the live EL
    threshold with its interval, and the FWHM (meV) on the right axis."""

    title = "EL vs J"

    def __init__(self, parent=None):
        super().__init__(x="current_density", y="el_stimulated", total="el_intensity", width="fwhm",
                         parent=parent)

    def reset(self, start):
        super().reset(start)
        self.data = {key: collections.deque(maxlen=KEEP) for key in self.data}
        self.plot.setLabel("left", _label("EL", self.units.get(self.y, "")))
        self.plot.getPlotItem().legend.items[0][1].setText("stimulated band")
        self.plot.getPlotItem().legend.items[1][1].setText("whole EL")

    def add_steps(self, steps):
        super().add_steps(_sweep(steps))

    def set_results(self, results):
        super().set_results(results)
        if self.threshold:
            self.line.label.setFormat(f"EL threshold {self.threshold['value']:.3g} {pretty('A/cm^2')}")


VIEWS = {"el-jv": JVView, "el-vs-j": ELvsJView}

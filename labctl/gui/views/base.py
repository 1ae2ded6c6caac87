"""Live views of a run, fed from the record stream or from a stored run.

Every view has the same four entry points: ``reset(start)`` for a new run,
``set_axes(descriptor_axes)``, ``add_steps(steps)`` with a batch of Step records (draw
once per batch) and ``set_results(results)`` with the latest analysis. Views keep ring
buffers so that memory stays bounded on runs of many hours.
"""

import collections

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtCore, QtWidgets

from ...units import pretty

pg.setConfigOptions(antialias=True, background="w", foreground="k")

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def _label(name, unit):
    return f"{name.replace('_', ' ')} ({pretty(unit)})" if unit else name.replace("_", " ")


class View(QtWidgets.QWidget):
    title = ""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.units: dict = {}
        self.axes: dict = {}

    def reset(self, start) -> None:
        self.units = {c.name: c.unit for c in start.columns} | {a.name: a.unit for a in start.arrays}

    def set_axes(self, axes: dict) -> None:
        self.axes = axes

    def add_steps(self, steps) -> None:
        pass

    def set_results(self, results: dict) -> None:
        pass


class SpectrumView(View):
    """The latest spectrum over the previous ones (fading)."""

    title = "Spectrum"
    keep = 8

    def __init__(self, array="spectrum", axis="wavelength", parent=None):
        super().__init__(parent)
        self.array, self.axis = array, axis
        self.plot = pg.PlotWidget()
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.history = collections.deque(maxlen=self.keep)
        self.curves = []

    def reset(self, start):
        super().reset(start)
        self.history.clear()
        self.plot.clear()
        self.curves = [self.plot.plot(pen=pg.mkPen((31, 119, 180, 40 + 215 * i // self.keep),
                                                  width=2 if i == self.keep - 1 else 1))
                       for i in range(self.keep)]
        self.plot.setLabel("left", _label("intensity", self.units.get(self.array, "")))

    def set_axes(self, axes):
        super().set_axes(axes)
        if self.axis in axes:
            self.plot.setLabel("bottom", _label(self.axis, axes[self.axis][1]))

    def add_steps(self, steps):
        for step in steps:
            if self.array in step.arrays:
                self.history.append(step.arrays[self.array])
        if not self.history or self.axis not in self.axes:
            return
        x = np.asarray(self.axes[self.axis][0])
        offset = self.keep - len(self.history)
        for curve in self.curves[:offset]:
            curve.clear()
        for curve, y in zip(self.curves[offset:], self.history):
            curve.setData(x, y)


class WaterfallView(View):
    """Every spectrum as one row of a map (steps × wavelength), log colour scale."""

    title = "Waterfall"
    rows = 600

    def __init__(self, array="spectrum", axis="wavelength", parent=None):
        super().__init__(parent)
        self.array, self.axis = array, axis
        self.plot = pg.PlotWidget()
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        self.plot.setLabel("left", "step")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.buffer = collections.deque(maxlen=self.rows)
        self.first = 0

    def reset(self, start):
        super().reset(start)
        self.buffer.clear()
        self.first = 0
        self.image.clear()

    def set_axes(self, axes):
        super().set_axes(axes)
        if self.axis in axes:
            self.plot.setLabel("bottom", _label(self.axis, axes[self.axis][1]))

    def add_steps(self, steps):
        for step in steps:
            if self.array in step.arrays:
                if len(self.buffer) == self.buffer.maxlen:
                    self.first += 1
                self.buffer.append(np.asarray(step.arrays[self.array], float))
        if not self.buffer or self.axis not in self.axes:
            return
        data = np.log10(np.clip(np.array(self.buffer), 1.0, None))
        x = np.asarray(self.axes[self.axis][0])
        self.image.setImage(data.T, autoLevels=True)
        self.image.setRect(QtCore.QRectF(x[0], self.first, x[-1] - x[0], len(self.buffer)))


class LightInOutView(View):
    """Light-in/light-out on log-log axes: stimulated and total output, the live
    threshold with its confidence band, and the linewidth on a second axis."""

    title = "Light-in / light-out"

    def __init__(self, x="fluence", y="intensity_stimulated", total="intensity_total",
                 width="fwhm", parent=None):
        super().__init__(parent)
        self.x, self.y, self.total, self.width = x, y, total, width
        self.plot = pg.PlotWidget()
        self.plot.setLogMode(x=True, y=True)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.addLegend(offset=(-10, -10))
        self.stim = self.plot.plot(pen=None, symbol="o", symbolBrush=PALETTE[0], symbolSize=7,
                                   name="stimulated")
        self.tot = self.plot.plot(pen=None, symbol="s", symbolPen=pg.mkPen("#777777"),
                                  symbolBrush=None, symbolSize=6, name="total")
        self.region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(255, 127, 14, 50))
        self.line = pg.InfiniteLine(angle=90, pen=pg.mkPen(PALETTE[1], width=2),
                                    label="", labelOpts={"position": 0.92, "color": PALETTE[1]})
        self.plot.addItem(self.region)
        self.plot.addItem(self.line)
        self.right = pg.ViewBox()
        item = self.plot.getPlotItem()
        item.showAxis("right")
        item.scene().addItem(self.right)
        item.getAxis("right").linkToView(self.right)
        item.getAxis("right").setLogMode(False, False)   # linear linewidth axis on a log-log plot
        self.right.setXLink(item)
        item.vb.sigResized.connect(lambda: self.right.setGeometry(item.vb.sceneBoundingRect()))
        self.fwhm = pg.PlotDataItem(pen=pg.mkPen(PALETTE[2], width=1.5), symbol="t",
                                    symbolBrush=PALETTE[2], symbolSize=6)
        self.right.addItem(self.fwhm)
        self.data = {k: [] for k in (x, y, total, width)}
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.threshold = None

    def reset(self, start):
        super().reset(start)
        self.data = {k: [] for k in self.data}
        self.threshold = None
        self.plot.setLabel("bottom", _label(self.x, self.units.get(self.x, "")))
        self.plot.setLabel("left", _label("integrated intensity", self.units.get(self.y, "")))
        self.plot.getPlotItem().getAxis("right").setLabel(_label("FWHM", self.units.get(self.width, "")),
                                                          color=PALETTE[2])
        self.line.hide()
        self.region.hide()
        for curve in (self.stim, self.tot, self.fwhm):
            curve.clear()

    def add_steps(self, steps):
        for step in steps:
            for key in self.data:
                self.data[key].append(step.scalars.get(key, np.nan))
        x = np.asarray(self.data[self.x], float)
        y = np.asarray(self.data[self.y], float)
        ok = (x > 0) & (y > 0)
        self.stim.setData(x[ok], y[ok])
        total = np.asarray(self.data[self.total], float)
        ok_t = (x > 0) & (total > 0)
        self.tot.setData(x[ok_t], total[ok_t])
        width = np.asarray(self.data[self.width], float)
        ok_w = (x > 0) & np.isfinite(width)
        self.fwhm.setData(np.log10(x[ok_w]), width[ok_w])

    def set_results(self, results):
        threshold = results.get("threshold") or {}
        self.threshold = threshold if threshold.get("found") else None
        if not self.threshold:
            self.line.hide()
            self.region.hide()
            return
        value, low, high = (threshold[k] for k in ("value", "low", "high"))
        self.line.setValue(np.log10(value))
        self.line.label.setFormat(f"threshold {value:.3g} {pretty(threshold.get('unit', ''))}")
        self.region.setRegion((np.log10(low), np.log10(high)))
        self.line.show()
        self.region.show()


class ScalarsView(View):
    """Any recorded scalar against another (default: against the step number)."""

    title = "Scalars"

    def __init__(self, x="", y="", parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.xbox, self.ybox = QtWidgets.QComboBox(), QtWidgets.QComboBox()
        bar = QtWidgets.QHBoxLayout()
        for label, box in (("y", self.ybox), ("against", self.xbox)):
            bar.addWidget(QtWidgets.QLabel(label))
            bar.addWidget(box, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.plot)
        self.curve = self.plot.plot(pen=pg.mkPen(PALETTE[0]), symbol="o", symbolSize=5,
                                    symbolBrush=PALETTE[0])
        self.columns: dict = {}
        self.preferred = (x, y)
        self.xbox.currentTextChanged.connect(self.redraw)
        self.ybox.currentTextChanged.connect(self.redraw)

    def reset(self, start):
        super().reset(start)
        names = [c.name for c in start.columns]
        self.columns = {name: collections.deque(maxlen=200_000) for name in ["step"] + names}
        for box, preferred, default in ((self.xbox, self.preferred[0], "step"),
                                        (self.ybox, self.preferred[1], names[0] if names else "step")):
            box.blockSignals(True)
            box.clear()
            box.addItems(list(self.columns))
            box.setCurrentText(preferred if preferred in self.columns else default)
            box.blockSignals(False)
        self.curve.clear()

    def add_steps(self, steps):
        for step in steps:
            self.columns["step"].append(step.index)
            for name, value in step.scalars.items():
                if name in self.columns:
                    self.columns[name].append(value)
        self.redraw()

    def redraw(self, *_):
        x, y = self.xbox.currentText(), self.ybox.currentText()
        if x not in self.columns or y not in self.columns:
            return
        self.plot.setLabel("bottom", _label(x, self.units.get(x, "")))
        self.plot.setLabel("left", _label(y, self.units.get(y, "")))
        self.curve.setData(np.asarray(self.columns[x], float), np.asarray(self.columns[y], float))


#: View classes by the names procedures list in their ``views`` attribute.
VIEWS = {"spectrum": SpectrumView, "waterfall": WaterfallView,
         "light-in-out": LightInOutView, "scalars": ScalarsView}


"""Live views of a run, fed from the record stream or from a stored run.

Every view has the same four entry points: ``reset(start)`` for a new run,
``set_axes(descriptor_axes)``, ``add_steps(steps)`` with a batch of Step records (draw
once per batch) and ``set_results(results)`` with the latest analysis. Views keep ring
buffers so that memory stays bounded on runs of many hours.
"""

import collections
import math

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtCore, QtWidgets

from ...units import pretty

pg.setConfigOptions(antialias=True, background="w", foreground="k")

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def _label(name, unit):
    return f"{name.replace('_', ' ')} ({pretty(unit)})" if unit else name.replace("_", " ")


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


class LogAxis(pg.AxisItem):
    """An axis whose logarithmic ticks read as numbers: 1, 2 and 5 × 10ⁿ (only the
    decades over more than four of them, every tick within one), written 20 or 0.5
    if the whole axis lies between 10⁻³ and 10⁵, else 10⁶ or 2·10⁶."""

    def logTickStrings(self, values, scale, spacing):
        low, high = self.range
        shown = (1,) if high - low > 4 else (1, 2, 5) if high - low > 1.2 else range(1, 10)
        plain = low >= -3 and high < 5
        strings = []
        for value in values:
            x = 10.0 ** value * scale
            exponent = math.floor(math.log10(x) + 1e-9)
            mantissa = round(x / 10.0 ** exponent)
            if mantissa not in shown:
                strings.append("")
            elif plain:
                strings.append(f"{x:.6g}")
            else:
                power = f"10{str(exponent).translate(SUPERSCRIPT)}"
                strings.append(power if mantissa == 1 else f"{mantissa}·{power}")
        return strings


def log_axes() -> dict:
    """``axisItems`` for a PlotWidget whose axes may be logarithmic."""
    return {"bottom": LogAxis("bottom"), "left": LogAxis("left")}


def legend_below(plot_item, columns: int = 4) -> pg.LegendItem:
    """A legend in one row under the x axis, where it never hides data."""
    legend = pg.LegendItem(colCount=columns, labelTextSize="10pt")
    plot_item.layout.addItem(legend, 4, 1)
    return legend


def emission_span(x, spectra, fraction=0.02):
    """The part of the wavelength axis where any of ``spectra`` rises above its baseline
    (median) by more than ``fraction`` of its peak, widened by half its width on either
    side (at least 5 % of the axis); None without any signal."""
    x = np.asarray(x, float)
    lows, highs = [], []
    for y in spectra:
        signal = np.asarray(y, float) - np.nanmedian(y)
        top = np.nanmax(signal)
        if top > 0:
            above = x[signal > fraction * top]
            lows.append(above.min())
            highs.append(above.max())
    if not lows:
        return None
    low, high = min(lows), max(highs)
    pad = max(0.5 * (high - low), 0.05 * (x.max() - x.min()))
    return max(low - pad, x.min()), min(high + pad, x.max())


class FollowEmission:
    """Keeps a plot's x range on the emission until the user zooms or pans it."""

    def __init__(self, plot_item):
        self.plot_item = plot_item
        self.on = True
        plot_item.getViewBox().sigRangeChangedManually.connect(self.stop)
        plot_item.getViewBox().setAutoVisible(y=True)     # y scaled to what is in view

    def stop(self, *_):
        self.on = False

    def update(self, x, spectra) -> None:
        span = emission_span(x, spectra) if self.on else None
        if span is not None:
            self.plot_item.setXRange(*span, padding=0)


def evenly_spaced(x, data, axis: int) -> np.ndarray:
    """``data`` resampled (linearly) along ``axis`` from the coordinates ``x`` -- monotonic,
    maybe not evenly spaced, like a spectrometer's wavelengths or a streak sweep's times --
    onto as many evenly spaced ones from x[0] to x[-1]: an ImageItem maps its pixels
    linearly onto the rectangle it is given. Coordinates already evenly spaced to within
    1 % of a pixel are left as they are. Floats keep their precision (a float32 image is
    resampled in float32), integers become the float type that holds them exactly."""
    x = np.asarray(x, float)
    data = np.asarray(data)
    dtype = np.result_type(data.dtype, np.float32)
    grid = np.linspace(x[0], x[-1], x.size)
    if x.size < 2 or np.abs(x - grid).max() <= 0.01 * abs(grid[1] - grid[0]):
        return data.astype(dtype, copy=False)
    order = np.argsort(x)
    where = np.interp(grid, x[order], order.astype(float))       # fractional pixel index
    low = np.clip(np.floor(where).astype(int), 0, x.size - 1)
    high = np.minimum(low + 1, x.size - 1)
    shape = [1] * data.ndim
    shape[axis] = -1
    fraction = (where - low).astype(dtype).reshape(shape)
    lower = np.take(data, low, axis).astype(dtype, copy=False)
    step = np.take(data, high, axis).astype(dtype, copy=False)
    step -= lower                      # in place: an image is megabytes
    step *= fraction
    lower += step
    return lower


def colour_bar(plot_item, image, label: str) -> pg.ColorBarItem:
    """A colour scale beside an image plot; it follows the image's levels."""
    bar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), label=label, interactive=False,
                          width=15)
    bar.setImageItem(image, insert_in=plot_item)
    return bar


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
    """The latest spectrum over the previous ones (fading), zoomed on the emission."""

    title = "Spectrum"
    keep = 8

    def __init__(self, array="spectrum", axis="wavelength", parent=None):
        super().__init__(parent)
        self.array, self.axis = array, axis
        self.plot = pg.PlotWidget()
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.follow = FollowEmission(self.plot.getPlotItem())
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.history = collections.deque(maxlen=self.keep)
        self.newest = None                      # index of the newest step shown
        self.curves = []

    def reset(self, start):
        super().reset(start)
        self.history.clear()
        self.newest = None
        self.plot.clear()
        self.plot.setTitle("")
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
                self.newest = step.index
        if not self.history or self.axis not in self.axes:
            return
        x = np.asarray(self.axes[self.axis][0])
        offset = self.keep - len(self.history)
        for curve in self.curves[:offset]:
            curve.clear()
        for curve, y in zip(self.curves[offset:], self.history):
            curve.setData(x, y)
        self.follow.update(x, self.history)
        self.plot.setTitle(f"newest: step {self.newest + 1} (dark); the {len(self.history) - 1} before it fade",
                           size="10pt")


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
        self.bar = colour_bar(self.plot.getPlotItem(), self.image, "log₁₀ intensity")
        self.follow = FollowEmission(self.plot.getPlotItem())
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
        x = np.asarray(self.axes[self.axis][0])
        data = np.log10(np.clip(evenly_spaced(x, np.array(self.buffer), axis=1), 1.0, None))
        levels = (np.median(data), max(data.max(), np.median(data) + 0.1))   # the noise floor dark
        self.image.setImage(data.T, levels=levels)
        self.bar.setLevels(levels)
        self.image.setRect(QtCore.QRectF(x[0], self.first, x[-1] - x[0], len(self.buffer)))
        self.follow.update(x, list(self.buffer)[-SpectrumView.keep:])


class LightInOutView(View):
    """Light-in/light-out on log-log axes: stimulated and total output, the live
    threshold with its confidence band, and the linewidth on a second axis."""

    title = "Light-in / light-out"

    def __init__(self, x="fluence", y="intensity_stimulated", total="intensity_total",
                 width="fwhm", names=("stimulated", "total"), parent=None):
        super().__init__(parent)
        self.x, self.y, self.total, self.width = x, y, total, width
        self.plot = pg.PlotWidget(axisItems=log_axes())
        self.plot.setLogMode(x=True, y=True)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.stim = self.plot.plot(pen=None, symbol="o", symbolBrush=PALETTE[0], symbolSize=7)
        self.tot = self.plot.plot(pen=None, symbol="s", symbolPen=pg.mkPen("#777777"),
                                  symbolBrush=None, symbolSize=6)
        self.region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(255, 127, 14, 50))
        self.line = pg.InfiniteLine(angle=90, pen=pg.mkPen(PALETTE[1], width=2), label="",
                                    labelOpts={"position": 0.55, "color": PALETTE[1],
                                               "fill": (255, 255, 255, 220),
                                               "anchors": [(1, 0.5), (1, 0.5)]})   # left of the line
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
        self.right.addItem(self.region)           # the right axis' box is on top: the
        self.right.addItem(self.line)             # threshold's label stays readable
        self.legend = legend_below(item, 3)
        for curve, name in zip((self.stim, self.tot, self.fwhm), names + ("FWHM (right axis)",)):
            self.legend.addItem(curve, name)
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
        self.line.show()                  # first: a hidden line's label ignores its text
        self.region.show()
        self.line.setValue(np.log10(value))
        self.line.label.setFormat(self.threshold_text(value, threshold.get("unit", "")))
        self.region.setRegion((np.log10(low), np.log10(high)))

    def threshold_text(self, value, unit) -> str:
        return f"threshold {value:.3g} {pretty(unit)}"


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


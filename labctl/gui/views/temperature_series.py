"""Live views of a temperature series: the cryostat's temperature trace, and the inner
runs' thresholds and integrated PL against temperature with the live fits."""

import collections

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtWidgets

from ...analysis.models import thermal_quenching
from .base import PALETTE, View, _label


class TemperatureTraceView(View):
    """Every temperature reading against time (minutes), with each point's setpoint."""

    title = "Temperature trace"
    readings = 100_000

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.addLegend(offset=(-10, 10))
        self.trace = self.plot.plot(pen=pg.mkPen(PALETTE[0], width=1.5), name="sample temperature",
                                    connect="finite")
        self.setpoints = self.plot.plot(pen=pg.mkPen(PALETTE[1], width=1, style=pg.QtCore.Qt.DashLine),
                                        name="setpoint", connect="finite")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.times = collections.deque(maxlen=self.readings)
        self.kelvin = collections.deque(maxlen=self.readings)
        self.steps = collections.deque(maxlen=self.readings)      # (start, stop, setpoint)

    def reset(self, start):
        super().reset(start)
        for buffer in (self.times, self.kelvin, self.steps):
            buffer.clear()
        self.trace.clear()
        self.setpoints.clear()
        self.plot.setLabel("bottom", "time since the series started (min)")
        self.plot.setLabel("left", _label("temperature", "K"))

    def add_steps(self, steps):
        for step in steps:
            times = np.asarray(step.arrays.get("trace_time", []), float)
            kelvin = np.asarray(step.arrays.get("trace_temperature", []), float)
            ok = np.isfinite(times) & np.isfinite(kelvin)
            if not ok.any():
                continue
            self.times.extend(list(times[ok] / 60) + [np.nan])         # a gap between points
            self.kelvin.extend(list(kelvin[ok]) + [np.nan])
            self.steps.append((times[ok][0] / 60, times[ok][-1] / 60, step.scalars.get("temperature", np.nan)))
        self.trace.setData(np.asarray(self.times), np.asarray(self.kelvin))
        edges = [(x, setpoint) for start, stop, setpoint in self.steps
                 for x in (start, stop, np.nan)]
        if edges:
            x, y = np.asarray(edges, float).T
            self.setpoints.setData(x, np.where(np.isnan(x), np.nan, y))


class TemperatureDependenceView(View):
    """Threshold (with its interval and F0·e^{T/T0}) and integrated PL below threshold
    (with the thermal-quenching fit) against the setpoint temperature."""

    title = "Threshold and PL vs T"
    points = 10_000

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.threshold_plot = self.layout_widget.addPlot(row=0, col=0)
        self.pl_plot = self.layout_widget.addPlot(row=1, col=0)
        for plot in (self.threshold_plot, self.pl_plot):
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.addLegend(offset=(10, 10))
        self.pl_plot.setXLink(self.threshold_plot)
        self.thresholds = self.threshold_plot.plot(pen=None, symbol="o", symbolBrush=PALETTE[0], symbolSize=8,
                                                   name="threshold")
        self.intervals = pg.ErrorBarItem(pen=pg.mkPen(PALETTE[0]), beam=4)
        self.threshold_plot.addItem(self.intervals)
        self.t0_curve = self.threshold_plot.plot(pen=pg.mkPen(PALETTE[1], width=2), name="F0·e^(T/T0)")
        self.pl = self.pl_plot.plot(pen=None, symbol="o", symbolBrush=PALETTE[2], symbolSize=8,
                                    name="PL below threshold")
        self.quenching_curve = self.pl_plot.plot(pen=pg.mkPen(PALETTE[1], width=2), name="thermal quenching")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.layout_widget)
        self.data = {}
        self.fits = {}

    def reset(self, start):
        super().reset(start)
        keys = ("temperature", "threshold", "threshold_low", "threshold_high", "pl_yield")
        self.data = {k: collections.deque(maxlen=self.points) for k in keys}
        self.fits = {}
        for curve in (self.thresholds, self.t0_curve, self.pl, self.quenching_curve):
            curve.clear()
        self.intervals.setData(x=np.array([]), y=np.array([]), top=np.array([]), bottom=np.array([]))
        self.threshold_plot.setLabel("left", _label("threshold", self.units.get("threshold", "uJ/cm^2")))
        self.pl_plot.setLabel("left", _label("PL per fluence", self.units.get("pl_yield", "")))
        self.pl_plot.setLabel("bottom", _label("temperature", "K"))
        self.threshold_plot.setTitle("")
        self.pl_plot.setTitle("")

    def add_steps(self, steps):
        for step in steps:
            for key, buffer in self.data.items():
                buffer.append(step.scalars.get(key, np.nan))
        t = np.asarray(self.data["temperature"], float)
        value, low, high = (np.asarray(self.data[k], float) for k in ("threshold", "threshold_low", "threshold_high"))
        ok = np.isfinite(t) & np.isfinite(value)
        self.thresholds.setData(t[ok], value[ok])
        if ok.any():
            self.intervals.setData(x=t[ok], y=value[ok], top=(high - value)[ok], bottom=(value - low)[ok])
        pl = np.asarray(self.data["pl_yield"], float)
        ok = np.isfinite(t) & np.isfinite(pl)
        self.pl.setData(t[ok], pl[ok])

    def set_results(self, results):
        t = np.asarray(self.data.get("temperature", []), float)
        t = t[np.isfinite(t)]
        grid = np.linspace(t.min(), t.max(), 200) if t.size >= 2 else np.array([])
        self.fits = {k: results[k] for k in ("characteristic_temperature", "quenching") if k in results}
        t0 = self.fits.get("characteristic_temperature")
        if t0 and grid.size:
            self.t0_curve.setData(grid, t0["f0"] * np.exp(grid / t0["value"]))
            self.threshold_plot.setTitle(f"T0 = {t0['value']:.3g} ± {t0['error']:.2g} K", size="9pt")
        else:
            self.t0_curve.clear()
        q = self.fits.get("quenching")
        if q and grid.size:
            self.quenching_curve.setData(grid, thermal_quenching(grid, q["i0"], q["a"], q["e_b_mev"] * 1e-3))
            self.pl_plot.setTitle(f"E_b = {q['e_b_mev']:.3g} ± {q['error']:.2g} meV", size="9pt")
        else:
            self.quenching_curve.clear()


#: Views the temperature series lists in its ``views``.
VIEWS = {"temperature-trace": TemperatureTraceView, "temperature-dependence": TemperatureDependenceView}

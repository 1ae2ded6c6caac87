"""Live view of the excitation scan: stimulated and spontaneous intensity relative to
the off-resonant reference, and the stimulated line's peak, against the pump wavelength."""

import collections

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtWidgets

from .base import PALETTE, View, _label


class ExcitationView(View):
    """Log intensities / reference on the left axis, SE peak (nm) on the right."""

    title = "Excitation scan"
    keep = 20000

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setLogMode(x=False, y=True)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.addLegend(offset=(10, 10))
        self.stimulated = self.plot.plot(pen=pg.mkPen(PALETTE[3]), symbol="o", symbolSize=6,
                                         symbolBrush=PALETTE[3], name="stimulated / reference")
        self.spontaneous = self.plot.plot(pen=pg.mkPen(PALETTE[0]), symbol="s", symbolSize=6,
                                          symbolBrush=PALETTE[0], name="spontaneous / reference")
        self.marker = pg.InfiniteLine(pos=0.0, angle=0, pen=pg.mkPen("k", style=2), label="",
                                      labelOpts={"position": 0.1, "color": "k"})   # log10(1)
        self.plot.addItem(self.marker)
        self.resonance = pg.InfiniteLine(angle=90, pen=pg.mkPen(PALETTE[2], width=2), label="",
                                         labelOpts={"position": 0.75, "color": PALETTE[2],
                                                    "anchors": [(0, 0.5), (0, 0.5)]})
        self.plot.addItem(self.resonance)
        self.right = pg.ViewBox()
        item = self.plot.getPlotItem()
        item.showAxis("right")
        item.scene().addItem(self.right)
        item.getAxis("right").linkToView(self.right)
        item.getAxis("right").setLogMode(False, False)   # linear nm on a log-intensity plot
        item.getAxis("right").setWidth(90)        # room for 531.xx ticks and the label
        self.right.setXLink(item)
        item.vb.sigResized.connect(lambda: self.right.setGeometry(item.vb.sceneBoundingRect()))
        self.peak = pg.PlotDataItem(pen=None, symbol="t", symbolSize=7, symbolBrush=PALETTE[4])
        self.right.addItem(self.peak)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.names = ("pump_wavelength", "reference", "intensity_stimulated", "intensity_spontaneous",
                      "stimulated_error", "se_peak")
        self.data = {c: collections.deque(maxlen=self.keep) for c in self.names}
        self.reference = None        # (stimulated, spontaneous) of the reference step

    def reset(self, start):
        super().reset(start)
        for values in self.data.values():
            values.clear()
        self.reference = None
        for curve in (self.stimulated, self.spontaneous, self.peak):
            curve.clear()
        self.resonance.hide()
        self.marker.hide()
        self.plot.setLabel("bottom", _label("pump_wavelength", self.units.get("pump_wavelength", "nm")))
        self.plot.setLabel("left", "intensity / off-resonant reference (same photon fluence)")
        self.plot.getPlotItem().getAxis("right").setLabel(_label("SE peak", self.units.get("se_peak", "nm")),
                                                          color=PALETTE[4])

    def add_steps(self, steps):
        for step in steps:
            values = {c: step.scalars.get(c, np.nan) for c in self.names}
            if values["reference"] > 0 and self.reference is None:
                self.reference = (values["intensity_stimulated"], values["intensity_spontaneous"])
                self.marker.label.setFormat(f"reference ({values['pump_wavelength']:.4g} nm) = 1")
                self.marker.show()
            for c in self.names:
                self.data[c].append(values[c])
        self.redraw()

    def scan(self):
        """The scan's columns (the reference step apart), sorted by pump wavelength."""
        d = {c: np.asarray(v, float) for c, v in self.data.items()}
        keep = d["reference"] == 0
        order = np.argsort(d["pump_wavelength"][keep])
        return {c: v[keep][order] for c, v in d.items()}

    def redraw(self):
        if self.reference is None:
            return
        d = self.scan()
        x = d["pump_wavelength"]
        for curve, column, ref in ((self.stimulated, "intensity_stimulated", self.reference[0]),
                                   (self.spontaneous, "intensity_spontaneous", self.reference[1])):
            y = d[column] / ref if ref > 0 else np.full_like(x, np.nan)
            ok = y > 0
            curve.setData(x[ok], y[ok])
        strong = d["intensity_stimulated"] > 3 * d["stimulated_error"]
        self.peak.setData(x[strong], d["se_peak"][strong])

    def set_results(self, results):
        resonance = results.get("resonance")
        if not resonance:
            self.resonance.hide()
            return
        self.resonance.setValue(resonance["wavelength"])
        self.resonance.label.setFormat(
            f"resonance {resonance['wavelength']:.2f} nm"
            f"\nSE ×{results.get('stimulated_enhancement', np.nan):.3g}"
            f"\nspont. ×{results.get('spontaneous_enhancement', np.nan):.3g}")
        self.resonance.show()


VIEWS = {"excitation": ExcitationView}

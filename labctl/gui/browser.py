"""Run browser: the catalog as a searchable table; open, re-analyze, export, overlay."""

import math

import numpy as np
import pyqtgraph as pg
from PyQt5 import QtCore, QtWidgets

from .. import registry
from ..plots import save
from ..store import open_run
from .views import PALETTE
from .views.base import _label, log_axes

COLUMNS = ("started", "procedure", "sample", "status", "headline", "notes")


class RunBrowser(QtWidgets.QWidget):
    """``open_requested(RunData)`` asks the window to show a stored run in its views."""

    open_requested = QtCore.pyqtSignal(object)
    message = QtCore.pyqtSignal(bool, str)

    def __init__(self, catalog, parent=None):
        super().__init__(parent)
        self.catalog = catalog
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("search sample, procedure, notes, result…")
        self.search.textChanged.connect(self.refresh)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self.open_selected)
        buttons = QtWidgets.QHBoxLayout()
        for text, action in (("Open", self.open_selected), ("Re-analyze", self.reanalyze),
                             ("Export CSV + PNG", self.export), ("Overlay L-L", self.overlay),
                             ("Refresh", self.refresh)):
            button = QtWidgets.QPushButton(text)
            button.clicked.connect(action)
            buttons.addWidget(button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.rows: list[dict] = []
        self.overlay_window = None
        self.refresh()

    def refresh(self, *_):
        self.rows = self.catalog.runs(self.search.text())
        self.table.setRowCount(len(self.rows))
        for i, row in enumerate(self.rows):
            started = QtCore.QDateTime.fromSecsSinceEpoch(int(row["started"])).toString("yyyy-MM-dd hh:mm:ss")
            values = (started, row["procedure"], row["sample"] or "", row["status"],
                      row["headline"] or "", row["notes"] or "")
            for j, value in enumerate(values):
                self.table.setItem(i, j, QtWidgets.QTableWidgetItem(value))
        self.table.resizeColumnsToContents()

    def selected(self) -> list[dict]:
        return [self.rows[i.row()] for i in self.table.selectionModel().selectedRows()]

    def _load(self, row):
        try:
            return open_run(row["file"])
        except (OSError, KeyError, ValueError) as exc:
            self.message.emit(False, f"cannot open {row['file']}: {exc}")
            return None

    def open_selected(self, *_):
        for row in self.selected()[:1]:
            data = self._load(row)
            if data is not None:
                self.open_requested.emit(data)

    def reanalyze(self):
        for row in self.selected():
            data = self._load(row)
            if data is None:
                continue
            cls = registry.procedure_class(data.procedure)
            results = cls(**data.parameters).analyze(data.scalars)
            data.stop = dict(data.stop or {}, results=results)
            self.open_requested.emit(data)
            self.message.emit(True, f"{data.uid[:8]} re-analyzed: {cls.headline(results) or 'done'}")

    def export(self):
        for row in self.selected():
            data = self._load(row)
            if data is None:
                continue
            csv = data.path.with_suffix(".csv")
            data.scalars.to_csv(csv, index=False)
            pngs = save(registry.procedure_class(data.procedure).figures(data), data.path)
            self.message.emit(True, f"exported {csv.name} and {len(pngs)} figure(s) next to the run file")

    def overlay(self):
        """L-L curves of the selected runs on one log-log plot (e.g. several biases)."""
        plot = pg.PlotWidget(title="Light-in/light-out, selected runs", axisItems=log_axes())
        plot.setLogMode(x=True, y=True)
        plot.addLegend()
        plot.showGrid(x=True, y=True, alpha=0.2)
        units = {}
        for i, row in enumerate(self.selected()):
            data = self._load(row)
            if data is None or "fluence" not in data.scalars:
                continue
            x = data.scalars["fluence"].to_numpy()
            column = "intensity_stimulated" if "intensity_stimulated" in data.scalars else "intensity_total"
            y = data.scalars[column].to_numpy()
            units = {"fluence": data.units.get("fluence", ""), "intensity": data.units.get(column, "")}
            ok = (x > 0) & (y > 0) & np.isfinite(y)
            threshold = (data.results.get("threshold") or {}).get("value")
            name = f"{row['sample']} {row['started'] and data.uid[:6]}"
            if threshold and not math.isnan(threshold):
                name += f" — {threshold:.3g}"
            plot.plot(x[ok], y[ok], pen=pg.mkPen(PALETTE[i % len(PALETTE)], width=1.5),
                      symbol="o", symbolSize=5, symbolBrush=PALETTE[i % len(PALETTE)], name=name)
        plot.setLabel("bottom", _label("pump fluence", units.get("fluence", "")))
        plot.setLabel("left", _label("integrated intensity", units.get("intensity", "")))
        plot.resize(700, 500)
        plot.show()
        self.overlay_window = plot

"""The bench window: procedure panel, live views, queue, instruments, run browser, log.

It observes the record stream through a ``RecordBridge`` and sends commands to the
runner; it does no instrument I/O and no physics. Everything it does goes through
labctl's public API, so a script can do the same.
"""

import json
import logging
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from PyQt5 import QtCore, QtWidgets

from .. import registry
from ..errors import LabctlError
from ..monitor import Monitor
from ..records import Analysis, ArraySpec, Column, Descriptor, Event, Start, Step, Stop
from ..runner import Runner, RunState
from ..store import RunStore
from .bridge import RecordBridge
from .browser import RunBrowser
from .form import ParameterForm
from .instruments import Commander, InstrumentPanel
from .queue import QueuePanel, QueueStore
from .views import make_views

log = logging.getLogger("labctl.gui")
ACTIVE = (RunState.QUEUED, RunState.RUNNING, RunState.PAUSED, RunState.ABORTING)


class LogPane(QtWidgets.QPlainTextEdit):
    """Log messages of labctl (any thread) appended on the GUI thread."""

    class _Handler(logging.Handler, QtCore.QObject):
        line = QtCore.pyqtSignal(str)

        def __init__(self):
            logging.Handler.__init__(self)
            QtCore.QObject.__init__(self)
            self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))

        def emit(self, record):
            self.line.emit(self.format(record))

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(5000)
        self.handler = self._Handler()
        self.handler.line.connect(self.appendPlainText)
        logging.getLogger("labctl").addHandler(self.handler)
        logging.getLogger("labctl").setLevel(logging.INFO)

    def detach(self):
        logging.getLogger("labctl").removeHandler(self.handler)


class LabWindow(QtWidgets.QMainWindow):
    def __init__(self, bench, data_dir=None, settings_path=None, monitor_interval=1.0):
        super().__init__()
        self.bench = bench
        self.data_dir = Path(data_dir or bench.config.data_dir)
        self.setWindowTitle(f"labctl — {bench.config.name}")
        self.settings = QtCore.QSettings(str(settings_path or Path.home() / ".config/labctl/gui.ini"),
                                         QtCore.QSettings.IniFormat)
        self.store = RunStore(self.data_dir, headline=lambda p, r: registry.procedure_class(p).headline(r))
        self.runner = Runner(bench)
        self.runner.subscribe(self.store, critical=True)
        self.bridge = RecordBridge(parent=self)
        self.runner.subscribe(self.bridge)
        self.bridge.records.connect(self.on_records)
        self.monitor = Monitor(bench, monitor_interval)
        self.monitor.subscribers.append(self.bridge.readings)
        self.queue = QueueStore(self.data_dir / "queue.json")
        self.current = None            # the top-level run shown in the views
        self.views = []
        self.view_uid = None
        self.results = {}
        self.running_queue = False
        self._build()
        self._restore()
        self.monitor.start()
        self.state_timer = QtCore.QTimer(self)
        self.state_timer.timeout.connect(self.update_state)
        self.state_timer.start(200)
        self.commander.done.connect(self.message)
        self._snapshot_later()

    # -- layout -------------------------------------------------------------------
    def _build(self):
        self.banner = QtWidgets.QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#b00020; color:white; padding:6px; font-weight:bold;")
        self.banner.hide()
        self.tabs = QtWidgets.QTabWidget()
        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs)
        self.setCentralWidget(central)

        self.procedure_box = QtWidgets.QComboBox()
        self.procedure_box.setObjectName("procedure")
        names = registry.procedure_names()
        for name in names:
            self.procedure_box.addItem(name)
        self.description = QtWidgets.QLabel()
        self.description.setWordWrap(True)
        self.sample = QtWidgets.QLineEdit(self.bench.sample.get("name", ""))
        self.sample.setObjectName("sample")
        self.notes = QtWidgets.QLineEdit()
        self.notes.setObjectName("notes")
        self.form_area = QtWidgets.QScrollArea()
        self.form_area.setWidgetResizable(True)
        self.preview = QtWidgets.QLabel()
        self.preview.setWordWrap(True)
        self.buttons = {}
        row = QtWidgets.QGridLayout()
        for i, (text, action) in enumerate((("Start", self.start), ("Pause", self.pause),
                                            ("Resume", self.resume), ("Abort", self.abort),
                                            ("Add to queue", self.enqueue))):
            button = QtWidgets.QPushButton(text)
            button.setObjectName(text)
            button.clicked.connect(action)
            self.buttons[text] = button
            row.addWidget(button, i // 3, i % 3)
        self.buttons["Abort"].setStyleSheet("font-weight:bold; color:#b00020;")
        panel = QtWidgets.QWidget()
        form = QtWidgets.QVBoxLayout(panel)
        form.addWidget(self.procedure_box)
        form.addWidget(self.description)
        sample_row = QtWidgets.QFormLayout()
        sample_row.addRow("sample", self.sample)
        sample_row.addRow("notes", self.notes)
        form.addLayout(sample_row)
        form.addWidget(self.form_area, 3)
        form.addWidget(self.preview)
        form.addLayout(row)
        self.procedure_box.currentTextChanged.connect(self.select_procedure)

        self.queue_panel = QueuePanel(self.queue)
        self.queue_panel.run_queue.connect(self.run_queue)
        self.commander = Commander(self.bench, self)
        self.instruments = InstrumentPanel(self.bench, self.commander)
        self.bridge.monitor.connect(self.instruments.update_readings)
        self.browser = RunBrowser(self.store.catalog)
        self.browser.open_requested.connect(self.show_run)
        self.browser.message.connect(self.message)
        self.log_pane = LogPane()
        for title, widget, area in (("Procedure", panel, QtCore.Qt.LeftDockWidgetArea),
                                    ("Queue", self.queue_panel, QtCore.Qt.LeftDockWidgetArea),
                                    ("Instruments", self.instruments, QtCore.Qt.RightDockWidgetArea),
                                    ("Runs", self.browser, QtCore.Qt.BottomDockWidgetArea),
                                    ("Log", self.log_pane, QtCore.Qt.BottomDockWidgetArea)):
            dock = QtWidgets.QDockWidget(title, self)
            dock.setObjectName(title)
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
        self.status = {name: QtWidgets.QLabel() for name in ("state", "progress", "eta", "values")}
        for label in self.status.values():
            self.statusBar().addPermanentWidget(label)
        self.resizeDocks([self.findChild(QtWidgets.QDockWidget, "Procedure")], [640], QtCore.Qt.Vertical)
        self.resizeDocks([self.findChild(QtWidgets.QDockWidget, "Instruments")], [430], QtCore.Qt.Horizontal)
        self.resize(1500, 950)
        self.select_procedure(self.procedure_box.currentText())

    def _restore(self):
        geometry, state = self.settings.value("window/geometry"), self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        last = self.settings.value("window/procedure")
        if last in registry.procedure_names():
            self.procedure_box.setCurrentText(last)

    def _snapshot_later(self):
        """Identities of the instruments, read once in the background."""
        def work():
            try:
                snapshot = self.bench.snapshot()
            except LabctlError as exc:
                log.warning("instrument check: %s", exc)
                return
            QtCore.QMetaObject.invokeMethod(self, "_identities", QtCore.Qt.QueuedConnection,
                                            QtCore.Q_ARG(str, json.dumps(snapshot, default=str)))
        threading.Thread(target=work, daemon=True).start()

    @QtCore.pyqtSlot(str)
    def _identities(self, snapshot):
        self.instruments.set_identities(json.loads(snapshot))

    # -- procedure panel ----------------------------------------------------------
    def select_procedure(self, name):
        if not name:
            return
        cls = registry.procedure_class(name)
        self.description.setText(cls.title)
        saved = self.settings.value(f"params/{name}")
        values = json.loads(saved) if saved else {}
        known = cls.parameters()
        self.form = ParameterForm(cls, {k: v for k, v in values.items() if k in known})
        self.form.changed.connect(self.update_preview)
        self.form_area.setWidget(self.form)
        self.update_preview()

    def update_preview(self):
        errors = self.form.validate()
        self.preview_ok = False
        if errors:
            self.preview.setText("<span style='color:#b00020'>" + "<br>".join(errors.values()) + "</span>")
            self.buttons["Start"].setEnabled(False)
            self.buttons["Add to queue"].setEnabled(False)
            return
        preview = self.form.procedure().preview(self.bench.envelope)
        minutes = preview.duration / 60
        text = f"{preview.steps} steps, about {minutes:.1f} min; {preview.setpoints} setpoints "
        if preview.ok:
            text += "<span style='color:#087f23'>inside the safety envelope</span>"
        else:
            text += "<span style='color:#b00020'>OUTSIDE the safety envelope:<br>" + \
                    "<br>".join(preview.violations[:5]) + "</span>"
        self.preview.setText(text)
        self.preview_ok = preview.ok
        self.buttons["Start"].setEnabled(preview.ok and not self.active)
        self.buttons["Add to queue"].setEnabled(preview.ok)

    @property
    def active(self) -> bool:
        return self.current is not None and self.current.state in ACTIVE

    def _item(self) -> dict:
        cls = self.form.cls
        raw = self.form.raw()
        defaults = {n: p.default for n, p in cls.parameters().items()}
        return {"procedure": cls.name, "parameters": raw, "sample": self.sample.text(),
                "notes": self.notes.text(),
                "changed": {k: v for k, v in raw.items() if str(v) != str(defaults[k])}}

    def _submit(self, item) -> bool:
        try:
            procedure = registry.procedure_class(item["procedure"])(**item["parameters"])
            if item.get("sample") and item["sample"] != self.bench.sample.get("name"):
                self.bench.mount_sample(item["sample"])
            self.current = self.runner.submit(procedure, notes=item.get("notes", ""))
        except LabctlError as exc:
            self.message(False, f"{item['procedure']} not started: {exc}")
            return False
        self.settings.setValue(f"params/{item['procedure']}", json.dumps(item["parameters"]))
        self.settings.setValue("window/procedure", item["procedure"])
        self.banner.hide()
        return True

    def start(self):
        if not self.active:
            self._submit(self._item())

    def pause(self):
        if self.current is not None:
            self.current.pause()

    def resume(self):
        if self.current is not None:
            self.current.resume()

    def abort(self):
        self.running_queue = False
        if self.current is not None:
            self.current.abort("aborted from the GUI")

    def enqueue(self):
        try:
            self.queue.add(self._item(), self.bench.envelope)
        except LabctlError as exc:
            self.message(False, f"not queued: {exc}")
            return
        self.queue_panel.refresh()

    def run_queue(self):
        self.running_queue = True
        self._next_in_queue()

    def _next_in_queue(self):
        while self.running_queue and not self.active:
            item = self.queue.pop()
            self.queue_panel.refresh()
            if item is None:
                self.running_queue = False
                return
            if self._submit(item):
                return

    # -- record stream --------------------------------------------------------------
    def on_records(self, batch):
        steps = []
        for record in batch:
            top = self.current is not None and getattr(record, "uid", None) == self.current.uid
            if isinstance(record, Start) and top:
                self._new_views(registry.procedure_class(record.procedure), record)
            elif isinstance(record, Descriptor) and record.uid == self.view_uid:
                for view in self.views:
                    view.set_axes(record.axes)
            elif isinstance(record, Step) and record.uid == self.view_uid:
                steps.append(record)
            elif isinstance(record, Analysis) and record.uid == self.view_uid:
                self.results = record.results
            elif isinstance(record, Event) and top and record.kind == "warning":
                log.warning("%s", record.message)
            elif isinstance(record, Stop) and top:
                self._stopped(record)
        if steps:
            for view in self.views:
                view.add_steps(steps)
        if self.results:
            for view in self.views:
                view.set_results(self.results)

    def _new_views(self, cls, start):
        self.tabs.clear()
        self.views = make_views(cls)
        for view in self.views:
            view.reset(start)
            self.tabs.addTab(view, view.title)
        self.view_uid = start.uid
        self.results = {}
        self.run_started = time.monotonic()

    def _stopped(self, stop):
        headline = registry.procedure_class(self.current.procedure.name).headline(stop.results)
        if stop.status == "failed":
            self.banner.setText(f"Run {stop.uid[:8]} failed: {stop.reason}")
            self.banner.show()
            log.error("run %s failed: %s", stop.uid[:8], stop.reason)
        else:
            log.info("run %s %s after %d steps. %s", stop.uid[:8], stop.status, stop.steps, headline)
        self.browser.refresh()
        QtCore.QTimer.singleShot(0, self._next_in_queue)

    def show_run(self, data):
        """Show a stored run in the live views."""
        cls = registry.procedure_class(data.procedure)
        start = SimpleNamespace(columns=[Column(n, u) for n, u in data.units.items()],
                                arrays=[ArraySpec(n, a.unit, tuple(a.axes)) for n, a in data.arrays.items()])
        self.current_shown = data
        self.tabs.clear()
        self.views = make_views(cls)
        self.view_uid = None
        for view in self.views:
            view.reset(start)
            axes = {}
            for array in data.arrays.values():
                axes.update(array.axes)
            view.set_axes(axes)
            rows = data.scalars.to_dict("records")
            view.add_steps([Step(data.uid, i, 0.0, row, {n: a.values[i] for n, a in data.arrays.items()})
                            for i, row in enumerate(rows)])
            view.set_results(data.results)
            self.tabs.addTab(view, view.title)
        self.statusBar().showMessage(f"stored run {data.uid[:8]} ({data.status}, {len(data.scalars)} steps)")

    # -- status -----------------------------------------------------------------------
    def update_state(self):
        run = self.current
        state = run.state.value if run is not None else "idle"
        self.status["state"].setText(f"state: {state}")
        for name, enabled in (("Pause", run is not None and run.state == RunState.RUNNING),
                              ("Resume", run is not None and run.state == RunState.PAUSED),
                              ("Abort", self.active)):
            self.buttons[name].setEnabled(enabled)
        self.buttons["Start"].setEnabled(self.preview_ok and not self.active)
        if run is None or not run.started:
            return
        done, planned = run.steps_done, max(run.steps_planned, 1)
        self.status["progress"].setText(f"step {done} of {planned}")
        if done and run.state in ACTIVE:
            elapsed = time.time() - run.started
            self.status["eta"].setText(f"ETA {elapsed / done * (planned - done):.0f} s")
        else:
            self.status["eta"].setText("")
        latest = {}
        for view in self.views:
            for key in ("fluence", "temperature", "bias_voltage", "current_density"):
                values = getattr(view, "data", {}).get(key) or getattr(view, "columns", {}).get(key)
                if values:
                    latest[key] = values[-1]
        self.status["values"].setText("  ".join(f"{k} {v:.4g}" for k, v in latest.items()))

    def message(self, ok, text):
        (log.info if ok else log.warning)("%s", text)
        self.statusBar().showMessage(text, 10000)

    # -- closing ----------------------------------------------------------------------
    def closeEvent(self, event):
        if self.active:
            answer = QtWidgets.QMessageBox.question(
                self, "Run in progress", "A run is in progress. Abort it and put the bench in its "
                "safe state?", QtWidgets.QMessageBox.Yes | QtWidgets.QMessageBox.No)
            if answer != QtWidgets.QMessageBox.Yes:
                event.ignore()
                return
            self.current.abort("GUI closed")
            self.current.wait(60)
        self.monitor.stop()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        self.log_pane.detach()
        self.runner.close()
        self.bench.safe_state()
        event.accept()

"""Instrument panel: identity, live readings and manual controls of every role.

Readings come from the core ``Monitor`` (a background thread); manual commands go
through the bench's role views in a worker thread -- so they obey the safety envelope
and are refused while a run holds the instrument -- and report back to the log. The
box of an instrument a run holds is greyed out with its controls.
"""

import logging
import threading

from PyQt5 import QtCore, QtWidgets

from drivers.roles import ROLES

from .. import units
from ..bench import MANUAL

log = logging.getLogger("labctl.gui")

#: Manual controls per role: (label, method, unit the user types, unit the method takes).
CONTROLS = {
    "PumpLaser": [("Open shutter", "open_shutter", None, None), ("Close shutter", "close_shutter", None, None)],
    "Shutter": [("Open", "open_shutter", None, None), ("Close", "close_shutter", None, None)],
    "Attenuator": [("Pulse energy", "set_pulse_energy", "uJ", "J"),
                   ("Transmission", "set_transmission", "", "")],
    "SourceMeter": [("Voltage", "set_voltage", "V", "V"), ("Output on", "enable_output", None, None),
                    ("Output off", "disable_output", None, None)],
    "PulseGenerator": [("Output off", "disable_output", None, None)],
    "TemperatureController": [("Setpoint", "set_setpoint", "K", "K")],
    "RotationStage": [("Angle", "move_to", "deg", "deg")],
    "LinearStage": [("Position", "move_to", "mm", "mm")],
    "StreakCamera": [("Close shutter", "close_shutter", None, None)],
}


class Commander(QtCore.QObject):
    """Runs manual commands off the GUI thread; ``done(ok, message)`` on the GUI thread."""

    done = QtCore.pyqtSignal(bool, str)

    def __init__(self, bench, parent=None):
        super().__init__(parent)
        self.bench = bench

    def send(self, slot, method, *args) -> None:
        role, _, beam = slot.partition(".")
        role = self.bench.config.instruments[slot].role

        def work():
            try:
                getattr(self.bench.role(role, beam, owner=MANUAL), method)(*args)
                self.done.emit(True, f"{slot}: {method}{args if args else '()'} done")
            except Exception as exc:        # refused or failed: tell the user, keep going
                self.done.emit(False, f"{slot}: {method} refused: {exc}")
        threading.Thread(target=work, daemon=True, name=f"manual-{slot}").start()


class InstrumentPanel(QtWidgets.QScrollArea):
    def __init__(self, bench, commander: Commander, parent=None):
        super().__init__(parent)
        self.bench, self.commander = bench, commander
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        body = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body)
        self.boxes: dict[str, QtWidgets.QGroupBox] = {}
        self.held: set = set()
        self.identity: dict[str, QtWidgets.QLabel] = {}
        self.forms: dict[str, QtWidgets.QFormLayout] = {}
        self.values: dict[str, dict] = {}
        self.inputs: dict[tuple, QtWidgets.QLineEdit] = {}
        for slot, spec in bench.config.instruments.items():
            if slot in bench.drivers:
                layout.addWidget(self._box(slot, spec))
        layout.addStretch(1)
        self.setWidget(body)

    def _box(self, slot, spec):
        box = self.boxes[slot] = QtWidgets.QGroupBox(slot)
        column = QtWidgets.QVBoxLayout(box)
        ident = QtWidgets.QLabel(f"{spec.model} — {spec.resource}")
        ident.setStyleSheet("color: #555;")
        ident.setWordWrap(True)
        ident.setSizePolicy(QtWidgets.QSizePolicy.Ignored, QtWidgets.QSizePolicy.Preferred)
        self.identity[slot] = ident
        column.addWidget(ident)
        actions = QtWidgets.QHBoxLayout()
        form = QtWidgets.QFormLayout()
        for role, controls in CONTROLS.items():
            if not isinstance(self.bench.drivers[slot], ROLES[role]):
                continue
            for label, method, unit_in, unit_out in controls:
                if unit_in is None:
                    button = QtWidgets.QPushButton(label)
                    button.setObjectName(f"{slot}:{method}")
                    button.clicked.connect(lambda _, s=slot, m=method: self.commander.send(s, m))
                    actions.addWidget(button)
                    continue
                edit = QtWidgets.QLineEdit()
                edit.setPlaceholderText(units.pretty(unit_in) or "0…1")
                edit.setObjectName(f"{slot}:{method}")
                self.inputs[(slot, method)] = edit
                go = QtWidgets.QPushButton("Set")
                go.setObjectName(f"{slot}:{method}:set")
                go.clicked.connect(lambda _, s=slot, m=method, e=edit, ui=unit_in, uo=unit_out:
                                   self._set(s, m, e, ui, uo))
                row = QtWidgets.QHBoxLayout()
                row.addWidget(edit, 1)
                row.addWidget(go)
                form.addRow(label, row)
        column.addLayout(actions)
        column.addLayout(form)
        self.forms[slot] = form
        self.values[slot] = {}
        return box

    def _set(self, slot, method, edit, unit_in, unit_out):
        try:
            value = units.parse(edit.text(), unit_in)
            value = units.convert(value, unit_in, unit_out) if unit_in else value
        except units.UnitError as exc:
            self.commander.done.emit(False, f"{slot}: {exc}")
            return
        self.commander.send(slot, method, value)

    def lock(self, held: set) -> None:
        """Grey out the instruments a run holds (manual commands to them are refused)."""
        if held == self.held:
            return
        self.held = set(held)
        for slot, box in self.boxes.items():
            box.setEnabled(slot not in held)
            box.setTitle(f"{slot} — in use by the run" if slot in held else slot)

    def set_identities(self, snapshot: dict) -> None:
        for slot, info in snapshot.items():
            if slot in self.identity:
                self.identity[slot].setText(f"{info['identity']}\n{info['model']} — {info['resource']}")

    def update_readings(self, values: dict) -> None:
        for slot, readings in values.items():
            if slot not in self.values:
                continue
            for label, (value, unit) in readings.items():
                widget = self.values[slot].get(label)
                if widget is None:
                    widget = self.values[slot][label] = QtWidgets.QLabel()
                    widget.setWordWrap(True)          # an instrument's error text can be long
                    widget.setSizePolicy(QtWidgets.QSizePolicy.Ignored, QtWidgets.QSizePolicy.Preferred)
                    self.forms[slot].addRow(label, widget)
                text = f"{value:.4g}" if isinstance(value, float) else str(value)
                failed = text.startswith("error: ")
                widget.setStyleSheet("color: #b00020;" if failed else "")
                widget.setToolTip(text if failed else "")
                widget.setText(f"{text} {units.pretty(unit)}".strip())

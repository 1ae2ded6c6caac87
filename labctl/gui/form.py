"""A procedure's parameter form, generated from its declarations."""

from PyQt5 import QtCore, QtWidgets

from .. import units
from ..errors import LabctlError
from ..parameters import Bool, Choice

INVALID = "background: #ffd6d6;"


class ParameterForm(QtWidgets.QWidget):
    """One row per parameter: value, unit, limits. Invalid values are highlighted with
    the reason as tooltip; ``changed`` fires on every edit."""

    changed = QtCore.pyqtSignal()

    def __init__(self, cls, values=None, parent=None):
        super().__init__(parent)
        self.cls = cls
        self.editors = {}
        self.errors = {}
        layout = QtWidgets.QFormLayout(self)
        layout.setFieldGrowthPolicy(QtWidgets.QFormLayout.AllNonFixedFieldsGrow)
        for name, param in cls.parameters().items():
            editor = self._editor(param, (values or {}).get(name, param.default))
            editor.setToolTip(param.doc)
            editor.setObjectName(name)
            self.editors[name] = editor
            row = QtWidgets.QHBoxLayout()
            row.addWidget(editor, 1)
            unit = QtWidgets.QLabel(units.pretty(param.unit))
            unit.setMinimumWidth(48)
            row.addWidget(unit)
            label = QtWidgets.QLabel(name.replace("_", " "))
            label.setToolTip(f"{param.doc}\nlimits: {param.limits_text()}")
            layout.addRow(label, row)
        self.validate()

    def _editor(self, param, value):
        if isinstance(param, Choice):
            editor = QtWidgets.QComboBox()
            editor.addItems(param.choices)
            editor.setCurrentText(str(value))
            editor.currentTextChanged.connect(self._edited)
        elif isinstance(param, Bool):
            editor = QtWidgets.QCheckBox()
            editor.setChecked(bool(value))
            editor.toggled.connect(self._edited)
        else:
            editor = QtWidgets.QLineEdit(_text(value))
            editor.setCursorPosition(0)          # a long list shows its start
            editor.textChanged.connect(self._edited)
        return editor

    def _edited(self, *_):
        self.validate()
        self.changed.emit()

    def raw(self) -> dict:
        out = {}
        for name, editor in self.editors.items():
            if isinstance(editor, QtWidgets.QComboBox):
                out[name] = editor.currentText()
            elif isinstance(editor, QtWidgets.QCheckBox):
                out[name] = editor.isChecked()
            else:
                out[name] = editor.text()
        return out

    def set_values(self, values: dict) -> None:
        for name, value in values.items():
            editor = self.editors.get(name)
            if isinstance(editor, QtWidgets.QComboBox):
                editor.setCurrentText(str(value))
            elif isinstance(editor, QtWidgets.QCheckBox):
                editor.setChecked(bool(value))
            elif editor is not None:
                editor.setText(_text(value))
                editor.setCursorPosition(0)

    def validate(self) -> dict:
        """Check every field and the procedure as a whole; return {name: reason}."""
        self.errors = {}
        params = self.cls.parameters()
        for name, raw in self.raw().items():
            try:
                params[name].convert(raw)
            except LabctlError as exc:
                self.errors[name] = str(exc)
        if not self.errors:
            try:
                self.cls(**self.raw())
            except LabctlError as exc:
                self.errors[getattr(exc, "name", "") or "procedure"] = str(exc)
        for name, editor in self.editors.items():
            editor.setStyleSheet(INVALID if name in self.errors else "")
            tip = params[name].doc + (f"\n{self.errors[name]}" if name in self.errors else "")
            editor.setToolTip(tip)
        return self.errors

    def procedure(self):
        """The procedure with these values (raises the parameter error if invalid)."""
        return self.cls(**self.raw())


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(f"{v:g}" for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)

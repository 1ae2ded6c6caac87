"""The run queue: checked when an item is added, saved to disk after every change so
that a crash or a restart does not lose it."""

import json
from pathlib import Path

from PyQt5 import QtCore, QtWidgets

from .. import registry
from ..errors import LabctlError


class QueueStore:
    """Queued runs as plain data in a JSON file: procedure, parameters, sample, notes."""

    def __init__(self, path):
        self.path = Path(path)
        self.items: list[dict] = []
        if self.path.exists():
            try:
                self.items = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                self.items = []

    def check(self, item: dict, envelope):
        """The procedure an item describes; raises a ``LabctlError`` if it is invalid."""
        procedure = registry.procedure_class(item["procedure"])(**item["parameters"])
        preview = procedure.preview(envelope)
        if not preview.ok:
            raise LabctlError("; ".join(preview.violations))
        return procedure

    def add(self, item: dict, envelope) -> None:
        self.check(item, envelope)
        self.items.append(item)
        self.save()

    def remove(self, index: int) -> None:
        del self.items[index]
        self.save()

    def move(self, index: int, offset: int) -> None:
        target = index + offset
        if 0 <= index < len(self.items) and 0 <= target < len(self.items):
            self.items[index], self.items[target] = self.items[target], self.items[index]
            self.save()

    def pop(self) -> dict | None:
        if not self.items:
            return None
        item = self.items.pop(0)
        self.save()
        return item

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.items, indent=1), encoding="utf-8")
        temporary.replace(self.path)          # atomic: a crash leaves the old or the new file


class QueuePanel(QtWidgets.QWidget):
    """List of queued runs with reorder/remove and a run-the-queue switch."""

    run_queue = QtCore.pyqtSignal()

    def __init__(self, store: QueueStore, parent=None):
        super().__init__(parent)
        self.store = store
        self.list = QtWidgets.QListWidget()
        buttons = QtWidgets.QHBoxLayout()
        for text, action in (("▲", lambda: self._move(-1)), ("▼", lambda: self._move(1)),
                             ("Remove", self._remove)):
            button = QtWidgets.QPushButton(text)
            button.clicked.connect(action)
            buttons.addWidget(button)
        self.start = QtWidgets.QPushButton("Run queue")
        self.start.clicked.connect(self.run_queue.emit)
        buttons.addWidget(self.start)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        for item in self.store.items:
            changed = ", ".join(f"{k}={v}" for k, v in item.get("changed", {}).items())
            self.list.addItem(f"{item['procedure']} — {item.get('sample', '')} {changed}".strip())

    def _move(self, offset):
        row = self.list.currentRow()
        self.store.move(row, offset)
        self.refresh()
        self.list.setCurrentRow(min(max(row + offset, 0), self.list.count() - 1))

    def _remove(self):
        row = self.list.currentRow()
        if row >= 0:
            self.store.remove(row)
            self.refresh()

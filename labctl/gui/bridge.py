"""From the runner's worker thread to the Qt event loop.

The subscriber only appends to a queue (the acquisition never waits for the display);
a timer on the GUI thread hands the records over in batches. Views may draw only the
newest of a batch; storage has its own subscriber and sees every record.
"""

import collections
import threading

from PyQt5 import QtCore


class RecordBridge(QtCore.QObject):
    """Runner subscriber; emits ``records(list)`` on the GUI thread every ``period`` ms."""

    records = QtCore.pyqtSignal(list)
    monitor = QtCore.pyqtSignal(dict)

    def __init__(self, period_ms: int = 50, parent=None):
        super().__init__(parent)
        self._queue = collections.deque()
        self._readings = None
        self._lock = threading.Lock()
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.flush)
        self.timer.start(period_ms)

    def __call__(self, record) -> None:          # any thread
        self._queue.append(record)

    def readings(self, values: dict) -> None:    # monitor thread: keep only the newest
        with self._lock:
            self._readings = values

    def flush(self) -> None:                     # GUI thread
        batch = []
        while self._queue:
            batch.append(self._queue.popleft())
        if batch:
            self.records.emit(batch)
        with self._lock:
            values, self._readings = self._readings, None
        if values is not None:
            self.monitor.emit(values)

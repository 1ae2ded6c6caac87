"""From the runner's worker thread to the Qt event loop.

The subscriber only appends to a queue (the acquisition never waits for the display);
a timer on the GUI thread hands the records over in batches. Views may draw only the
newest of a batch; storage has its own subscriber and sees every record.

Drawing a batch can take longer than the period (a full-size streak image and its
decay fit): the next batch then waits twice as long as the last one took to draw, so
that the event loop keeps at least half of its time for input and repaints, and the
views catch up with bigger batches instead of falling ever further behind.
"""

import collections
import threading
import time

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
        self.period_ms = period_ms
        self.timer = QtCore.QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.flush)
        self.timer.start(period_ms)

    def __call__(self, record) -> None:          # any thread
        self._queue.append(record)

    @property
    def pending(self) -> int:
        """Records received and not yet handed to the GUI."""
        return len(self._queue)

    def readings(self, values: dict) -> None:    # monitor thread: keep only the newest
        with self._lock:
            self._readings = values

    def flush(self) -> None:                     # GUI thread
        started = time.perf_counter()
        try:
            batch = []
            while self._queue:
                batch.append(self._queue.popleft())
            if batch:
                self.records.emit(batch)
            with self._lock:
                values, self._readings = self._readings, None
            if values is not None:
                self.monitor.emit(values)
        finally:
            drawn_ms = 1e3 * (time.perf_counter() - started)
            self.timer.start(max(self.period_ms, round(2 * drawn_ms)))

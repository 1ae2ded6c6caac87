"""A view's slow computation (a decay fit) off the GUI thread, newest request only."""

import pickle
import threading
import time

from PyQt5 import QtCore

from .. import live

DUTY = 0.5          # the computations take at most this fraction of the time


_worker = None
_worker_lock = threading.Lock()


def worker() -> live.Worker:
    """The views' worker process (not the runners': a fit must not wait for a run's
    analysis, nor delay it)."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = live.Worker()
        return _worker


class Latest(QtCore.QObject):
    """Calls ``function(*args)`` from a thread of its own, one call at a time, in the
    views' worker process when the function and its arguments pickle (so that it does
    not hold this interpreter, which the display and the acquisition need), else in
    that thread (its exceptions then come back as they are). A request
    made while a call runs replaces any request still waiting: a live view wants the
    newest data done, not every frame. Each result comes back on the GUI thread as
    ``done(tag, result)`` (the exception if the call raised). After a call it rests
    (1 − ``DUTY``)/``DUTY`` times as long as the call took, so that the computation
    leaves the acquisition and the display their share of two cores."""

    done = QtCore.pyqtSignal(object, object)
    _finished = QtCore.pyqtSignal(object, object, float)

    def __init__(self, function, parent=None):
        super().__init__(parent)
        self.function = function
        self.in_process = True          # until the function or its arguments do not pickle
        self.waiting = None             # (tag, args) of the newest request not started
        self.running = False
        self._epoch = 0                 # results of calls asked before a cancel are dropped
        self._finished.connect(self._on_finished)
        self._rest = QtCore.QTimer(self)
        self._rest.setSingleShot(True)
        self._rest.timeout.connect(self._next)

    @property
    def busy(self) -> bool:
        """A result is still to come."""
        return self.running or self.waiting is not None

    def request(self, tag, *args) -> None:
        self.waiting = (tag, args)
        if not self._rest.isActive():
            self._next()

    def cancel(self) -> None:
        """Forget the waiting request and the result of the running one."""
        self.waiting = None
        self._epoch += 1

    def _next(self) -> None:
        if self.running or self.waiting is None:
            return
        (tag, args), self.waiting = self.waiting, None
        self.running = True
        threading.Thread(target=self._call, args=(self._epoch, tag, args), name="labctl-view",
                         daemon=True).start()

    def _call(self, epoch, tag, args) -> None:             # worker thread
        started = time.perf_counter()
        try:
            result = self._compute(args)
        except Exception as exc:
            result = exc
        try:
            self._finished.emit((epoch, tag), result, time.perf_counter() - started)
        except RuntimeError:                               # the view has been deleted
            pass

    def _compute(self, args):                               # worker thread
        if self.in_process:
            try:
                return worker().call(self.function, *args)
            except (TypeError, AttributeError, pickle.PicklingError, OSError):
                self.in_process = False
        return self.function(*args)

    def _on_finished(self, key, result, took) -> None:     # GUI thread
        self.running = False
        epoch, tag = key
        if epoch == self._epoch:
            self.done.emit(tag, result)
        self._rest.start(round(1e3 * took * (1 - DUTY) / DUTY))

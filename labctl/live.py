"""Live analysis off the acquisition thread: a worker process running ``analyze``.

A procedure's ``analyze`` (a threshold fit over every step so far) can cost tens of
milliseconds, and Python threads would not run it beside the acquisition (the GIL).
The runner hands slow analyses to one worker process shared by every runner of this
process: the procedure (pickled, with its parameters and state) and the rows of the
table of scalars the worker does not have yet go in, the results come back, and the runner emits them as ``Analysis``
records from its own thread. One request is in flight at a time, and the worker
rests as long as its last analysis took before it takes the next (``DUTY``): on two
cores it must not slow the acquisition it follows. The display follows as closely as
that allows while the acquisition never waits for the analysis.

Results a run's own code reads (``run.results``: damage guards, adaptive sampling) and
the final results are computed in the runner's thread as before, so that a run's
course and its stored results do not depend on the worker's timing.

A ``Worker`` also makes plain calls (``call``): the GUI's views use one of their own
for their fits (``labctl.gui.background``).

The worker is a plain ``python -m labctl.live`` child reading pickles on stdin (no
``multiprocessing``: it would re-run a user's script that lacks a main guard). It ends
when this process closes its stdin (exits).
"""

import itertools
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
import time

import numpy as np

OUT_OF_STEP = "the worker lost rows of this run's table; they are sent again"
DUTY = 0.5          # the worker analyses at most this fraction of the time

log = logging.getLogger(__name__)


class OutOfStep(Exception):
    """The rows sent do not follow those the worker holds (``OUT_OF_STEP``)."""


class Worker:
    """The analysis worker process and the latest reply for each run."""

    def __init__(self):
        self._lock = threading.Lock()
        self._proc = None
        self._busy = False
        self._replies = {}            # uid -> (steps, ok, results or error text)
        self._open = set()            # uids of runs that still want replies
        self._sent = {}               # uid -> rows of its table the worker process holds
        self._asked = 0.0             # when the request in flight was sent (monotonic s)
        self._rested = 0.0            # when the worker may take the next one
        self.failed = None            # why the worker cannot be used
        self._outbox = None           # messages for the sender thread
        self._calls = itertools.count()
        self._waiting = {}            # token -> Event of a ``call`` waiting for its reply

    def _start(self) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self._proc = subprocess.Popen([sys.executable, "-m", "labctl.live"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=env, close_fds=True)
        threading.Thread(target=self._read, args=(self._proc,), name="labctl-live-reader",
                         daemon=True).start()
        self._sent = {}

    def _send(self, message) -> None:
        """Pickle a message (here: the procedure may change once this returns) and hand it
        to the sender thread, which writes it to the pipe while the runner's thread waits
        for an instrument, not between its steps."""
        payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        if self._outbox is None:
            self._outbox = queue.SimpleQueue()
            threading.Thread(target=self._post, args=(self._outbox,), name="labctl-live-sender",
                             daemon=True).start()
        self._outbox.put((self._proc, len(payload).to_bytes(8, "little") + payload))

    def _post(self, outbox) -> None:
        while True:
            proc, data = outbox.get()
            try:
                proc.stdin.write(data)
                proc.stdin.flush()
            except (OSError, ValueError) as exc:   # the worker died: the next submit restarts it
                log.warning("live-analysis worker: %s", exc)
                with self._lock:
                    self._busy = False

    def submit(self, uid: str, steps: int, procedure, table: dict) -> bool:
        """Ask for ``procedure.analyze`` of the first ``steps`` rows of ``table`` (column
        -> array('d') of every step, still growing); only the rows the worker does not
        hold yet are sent. False if the worker is busy or unusable; the procedure not
        pickling raises (TypeError, AttributeError, pickle.PicklingError) so that the
        caller can stop trying."""
        with self._lock:
            if self._busy or self.failed or time.monotonic() < self._rested:
                return False
            start = self._sent.get(uid, 0)
            rows = {name: np.frombuffer(values, dtype=float, count=steps)[start:].copy()
                    for name, values in table.items()}
            message = ("analyze", uid, start, steps, procedure, rows)
            try:
                if self._proc is None:              # not started, or died (``_read``)
                    self._start()
                    message = message[:2] + (0,) + message[3:5] + (
                        {name: np.frombuffer(values, dtype=float, count=steps).copy()
                         for name, values in table.items()},)
                self._send(message)
            except OSError as exc:
                self.failed = f"live-analysis worker: {exc}"
                log.warning("%s; live analysis stays in the runner thread", self.failed)
                return False
            self._busy = True
            self._asked = time.monotonic()
            self._open.add(uid)
            self._sent[uid] = steps
            return True

    def call(self, function, *args):
        """``function(*args)`` in the worker process; waits for the result. A function or
        arguments that do not pickle raise here (TypeError, AttributeError,
        pickle.PicklingError), as does an unusable worker (OSError); an exception in the
        worker comes back as RuntimeError with its text."""
        token, done = f"call {next(self._calls)}", threading.Event()
        with self._lock:
            if self.failed:
                raise OSError(self.failed)
            if self._proc is None:
                self._start()
            self._send(("call", token, function, args))
            self._open.add(token)
            self._waiting[token] = done
        done.wait()
        with self._lock:
            self._open.discard(token)
            self._waiting.pop(token, None)
            reply = self._replies.pop(token, None)
        if reply is None:
            raise OSError("the worker ended before it answered")
        if not reply[1]:
            raise RuntimeError(reply[2])
        return reply[2]

    @property
    def pid(self) -> int | None:
        """The worker process's id (None before it started)."""
        return self._proc.pid if self._proc is not None else None

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until the worker takes requests again: none in flight, rested (tests,
        benchmarks: a warm worker); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._busy and time.monotonic() >= self._rested:
                    return True
            time.sleep(0.01)
        return False

    def reply(self, uid: str):
        """The newest reply for a run, once: (steps, ok, results or error) or None."""
        with self._lock:
            return self._replies.pop(uid, None)

    def forget(self, uid: str) -> None:
        with self._lock:
            self._replies.pop(uid, None)
            self._open.discard(uid)
            if self._sent.pop(uid, None) is not None:
                try:
                    self._send(("forget", uid))
                except OSError:
                    pass

    def _read(self, proc) -> None:
        stream = proc.stdout
        while True:
            header = stream.read(8)
            if len(header) < 8:
                break
            uid, steps, ok, value = pickle.loads(stream.read(int.from_bytes(header, "little")))
            with self._lock:
                if not ok and value == OUT_OF_STEP:
                    self._sent.pop(uid, None)        # resend the whole table next time
                if uid in self._open:
                    self._replies[uid] = (steps, ok, value)
                if uid in self._waiting:
                    self._waiting[uid].set()
                self._busy = False
                now = time.monotonic()
                self._rested = now + (now - self._asked) * (1 - DUTY) / DUTY
        with self._lock:                # the worker died: the next submit restarts it
            self._busy = False
            if self._proc is proc:
                self._proc = None
                for done in self._waiting.values():
                    done.set()


_worker = None
_worker_lock = threading.Lock()


def worker() -> Worker:
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = Worker()
        return _worker


def _serve() -> None:
    """The worker's loop: keep each run's table, analyze it on request (or make a call),
    answer on stdout."""
    import pandas as pd
    source = sys.stdin.buffer
    sink = os.fdopen(os.dup(1), "wb")       # replies only: anything printed goes to stderr
    os.dup2(2, 1)
    tables = {}                              # uid -> (rows, {column: array of every row})
    while True:
        header = source.read(8)
        if len(header) < 8:
            return
        data = source.read(int.from_bytes(header, "little"))
        uid, steps = None, 0
        try:
            message = pickle.loads(data)
            if message[0] == "forget":
                tables.pop(message[1], None)
                continue
            if message[0] == "call":
                _, uid, function, args = message
                reply = (uid, 0, True, function(*args))
            else:
                _, uid, start, steps, procedure, rows = message
                count, held = tables.get(uid, (0, {}))
                if start != count:
                    tables.pop(uid, None)
                    raise OutOfStep
                table = {name: np.concatenate([held[name], values]) if name in held else values
                         for name, values in rows.items()}
                tables[uid] = (steps, table)
                reply = (uid, steps, True, procedure.analyze(pd.DataFrame(table)))
        except OutOfStep:
            reply = (uid, steps, False, OUT_OF_STEP)
        except Exception as exc:                  # reported to the run as a warning
            reply = (uid, steps, False, f"{type(exc).__name__}: {exc}")
        try:
            out = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            out = pickle.dumps((uid, steps, False, f"results cannot be pickled: {exc}"))
        try:
            sink.write(len(out).to_bytes(8, "little") + out)
            sink.flush()
        except BrokenPipeError:                   # the runner's process has gone
            return


if __name__ == "__main__":
    _serve()

"""The runner: executes procedures in a worker thread and emits their records.

States::

    queued -> running <-> paused
    running/paused -> aborting -> aborted
    running -> finished | failed        (and any active state -> failed on error)

Pause and abort take effect at step boundaries (and inside ``run.sleep``). Whatever
ends a run -- completion, abort, an exception, the process exiting -- the bench is put
in its safe state before the stop record is emitted. One runner drives one bench; runs
queue up and execute one at a time.
"""

import array
import collections
import enum
import functools
import gc
import logging
import math
import platform
import sys
import threading
import time
import traceback
import uuid
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pandas as pd

from drivers.roles import ROLES

from . import live
from .errors import InstrumentError, LabctlError, PlanRefused, RoleBusy, SafetyError, UsageError
from .procedure import EndRun
from .records import Analysis, Descriptor, Event, Start, Step, Stop
from .safety import QUANTITIES

log = logging.getLogger(__name__)

LIVE_EVERY_STEP = 200
#: Longest time (s) a Python thread keeps the interpreter while others wait (CPython's
#: default is 5 ms). A runner shares the interpreter with its records' thread, other
#: runners and the GUI; each VISA transaction and wait hands it over, so at 5 ms a step
#: of a 20 Hz stream queued behind the others would start tens of ms late.
SWITCH_INTERVAL = 0.001
OFFLOAD_AFTER = 0.0005     # s: a live analysis slower than this moves to the worker process


def _freeze_long_lived() -> None:
    """Once per process, when the first runner is made: collect, then move every object
    that exists (modules, the bench, the GUI) out of the cyclic collector's sight
    (``gc.freeze``). A full collection stops every thread while it scans all objects
    -- 100 ms and more with numpy, scipy, pandas and Qt loaded, a whole period of a
    20 Hz stream; afterwards it scans only what was made since."""
    if not gc.get_freeze_count():
        gc.collect()
        gc.freeze()


class RunState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    ABORTING = "aborting"
    FINISHED = "finished"
    ABORTED = "aborted"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        return self in (RunState.FINISHED, RunState.ABORTED, RunState.FAILED)


TRANSITIONS = {
    RunState.QUEUED: {RunState.RUNNING, RunState.ABORTED},
    RunState.RUNNING: {RunState.PAUSED, RunState.ABORTING, RunState.FINISHED, RunState.FAILED},
    RunState.PAUSED: {RunState.RUNNING, RunState.ABORTING, RunState.FAILED},
    # an abort that arrives after the last step lets the run finish
    RunState.ABORTING: {RunState.ABORTED, RunState.FINISHED, RunState.FAILED},
    RunState.FINISHED: set(), RunState.ABORTED: set(), RunState.FAILED: set(),
}


class Aborted(Exception):
    """Unwinds a run that was asked to abort (raised at a step boundary)."""


def software_versions() -> dict:
    """Python, the platform and the packages this process runs (read once: what runs
    cannot change under a running process; reading the package metadata takes ~10 ms)."""
    return dict(_software())


@functools.cache
def _software() -> tuple:
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in ("labctl", "pymeasure", "pyvisa", "pyvisa-sim", "numpy", "scipy", "h5py", "lmfit"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return tuple(out.items())


class Run:
    """Handle of one run: its state, and the commands a front end may send to it."""

    def __init__(self, runner, procedure, *, notes="", parent=None):
        self.runner, self.procedure = runner, procedure
        self.uid = uuid.uuid4().hex
        self.notes, self.parent = notes, parent
        self.owner = self           # who holds the bench's claims (the outermost run)
        self.stop: Stop | None = None
        self.results: dict = {}
        self.steps_done = 0
        self.steps_planned = 0
        self.started: float | None = None
        self._state = RunState.QUEUED
        self._cond = threading.Condition()
        self._pause = False
        self._abort_reason = None
        self.suspenders = []        # (check, interval): check() -> reason to hold, or None
        self.slots = []             # the instruments the run holds

    def __repr__(self):
        return f"<Run {self.procedure.name} {self.uid[:8]} {self._state.value}>"

    @property
    def state(self) -> RunState:
        return self._state

    def _transition(self, new: RunState) -> None:
        with self._cond:
            if new not in TRANSITIONS[self._state]:
                raise LabctlError(f"run {self.uid[:8]}: cannot go from {self._state.value} to {new.value}")
            self._state = new
            self._cond.notify_all()
        self.runner._state_changed(self)

    # -- commands (any thread) -----------------------------------------------------
    def pause(self) -> None:
        """Pause at the next step boundary."""
        with self._cond:
            if self._state in (RunState.RUNNING, RunState.QUEUED):
                self._pause = True

    def _suspend(self, context) -> None:
        """Hold while a suspender of this run or of a run it is part of reports a
        reason (temperature out of its band, interlock open); resume when it clears."""
        for check, interval in [entry for run in self.chain() for entry in run.suspenders]:
            reason = check()
            if reason is None:
                continue
            held = [run for run in self.chain() if run.state == RunState.RUNNING]
            for run in held:
                run._transition(RunState.PAUSED)
            self.procedure.on_pause(context)
            context.event("suspended", reason)
            while reason is not None:
                context.sleep(interval)          # abort-aware
                reason = check()
            for run in reversed(held):
                run._transition(RunState.RUNNING)
            self.procedure.on_resume(context)
            context.event("resumed", "condition back in range")

    def resume(self) -> None:
        with self._cond:
            self._pause = False
            self._cond.notify_all()

    def abort(self, reason: str = "aborted by the user") -> None:
        """Stop at the next step boundary; the bench goes to its safe state."""
        with self._cond:
            if self._state.done or self._abort_reason is not None:
                return
            self._abort_reason = reason
            self._cond.notify_all()
            queued = self._state == RunState.QUEUED
        if queued:
            self.runner._dequeue(self)
            self._transition(RunState.ABORTED)
        elif self._state in (RunState.RUNNING, RunState.PAUSED):
            self._transition(RunState.ABORTING)

    def wait(self, timeout: float | None = None) -> Stop | None:
        """Block until the run has ended; return its stop record."""
        with self._cond:
            self._cond.wait_for(lambda: self._state.done, timeout)
        return self.stop

    # -- used by the worker and the procedure -------------------------------------
    @property
    def abort_reason(self) -> str | None:
        """Why this run, or a run it is part of, was asked to abort (None: it was not)."""
        return next((run._abort_reason for run in self.chain() if run._abort_reason is not None), None)

    @property
    def abort_requested(self) -> bool:
        return self.abort_reason is not None

    def chain(self) -> list:
        """This run and the runs it is part of (a series and its inner run)."""
        runs, run = [], self
        while run is not None:
            runs.append(run)
            run = run.parent
        return runs

    def boundary(self, context) -> None:
        """A step boundary: honour abort and pause requests and the suspenders."""
        if self.abort_requested:
            raise Aborted(self.abort_reason)
        self._suspend(context)
        if not self._pause:
            return
        self._transition(RunState.PAUSED)
        self.procedure.on_pause(context)
        context.event("paused", "run paused")
        with self._cond:
            self._cond.wait_for(lambda: not self._pause or self.abort_requested)
        if self.abort_requested:
            raise Aborted(self.abort_reason)
        self._transition(RunState.RUNNING)
        self.procedure.on_resume(context)
        context.event("resumed", "run resumed")


class _Emitter:
    """Hands records to the subscribers from a thread of its own, in order, so that the
    run file is written and the live analysis shown while the next step's instruments
    integrate or move. The runner waits for it (``drain``) before a step's record, before
    the stop record and at the end of the steps, and re-raises there what a critical
    subscriber raised."""

    def __init__(self, deliver):
        self.deliver = deliver
        self._queue = collections.deque()
        self._cond = threading.Condition()
        self._pending = 0
        self._failure = None            # (record, exception) of the first critical failure
        self._thread = None

    def put(self, record) -> None:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="labctl-records", daemon=True)
                self._thread.start()
            self._queue.append(record)
            self._pending += 1
            self._cond.notify_all()

    def drain(self):
        """Wait until every record is delivered; return the (record, exception) of a
        critical subscriber's failure since the last drain, or None."""
        with self._cond:
            self._cond.wait_for(lambda: self._pending == 0)
            failure, self._failure = self._failure, None
            return failure

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue)
                record = self._queue.popleft()
            try:
                self.deliver(record)
            except Exception as exc:
                with self._cond:
                    self._failure = self._failure or (record, exc)
            finally:
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()


class RunContext:
    """What a procedure sees of its run: roles, axes, events, waits and live results."""

    def __init__(self, runner, run):
        self.runner, self.run, self.bench = runner, run, runner.bench
        self.uid = run.uid
        self.axes: dict = {}
        self._results: dict = {}
        self.table: dict = {}           # column -> array('d') of every step's value
        self.analyzed = 0               # steps the runner-thread analysis has seen
        self.offered = 0                # steps of the newest live analysis asked for
        self.shown = 0                  # steps of the newest Analysis record emitted
        self.offload = None             # live analysis in the worker process: None (not
                                        # yet), True, or False (the procedure won't pickle)
        self.fault_checks = None        # check_fault of every instrument the run holds
        self.sourcemeters = None        # views of the source-meters its owner holds
        self.retried: list[str] = []    # slot of every transient fault retried
        self._views: dict = {}          # (role, qualifier) -> view: the claims hold all run

    @property
    def results(self) -> dict:
        """The analysis of the steps so far (for runs over ``LIVE_EVERY_STEP`` steps, of
        all but the last few). Computed in the runner's thread when it is older than
        that, so that what a procedure reads does not depend on the live worker's pace."""
        self.runner._catch_up(self.run, self)
        return self._results

    def retry(self, slot: str, message: str) -> None:
        """Record a transient instrument fault the bench retried."""
        self.retried.append(slot)
        self.event("retry", message, slot=slot)

    def role(self, name: str, qualifier: str | None = None):
        """The view of a role (in the slot the procedure chose for it), owned by this run."""
        view = self._views.get((name, qualifier))
        if view is None:
            chosen = self.run.procedure.slots().get(name, "") if qualifier is None else qualifier
            view = self._views[name, qualifier] = self.bench.role(name, chosen, owner=self.run.owner)
        return view

    def has(self, name: str, qualifier: str | None = None) -> bool:
        """Whether the bench has an instrument for a role (optional roles)."""
        if qualifier is None:
            qualifier = self.run.procedure.slots().get(name, "")
        return self.bench.config.resolve(name, qualifier) in self.bench.drivers

    def open_beam(self) -> None:
        """Let the pump reach the sample: the laser's shutter, then the beam line's
        shutter if the bench has one there."""
        for shutter in self._shutters():
            shutter.open_shutter()

    def close_beam(self) -> None:
        """Block the pump: the beam line's shutter (if any), then the laser's."""
        for shutter in reversed(self._shutters()):
            shutter.close_shutter()

    def _shutters(self) -> list:
        slots = self.run.procedure.slots()
        pump = "TunablePumpLaser" if "TunablePumpLaser" in slots else "PumpLaser"
        return [self.role(pump)] + ([self.role("Shutter")] if self.has("Shutter") else [])

    def set_axis(self, name: str, values, unit: str) -> None:
        """Declare an axis of the recorded arrays (before the first step)."""
        self.axes[name] = (values, unit)

    def event(self, kind: str, message: str, **data) -> None:
        self.runner._emit(Event(self.uid, time.time(), kind, message, data))

    def suspend_while(self, check, interval: float = 5.0) -> None:
        """Register a suspender: at every step boundary of this run (and of the runs it
        starts), ``check()`` returning a reason pauses the run until it returns None;
        ``interval`` s between re-checks."""
        self.run.suspenders.append((check, interval))

    def now(self) -> float:
        """Seconds on the bench's clock (simulated time on the simulated bench)."""
        return self.bench.now()

    def sleep(self, seconds: float, interval: float = 0.5) -> None:
        """Wait, honouring abort requests (simulated time on the simulated bench)."""
        while seconds > 0:
            if self.run.abort_requested:
                raise Aborted(self.run.abort_reason)
            chunk = min(interval, seconds)
            self.bench.sleep(chunk)
            seconds -= chunk

    def run_inner(self, procedure, notes: str = ""):
        """Run another procedure now as a child of this run (series procedures): it is
        stored as its own run file linked to this one. Its abort aborts this run; its
        failure fails it."""
        child = Run(self.runner, procedure, notes=notes, parent=self.run)
        self.runner._check(procedure)
        self.runner._execute(child)
        if child.state == RunState.ABORTED:
            raise Aborted(child.stop.reason)
        if child.state == RunState.FAILED:
            raise LabctlError(f"inner {procedure.name} run {child.uid[:8]} failed: {child.stop.reason}")
        return child


class Runner:
    """Executes runs on one bench, one at a time, and feeds their records to subscribers."""

    def __init__(self, bench, subscribers=()):
        if bench.runner is not None:
            raise RoleBusy(f"bench {bench.config.name!r} already has a runner; "
                           "queue runs on bench.runner")
        bench.runner = self
        self.bench = bench
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        _freeze_long_lived()
        self._subscribers = [(s, False) for s in subscribers]
        self._queue: list[Run] = []
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._worker = None
        self.current: Run | None = None
        self.state_listeners = []
        #: Slow live analyses run in a worker process (``labctl.live``); False keeps
        #: them in the runner's thread.
        self.offload_analysis = True
        #: Records of the steps reach the subscribers from a thread of their own while
        #: the next step runs (True), or before it starts (False). None: only when the
        #: instruments take time (a real bench, a simulated one at time scale > 0).
        self.pipeline = None
        self._emitter = _Emitter(self._deliver)

    def close(self) -> None:
        """Give the bench up (after the last run): another runner may then drive it."""
        with self._lock:
            if self.current is not None or self._queue:
                raise RoleBusy("the runner still has runs to finish; abort them first")
            if self.bench.runner is self:
                self.bench.runner = None

    # -- subscribers --------------------------------------------------------------
    def subscribe(self, callback, critical: bool = False):
        """Send every record to ``callback``. A critical subscriber (the run store)
        that fails fails the run; other subscribers' errors are logged and ignored."""
        entry = (callback, critical)
        self._subscribers.append(entry)
        return lambda: self._subscribers.remove(entry)

    def _pipelined(self) -> bool:
        if self.pipeline is None:
            sim = self.bench.sim
            return sim is None or sim.clock.scale > 0
        return self.pipeline

    def _emit(self, record) -> None:
        """Send a record to the subscribers: steps, events and analyses through the
        emitter when pipelined; the others once every record before them is delivered."""
        if self._pipelined() and not isinstance(record, (Start, Descriptor, Stop)):
            self._emitter.put(record)
            return
        self._sync()
        self._deliver(record)

    def _sync(self, run=None) -> None:
        """Wait for the records handed to the emitter; raise a critical subscriber's
        failure (a step whose record could not be stored is not done)."""
        failure = self._emitter.drain()
        if failure is None:
            return
        record, exc = failure
        if run is not None and isinstance(record, Step) and record.uid == run.uid:
            run.steps_done = min(run.steps_done, record.index)
        raise exc

    def _deliver(self, record) -> None:
        for callback, critical in list(self._subscribers):
            if critical:
                callback(record)
                continue
            try:
                callback(record)
            except Exception:
                log.exception("record subscriber %r failed", callback)

    def _state_changed(self, run) -> None:
        for listener in list(self.state_listeners):
            try:
                listener(run)
            except Exception:
                log.exception("state listener failed")

    # -- queue --------------------------------------------------------------------
    def _check(self, procedure) -> None:
        """Refuse a procedure before it is queued: missing roles, unsafe setpoints."""
        self.bench.config.require(procedure.required(), procedure.name)
        preview = procedure.preview(self.bench.envelope)
        if not preview.ok:
            raise PlanRefused(procedure.name, preview.violations)

    def submit(self, procedure, *, notes: str = "") -> Run:
        """Check and queue a run; it starts when the runs before it have ended."""
        self._check(procedure)
        run = Run(self, procedure, notes=notes)
        with self._lock:
            self._queue.append(run)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="labctl-runner", daemon=True)
                self._worker.start()
            self._wake.notify_all()
        return run

    def run(self, procedure, *, notes: str = "") -> Run:
        """Submit a run and wait for it to end."""
        run = self.submit(procedure, notes=notes)
        run.wait()
        return run

    @property
    def queue(self) -> list[Run]:
        with self._lock:
            return list(self._queue)

    def _dequeue(self, run) -> None:
        with self._lock:
            if run in self._queue:
                self._queue.remove(run)

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._worker = None
                    return
                run = self._queue.pop(0)
            self._execute(run)

    # -- one run ------------------------------------------------------------------
    def _execute(self, run: Run) -> None:
        procedure, bench = run.procedure, self.bench
        if run.parent is not None:
            run.owner = run.parent.owner
        context = RunContext(self, run)
        outer, self.current = self.current, run
        if run.parent is None:
            bench.on_retry = context.retry
        status, reason, tb, started = RunState.FINISHED, "completed", "", False
        try:
            run._transition(RunState.RUNNING)
            slots = [slot for r, q in procedure.slots().items()
                     if (slot := bench.config.resolve(r, q)) in bench.drivers]
            run.slots = slots
            with bench.claimed(slots, run.owner):
                if run.parent is None:
                    self._interlocks(run, context, slots)
                if procedure.beam() is not None:
                    bench.set_beam(procedure.beam())
                plan = procedure.plan()
                run.steps_planned = len(plan)
                self._emit(self._start_record(run, plan, bench.snapshot()))
                started, run.started = True, time.time()
                run.boundary(context)
                procedure.setup(context)
                self._emit(Descriptor(run.uid, dict(context.axes)))
                while plan:
                    for step in plan:
                        run.boundary(context)
                        self._step(run, context, step)
                    plan = procedure.more_steps(context, context.results)
                    for step in plan:
                        for sp in step.setpoints:
                            bench.check_setpoint(sp.quantity, sp.value, sp.unit, procedure.beam_line())
                    run.steps_planned += len(plan)
                self._sync(run)
                procedure.teardown(context)
        except EndRun as exc:
            reason = f"ended early: {exc}"
            context.event("ended", str(exc))
            procedure.teardown(context)
        except Aborted as exc:
            status, reason = RunState.ABORTED, str(exc) or "aborted"
        except Exception as exc:
            step = getattr(exc, "labctl_step", None)
            status = RunState.FAILED
            reason = (f"step {step}: " if step is not None else "") + _describe(exc)
            tb = traceback.format_exc()
            log.error("run %s failed: %s", run.uid[:8], reason)
        finally:
            self._end(run, context, status, reason, tb, started, outer)

    def _end(self, run, context, status, reason, tb, started, outer) -> None:
        """Safe state, stop record, final state -- whatever fails on the way, the run
        ends and its waiters are released."""
        try:
            failures = self.bench.safe_state() if run.parent is None else {}
            try:
                self._sync(run)                    # records still on their way
            except Exception as exc:
                status, reason = RunState.FAILED, f"{reason}; then: {_describe(exc)}"
            self._analyze(run, context)            # results of every completed step
            live.worker().forget(run.uid)
            if failures:
                reason += "; NOT SAFE: " + "; ".join(f"{s}: {m}" for s, m in failures.items())
                status = RunState.FAILED
            if context.retried:
                reason += (f"; {len(context.retried)} transient fault(s) retried "
                           f"({', '.join(dict.fromkeys(context.retried))})")
            if not started:
                self._emit(self._start_record(run, [], {}))
            run.stop = Stop(run.uid, status.value, reason, time.time(), run.steps_done,
                            results=context._results, traceback=tb)
            self._emit(run.stop)
        except Exception as exc:             # e.g. the run file cannot be written
            log.exception("run %s: ending it failed", run.uid[:8])
            status, reason = RunState.FAILED, f"{reason}; then: {_describe(exc)}"
            run.stop = Stop(run.uid, status.value, reason, time.time(), run.steps_done,
                            results=context._results, traceback=traceback.format_exc())
        finally:
            self.current = outer
            if run.parent is None:
                self.bench.on_retry = None
                self.bench.set_step(None)
            if run.state != status:
                if status == RunState.ABORTED and run.state != RunState.ABORTING:
                    run._transition(RunState.ABORTING)
                if status not in TRANSITIONS[run.state]:
                    status = RunState.FAILED
                run._transition(status)

    def _start_record(self, run, plan, snapshot) -> Start:
        procedure, bench = run.procedure, self.bench
        columns, arrays = procedure.schema()
        beam = procedure.beam()
        return Start(
            uid=run.uid, procedure=procedure.name, title=procedure.title,
            parameters=procedure.values(), units=procedure.units(),
            plan={"steps": len(plan), "duration_s": sum(s.duration for s in plan),
                  "beam": beam.describe() if beam else None},
            bench=snapshot, sample=bench.sample, software=software_versions(), time=time.time(),
            columns=columns, arrays=arrays, envelope=bench.envelope.describe(),
            config=bench.config.source, parent=run.parent.uid if run.parent else None,
            notes=run.notes)

    def _interlocks(self, run, context, slots) -> None:
        """Interlocks every run gets for the instruments it holds: a laser interlock
        opening suspends the run until it closes again."""
        for slot in slots:
            driver = self.bench.drivers[slot]
            if isinstance(driver, ROLES["PumpLaser"]):
                role, _, qualifier = slot.partition(".")
                view = self.bench.role("PumpLaser", qualifier, owner=run.owner)
                run.suspenders.append((lambda v=view, s=slot: None if v.interlock_ok
                                       else f"{s}: safety interlock open", 5.0))

    def _check_measured(self, run, context, scalars, columns) -> None:
        """Fail the run when a measured value of an envelope quantity lies outside the
        envelope (delivered fluence above the limit despite a correct setpoint), and when
        a source-meter the run holds reached its compliance."""
        line = run.procedure.beam_line()
        for column in columns:
            value = scalars.get(column.name)
            if column.name in QUANTITIES and value is not None and math.isfinite(value):
                try:
                    self.bench.envelope.check(column.name, value, column.unit, line=line)
                except SafetyError as exc:
                    raise SafetyError(f"measured {column.name}", exc.value, exc.limit,
                                      self.bench.envelope.source) from None
        if context.sourcemeters is None:            # the claims hold for the whole run
            context.sourcemeters = [
                (slot, self.bench.role("SourceMeter", slot.partition(".")[2], owner=run.owner))
                for slot, driver in self.bench.drivers.items()
                if isinstance(driver, ROLES["SourceMeter"]) and self.bench.claimed_by(slot) is run.owner]
        for slot, view in context.sourcemeters:
            if view.output_enabled and view.in_compliance:
                raise InstrumentError(slot, self.bench.config.instruments[slot].resource,
                                      "compliance reached: output switched off, run stopped")

    def _step(self, run, context, step) -> None:
        self.bench.set_step(run.steps_done)
        try:
            data = run.procedure.measure(context, step)
            if context.fault_checks is None:
                context.fault_checks = self.bench.fault_checks(run.slots, run.owner)
            for check in context.fault_checks:              # an error voids the step
                check()
        except Exception as exc:
            exc.labctl_step = getattr(exc, "labctl_step", run.steps_done)   # innermost step
            raise
        columns, arrays = run.procedure.schema()
        scalars = {c.name: float(data.get(c.name, float("nan"))) for c in columns}
        record = Step(run.uid, run.steps_done, time.time(), scalars,
                      {a.name: data[a.name] for a in arrays})
        self._sync(run)                                     # the previous step is stored
        self._emit(record)
        run.steps_done += 1
        self._check_measured(run, context, scalars, columns)
        for name, value in scalars.items():
            context.table.setdefault(name, array.array("d")).append(value)
        self._live(run, context)

    def _live(self, run, context) -> None:
        """Live analysis after a step: after every step of runs up to ``LIVE_EVERY_STEP``
        steps, then about that many times per run (the cost of one analysis grows with
        the run). In the runner's thread while it is cheap; once one takes longer than
        ``OFFLOAD_AFTER``, in the worker process whenever it is free."""
        n = run.steps_done
        due = n - context.offered >= max(1, n // LIVE_EVERY_STEP)
        if context.offload:
            self._collect_live(run, context)
            if due:
                self._offer_live(run, context)
            return
        if due:
            started = time.perf_counter()
            self._analyze(run, context)
            context.offered = n
            if (context.offload is None and self.offload_analysis
                    and time.perf_counter() - started > OFFLOAD_AFTER):
                context.offload = True

    def _offer_live(self, run, context) -> None:
        try:
            accepted = live.worker().submit(run.uid, run.steps_done, run.procedure, context.table)
        except Exception as exc:           # the procedure does not pickle: stay here
            log.debug("live analysis of %s stays in the runner thread: %s", run.procedure.name, exc)
            context.offload = False
            self._analyze(run, context)
            context.offered = run.steps_done
            return
        if accepted:
            context.offered = run.steps_done

    def _collect_live(self, run, context) -> None:
        """Emit the worker's newest analysis of this run, if newer than the last shown."""
        reply = live.worker().reply(run.uid)
        if reply is None:
            return
        steps, ok, value = reply
        if value == live.OUT_OF_STEP:
            return
        if not ok:                      # e.g. the worker cannot import the procedure
            context.event("warning", f"live analysis failed: {value}")
            context.offload = False
        elif steps > context.shown:
            context.shown = steps
            run.results = value
            self._emit(Analysis(run.uid, steps, value))

    def _catch_up(self, run, context) -> None:
        """Analyse now if the runner-thread results lag the policy of ``_live``."""
        n = run.steps_done
        if n - context.analyzed > n // LIVE_EVERY_STEP:
            self._analyze(run, context)

    def _analyze(self, run, context) -> None:
        """Analysis of every step so far, in the runner's thread (emitted as a record);
        always once more at the end of the run."""
        if context.analyzed == run.steps_done:
            return
        context.analyzed = run.steps_done
        table = pd.DataFrame({name: np.array(values) for name, values in context.table.items()})
        try:
            context._results = run.procedure.analyze(table)
        except Exception as exc:       # analysis must never stop acquisition
            context.event("warning", f"live analysis failed: {_describe(exc)}")
            return
        context.shown = max(context.shown, run.steps_done)
        run.results = context._results
        self._emit(Analysis(run.uid, run.steps_done, context._results))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (LabctlError, UsageError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"

"""What the performance benchmarks share: figures with their targets, the machine, the
step-time accounting and the sweep they time.

Every benchmark prints a markdown table ``| figure | value | target | |`` with PASS or
MISS beside each figure that has a target, and with ``--json FILE`` also writes its
figures for ``benchmarks/run_all.py``'s summary.
"""

import array
import json
import os
import platform
import resource
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:              # run as `python benchmarks/x.py` from anywhere
    sys.path.insert(0, str(ROOT))


@dataclass
class Figure:
    """One printed number, and the target it is held against (if any)."""

    item: str                 # the item: "1 overhead", "2 pymeasure"...
    name: str
    value: float
    unit: str = ""
    target: str = ""          # e.g. "≤ 1 ms"; empty: information only
    ok: bool | None = None

    def shown(self) -> str:
        v = self.value
        if isinstance(v, float):
            text = f"{v:.3g}" if abs(v) < 1e3 else f"{v:,.0f}"
        else:
            text = str(v)
        return f"{text} {self.unit}".strip()

    @property
    def verdict(self) -> str:
        return "" if self.ok is None else ("PASS" if self.ok else "MISS")


def check(item, name, value, unit, op, limit, limit_text=None) -> Figure:
    """A figure with a target ``value op limit`` (op one of <=, <, >=, >)."""
    ok = {"<=": value <= limit, "<": value < limit, ">=": value >= limit, ">": value > limit}[op]
    symbol = {"<=": "≤", "<": "<", ">=": "≥", ">": ">"}[op]
    return Figure(item, name, value, unit, f"{symbol} {limit_text or f'{limit:g} {unit}'.strip()}", bool(ok))


def info(item, name, value, unit="") -> Figure:
    return Figure(item, name, value, unit)


def table(figures, title=None) -> str:
    lines = [f"### {title}", ""] if title else []
    lines += ["| figure | value | target | |", "|---|---|---|---|"]
    lines += [f"| {f.name} | {f.shown()} | {f.target} | {f.verdict} |" for f in figures]
    return "\n".join(lines)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def finish(figures, args, title) -> None:
    """Print the table; write the figures to ``--json`` if asked."""
    print(table(figures, title))
    if getattr(args, "json", None):
        Path(args.json).write_text(json.dumps([asdict(f) for f in figures]))


def add_common(parser) -> None:
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not the figures")
    parser.add_argument("--json", help="also write the figures to this file (run_all.py)")


def live_worker_idle(timeout: float = 60.0) -> None:
    """Wait until the live-analysis worker process has no request in flight (a warm
    worker before timing). No-op for a labctl without one (the baseline runs)."""
    try:
        from labctl import live
    except ImportError:
        return
    live.worker().wait_idle(timeout)


def live_worker_pid():
    """The live-analysis worker's process id, or None."""
    try:
        from labctl import live
    except ImportError:
        return None
    return live.worker().pid


def rss_mb() -> float:
    """Resident memory of this process now (MB)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values, q) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


class StepClock:
    """Splits the runner thread's time per step into categories by wrapping functions.

    The split is in CPU time of the runner thread (``time.thread_time``): what each part
    costs, whatever else the machine runs meanwhile; each step's wall time is recorded
    beside it. Time is charged to the innermost wrapped call in progress on the runner thread
    (exclusive time): the VISA library (``io``: the simulated instruments, their
    physics included), the drivers around it (``driver``), the procedure's own
    computation (``procedure``), the run store, the live analysis, and everything else
    of the step (``runner``: role views, safety checks, records, the step loop). Each
    wrapped call costs about a microsecond of bookkeeping, charged to the framework.
    """

    CATEGORIES = ("io", "driver", "procedure", "store", "analysis", "runner")

    def __init__(self):
        self.totals = dict.fromkeys(self.CATEGORIES, 0.0)
        self.stack = []
        self.since = None
        self.thread = None
        self.columns = {c: array.array("d") for c in (*self.CATEGORIES, "cpu", "wall")}
        self._mark = None
        self._undo = []

    def _switch(self, category):
        now = time.thread_time()
        if self.stack:
            self.totals[self.stack[-1]] += now - self.since
        self.since = now
        self.stack.append(category)

    def _back(self):
        now = time.thread_time()
        self.totals[self.stack.pop()] += now - self.since
        self.since = now

    def wrap(self, owner, name, category) -> None:
        original = getattr(owner, name)
        clock = self

        def timed(*args, **kwargs):
            if threading.current_thread() is not clock.thread:
                return original(*args, **kwargs)
            clock._switch(category)
            try:
                return original(*args, **kwargs)
            finally:
                clock._back()
        timed.__wrapped__ = original
        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def unwrap(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo = []

    def step_started(self) -> None:
        """Called by the wrapped Runner._step on the runner thread: closes the previous
        step (step wall time = from one step's start to the next one's)."""
        now, wall = time.thread_time(), time.perf_counter()
        if self.thread is None:
            self.thread = threading.current_thread()
        if self.stack:
            self.totals[self.stack[-1]] += now - self.since
            self.since = now
        if self._mark is not None:
            t0, w0, before = self._mark
            for c in self.CATEGORIES:
                self.columns[c].append(self.totals[c] - before[c])
            self.columns["cpu"].append(now - t0)
            self.columns["wall"].append(wall - w0)
        self._mark = (now, wall, dict(self.totals))

    def install(self, runner_cls, bench_cls, library_cls, store_cls, procedure_cls) -> None:
        """Wrap the framework's and the simulated bench's entry points."""
        original_step = runner_cls._step
        clock = self

        def step(runner, run, context, planned):
            clock.step_started()
            clock.stack = ["runner"]
            clock.since = time.thread_time()
            return original_step(runner, run, context, planned)
        runner_cls._step = step
        self._undo.append((runner_cls, "_step", original_step))
        for name in ("read", "write", "flush"):
            self.wrap(library_cls, name, "io")
        self._wrap_driver_actions(bench_cls)
        self.wrap(procedure_cls, "measure", "procedure")
        self.wrap(store_cls, "__call__", "store")
        for name in ("_analyze", "_offer_live"):
            if hasattr(runner_cls, name):
                self.wrap(runner_cls, name, "analysis")

    def _wrap_driver_actions(self, bench_cls) -> None:
        """The driver call inside ``Bench._call`` (what the role view runs) is driver
        time; the role view around it (locks, checks, retries) stays framework time."""
        original = bench_cls._call
        clock = self

        def call(bench, view, name, action, command=None):
            if threading.current_thread() is not clock.thread:
                return original(bench, view, name, action, command)

            def timed_action():
                clock._switch("driver")
                try:
                    return action()
                finally:
                    clock._back()
            return original(bench, view, name, timed_action, command)
        bench_cls._call = call
        self._undo.append((bench_cls, "_call", original))

    @property
    def steps(self) -> list:
        """Per step: {category: CPU seconds, "cpu": all of the step, "wall": its wall time}."""
        names = list(self.columns)
        return [dict(zip(names, values)) for values in zip(*self.columns.values())]

    def framework(self, entry) -> float:
        """CPU seconds of a step that are neither instrument I/O, drivers nor the procedure."""
        return entry["store"] + entry["analysis"] + entry["runner"]

"""Duty cycle against the physical limit: a fluence sweep in real time.

    python benchmarks/duty_cycle.py [--points 60] [--quick] [--json FILE]

The ``fluence-sweep`` procedure with 10 ms integrations at time scale 1: the attenuator's
rotation stage moves at its real speed, the power meter waits for its pulses, the
spectrometer integrates; the run is stored and analysed live as usual.

Acquisition efficiency = time the instruments are busy / wall time, over the steps
(from the first step's start to the last one's end). An instrument is busy while it
serves a command (the VISA transaction: its reply computed, integrations and pulse
counting included) and while a stage it drives is moving (the twin's move, from its
start for its duration). Idle is everything else: the drivers' and the procedure's
Python, the framework, and the wait between the end of a move and the moment the
driver's polling notices it. The limit is 100 %: the bench never waits for software.
Target ≥ 98 %.
"""

import argparse
import tempfile
import threading
import time

from common import add_common, check, finish, info, live_worker_idle, machine


class BusyLog:
    """Wall-clock intervals during which an instrument is busy (runner thread only)."""

    def __init__(self):
        self.intervals = []
        self.moves = []
        self._undo = []
        self.thread = None

    def install(self):
        from sim_instruments.library import SimBenchLibrary
        from sim_instruments.newport_smc100 import SMC100Twin

        log = self

        def timed(original):
            def call(library, *args, **kwargs):
                start = time.perf_counter()
                try:
                    return original(library, *args, **kwargs)
                finally:
                    if threading.current_thread() is log.thread:
                        log.intervals.append((start, time.perf_counter()))
            return call
        for name in ("read", "write"):
            original = getattr(SimBenchLibrary, name)
            setattr(SimBenchLibrary, name, timed(original))
            self._undo.append((SimBenchLibrary, name, original))
        original_start = SMC100Twin._start

        def start_move(twin, target, homing=False):
            original_start(twin, target, homing)
            now = time.perf_counter()
            log.moves.append((now, now + twin.move.duration * twin.clock.scale))
        SMC100Twin._start = start_move
        self._undo.append((SMC100Twin, "_start", original_start))

    def uninstall(self):
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)

    def busy(self, start, end) -> tuple[float, float, float]:
        """(busy seconds within [start, end], of which I/O alone, of which moves alone)."""
        def union(intervals):
            total, last = 0.0, start
            for a, b in sorted(intervals):
                a, b = max(a, last), min(b, end)
                if b > a:
                    total += b - a
                    last = b
            return total
        return union(self.intervals + self.moves), union(self.intervals), union(self.moves)


def measure(points):
    import labctl.runner as runner_module
    from labctl.bench import Bench
    from labctl.records import Step
    from labctl.store import RunStore
    from procedures.fluence_sweep import FluenceSweep

    log = BusyLog()
    log.install()
    marks = []
    original_step = runner_module.Runner._step

    def step(runner, run, context, planned):
        if log.thread is None:
            log.thread = threading.current_thread()
        marks.append(time.perf_counter())
        return original_step(runner, run, context, planned)
    runner_module.Runner._step = step
    try:
        with tempfile.TemporaryDirectory() as directory:
            with Bench.open(time_scale=0, seed=1) as bench:        # warm-up: imports, worker
                runner = runner_module.Runner(bench)
                runner.run(FluenceSweep(points=10))
            live_worker_idle()
            marks.clear()
            log.thread = None
            log.intervals.clear()
            log.moves.clear()
            with Bench.open(time_scale=1, seed=1) as bench:
                runner = runner_module.Runner(bench)
                runner.subscribe(RunStore(directory), critical=True)
                ends = []
                runner.subscribe(lambda r: ends.append(time.perf_counter()) if isinstance(r, Step) else None)
                run = runner.run(FluenceSweep(points=points, integration_time=0.01))
    finally:
        runner_module.Runner._step = original_step
        log.uninstall()
    assert run.stop.status == "finished", run.stop.reason
    start, end = marks[0], ends[-1]
    busy, io, moves = log.busy(start, end)
    return {"span": end - start, "busy": busy, "io": io, "moves": moves, "steps": run.steps_done,
            "threshold": run.stop.results.get("threshold", {}).get("value", float("nan"))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=60)
    add_common(parser)
    args = parser.parse_args(argv)
    points = 15 if args.quick else args.points
    print(machine())
    r = measure(points)
    item = "3 duty cycle"
    n = r["steps"]
    figures = [
        info(item, "steps / wall time of the steps", f"{n} / {r['span']:.2f} s"),
        info(item, "per step: wall", 1e3 * r["span"] / n, "ms"),
        info(item, "per step: instruments busy", 1e3 * r["busy"] / n, "ms"),
        info(item, "  serving commands (integration and pulse counting included)", 1e3 * r["io"] / n, "ms"),
        info(item, "  stage moving", 1e3 * r["moves"] / n, "ms"),
        info(item, "per step: idle, waiting for software", 1e3 * (r["span"] - r["busy"]) / n, "ms"),
        check(item, "acquisition efficiency (busy / wall)", 100 * r["busy"] / r["span"], "%", ">=", 98, "98 %"),
        info(item, "threshold found (µJ/cm², preset 22)", r["threshold"]),
    ]
    finish(figures, args, f"3. Duty cycle ({points}-point fluence sweep, 10 ms integrations, time scale 1)")
    return figures


if __name__ == "__main__":
    main()

"""Framework overhead per step: a fluence sweep on the simulated bench at time scale 0.

    python benchmarks/step_overhead.py [--points 200] [--quick] [--json FILE]

The sweep is the ``fluence-sweep`` procedure with its defaults (2048-pixel spectra from
the USB2000+ twin, live threshold analysis on) and ``--points`` fluences, stored by a
``RunStore`` (run file + catalog). Each step's wall time is split (see
``common.StepClock``) into the simulated instruments' I/O, the drivers, the procedure's
own computation and the framework: runner, role views, records, run file, catalog and
live analysis. Target: the framework's share ≤ 1 ms per step (median).
"""

import argparse
import statistics
import tempfile

from common import StepClock, add_common, check, finish, info, live_worker_idle, machine


def timed_sweep(points: int, seed: int = 1, live: bool = True):
    """Run one sweep with the step clock installed; return (clock, run, seconds, number
    of live-analysis records). ``live=False``: analyses stay in the runner thread."""
    import time

    import labctl.runner as runner_module
    from labctl.bench import Bench
    from labctl.records import Analysis
    from labctl.runner import Runner
    from labctl.store import RunStore
    from procedures.fluence_sweep import FluenceSweep
    from sim_instruments.library import SimBenchLibrary

    clock = StepClock()
    clock.install(runner_module.Runner, Bench, SimBenchLibrary, RunStore, FluenceSweep)
    try:
        with tempfile.TemporaryDirectory() as directory, Bench.open(time_scale=0, seed=seed) as bench:
            runner = Runner(bench)
            runner.subscribe(RunStore(directory), critical=True)
            runner.offload_analysis = live
            updates = []
            runner.subscribe(lambda r: updates.append(r.index) if isinstance(r, Analysis) else None)
            start = time.perf_counter()
            run = runner.run(FluenceSweep(points=points))
            elapsed = time.perf_counter() - start
    finally:
        clock.unwrap()
    return clock, run, elapsed, len(updates)


def measure(points: int, warmup: int = 20):
    timed_sweep(warmup)                        # imports, caches, the live-analysis worker
    live_worker_idle()
    clock, run, elapsed, updates = timed_sweep(points)
    if run.stop.status != "finished":
        raise SystemExit(f"sweep did not finish: {run.stop.reason}")
    return clock, run, elapsed, updates


def figures_for(clock, run, elapsed, points, updates):
    steps = clock.steps
    med = {c: 1e3 * statistics.median(s[c] for s in steps) for c in (*clock.CATEGORIES, "wall", "cpu")}
    framework = [1e3 * clock.framework(s) for s in steps]
    item = "1 overhead"
    threshold = run.stop.results.get("threshold", {})
    return [
        info(item, f"steps timed (of {points})", len(steps)),
        info(item, "wall time per step, mean", 1e3 * elapsed / points, "ms"),
        info(item, "step wall time, median", med["wall"], "ms"),
        info(item, "step CPU time of the runner thread, median", med["cpu"], "ms"),
        info(item, "  simulated instruments (VISA library + twins + physics)", med["io"], "ms"),
        info(item, "  drivers (pymeasure, parsing)", med["driver"], "ms"),
        info(item, "  procedure's own computation (spectral figures)", med["procedure"], "ms"),
        info(item, "  run store (HDF5 + catalog)", med["store"], "ms"),
        info(item, "  live analysis on the runner thread", med["analysis"], "ms"),
        info(item, "  runner, role views, records", med["runner"], "ms"),
        check(item, "framework share per step, median", statistics.median(framework), "ms", "<=", 1.0),
        info(item, "framework share per step, p90", sorted(framework)[int(0.9 * (len(framework) - 1))], "ms"),
        info(item, "live analysis updates during the run", updates),
        info(item, "threshold found (µJ/cm², preset 22)", threshold.get("value", float("nan"))),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200)
    add_common(parser)
    args = parser.parse_args(argv)
    points = 40 if args.quick else args.points
    print(machine())
    clock, run, elapsed, updates = measure(points)
    figures = figures_for(clock, run, elapsed, points, updates)
    finish(figures, args, f"1. Framework overhead per step ({points}-step fluence sweep, time scale 0)")
    return figures


if __name__ == "__main__":
    main()

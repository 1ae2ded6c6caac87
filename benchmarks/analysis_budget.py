"""Analysis budget: the threshold fit, the live update per step, re-analysis of a run.

    python benchmarks/analysis_budget.py [--steps 1000] [--quick] [--json FILE]

* ``find_threshold`` on a 200-point synthetic L-L curve (β = 10⁻², 3 % noise, with
  linewidths): median of 30 calls. Target < 20 ms.
* The live update's cost per step on the runner thread, in a 200-step fluence sweep
  (time scale 0): with the live analysis in its worker process (the default once an
  analysis takes over 2 ms) and, for comparison, kept in the runner thread.
* Re-analysis of a stored run of ``--steps`` steps (a fluence sweep written by the
  runner): ``open_run`` (scalars and metadata) + the procedure's ``analyze``, as
  ``labctl analyze RUN.h5`` does before drawing figures. Target < 1 s.
"""

import argparse
import statistics
import tempfile
import time

import numpy as np

from common import add_common, check, finish, info, live_worker_idle, machine


def threshold_time(repeats=30) -> float:
    from labctl.analysis import synthetic
    from labctl.analysis.threshold import find_threshold

    rng = np.random.default_rng(1)
    curve = synthetic.light_curve(rng, threshold=22.0, beta=1e-2, pump=synthetic.pumps(2, 150, 200),
                                  noise=0.03)
    find_threshold(curve.pump, curve.output, curve.linewidth)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        find_threshold(curve.pump, curve.output, curve.linewidth)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def live_update_cost(points=200):
    """Median per-step runner-thread time of the live analysis: offloaded, in-thread."""
    from step_overhead import timed_sweep

    timed_sweep(20)
    live_worker_idle()
    found = {}
    for offload in (True, False):
        clock, run, elapsed, updates = timed_sweep(points, live=offload)
        found[offload] = (statistics.median(s["analysis"] for s in clock.steps),
                       statistics.mean(s["analysis"] for s in clock.steps), updates)
    return found


def stored_run(directory, steps):
    from labctl.bench import Bench
    from labctl.runner import Runner
    from labctl.store import RunStore
    from procedures.fluence_sweep import FluenceSweep

    with Bench.open(time_scale=0, seed=2) as bench:
        store = RunStore(directory)
        runner = Runner(bench)
        runner.subscribe(store, critical=True)
        run = runner.run(FluenceSweep(points=min(steps, 2000), repeats=max(1, steps // 2000)))
        return store.paths[run.uid], run


def reanalysis_time(path, repeats=5):
    from labctl import registry
    from labctl.store import open_run

    times, loads = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        data = open_run(path, arrays=False)
        loaded = time.perf_counter()
        results = registry.procedure_class(data.procedure)(**data.parameters).analyze(data.scalars)
        times.append(time.perf_counter() - start)
        loads.append(loaded - start)
    start = time.perf_counter()
    open_run(path)
    with_arrays = time.perf_counter() - start
    return statistics.median(times), statistics.median(loads), with_arrays, results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    add_common(parser)
    args = parser.parse_args(argv)
    steps = 100 if args.quick else args.steps
    print(machine())
    item = "6 analysis"
    threshold = threshold_time(5 if args.quick else 30)
    live = live_update_cost(40 if args.quick else 200)
    with tempfile.TemporaryDirectory() as directory:
        path, run = stored_run(directory, steps)
        total, load, with_arrays, results = reanalysis_time(path)
        size = path.stat().st_size
    figures = [
        check(item, "find_threshold, 200 points (median)", 1e3 * threshold, "ms", "<", 20),
        info(item, "live update per step on the runner thread, worker process (median)",
             1e3 * live[True][0], "ms"),
        info(item, "  mean over the steps", 1e3 * live[True][1], "ms"),
        info(item, "  updates shown during the 200 steps", live[True][2]),
        info(item, "live update per step kept in the runner thread (median)", 1e3 * live[False][0], "ms"),
        info(item, "  updates during the 200 steps", live[False][2]),
        check(item, f"re-analysis of a stored {steps}-step run", total, "s", "<", 1.0),
        info(item, "  of which open_run (scalars + metadata)", load, "s"),
        info(item, "  open_run with every spectrum", with_arrays, "s"),
        info(item, "  run file size", size / 1e6, "MB"),
        info(item, "  threshold found again (µJ/cm²)", results.get("threshold", {}).get("value", float("nan"))),
    ]
    finish(figures, args, "6. Analysis")
    return figures


if __name__ == "__main__":
    main()

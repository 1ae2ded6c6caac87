"""Scaling: per-step overhead, memory and file size at 10² … 10⁵ steps.

    python benchmarks/scaling.py [--sizes 100 1000 10000 100000] [--quick] [--json FILE]

Each size is one run of ``replay.Replay``: the steps of a real 200-step fluence sweep
(24 scalars + a 2048-pixel spectrum) replayed in a cycle through the runner, the run
store (HDF5 + catalog) and the live threshold analysis, without instruments -- what
grows with the number of steps is the framework. Per size: the framework's CPU time per
step on the runner thread (median and p99), the resident memory of the process after
the run (and its peak during it), the run file's size and bytes per step.
Targets: per-step cost flat (median at the largest size ≤ 1.5 × at the smallest),
file size linear (bytes per step within 2 % of each other), memory bounded (resident
memory growing under 1 kB per step while the largest run goes from 10 % of its steps
to the end: the spectra, 8 kB a step, are not kept; the plan and the table of scalars
are).
"""

import argparse
import statistics
import tempfile
import threading
import time

from common import StepClock, add_common, check, finish, info, live_worker_idle, machine, rss_mb


def one_size(steps, directory):
    import labctl.runner as runner_module
    from labctl.bench import Bench
    from labctl.runner import Runner
    from labctl.store import RunStore
    from replay import Replay
    from sim_instruments.library import SimBenchLibrary

    clock = StepClock()
    clock.install(runner_module.Runner, Bench, SimBenchLibrary, RunStore, Replay)
    peak, done = [rss_mb()], threading.Event()
    marks = {}                     # RSS when 10 % and 100 % of the steps are done

    def sample():
        while not done.wait(0.2):
            peak.append(rss_mb())
            n = len(clock.columns["wall"])
            if n >= steps // 10 and "tenth" not in marks:
                marks["tenth"] = (n, rss_mb())
            marks["last"] = (n, rss_mb())
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        with Bench.open(time_scale=0, slots=[]) as bench:
            store = RunStore(directory)
            runner = Runner(bench)
            runner.subscribe(store, critical=True)
            start = time.perf_counter()
            run = runner.run(Replay(steps))
            elapsed = time.perf_counter() - start
            assert run.stop.status == "finished", run.stop.reason
            path = store.paths[run.uid]
            store.catalog.close()
    finally:
        done.set()
        sampler.join()
        clock.unwrap()
    live_worker_idle(120)
    framework = [clock.framework(s) for s in clock.steps]
    ordered = sorted(framework)
    (n0, r0), (n1, r1) = marks.get("tenth", (0, 0.0)), marks.get("last", (0, 0.0))
    growth = (r1 - r0) * 2**20 / (n1 - n0) if n1 > n0 else float("nan")
    return {"steps": steps, "median": statistics.median(framework), "growth": growth,
            "p99": ordered[int(0.99 * (len(ordered) - 1))], "elapsed": elapsed,
            "rss": rss_mb(), "peak": max(peak), "size": path.stat().st_size}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000, 100000])
    add_common(parser)
    args = parser.parse_args(argv)
    sizes = [100, 1000, 10000] if args.quick else args.sizes
    print(machine())
    import replay
    replay.Replay.recorded, replay.Replay.axis = replay.record()
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        one_size(50, directory)                       # warm-up
        for steps in sizes:
            rows.append(one_size(steps, directory))
            r = rows[-1]
            print(f"{steps:>7} steps: framework {1e3 * r['median']:.3f} ms/step (p99 {1e3 * r['p99']:.3f}), "
                  f"{r['elapsed']:.1f} s, RSS {r['rss']:.0f} MB (peak {r['peak']:.0f}), "
                  f"file {r['size'] / 1e6:.1f} MB = {r['size'] / steps / 1e3:.2f} kB/step", flush=True)
    item = "7 scaling"
    first, last = rows[0], rows[-1]
    per_step = [r["size"] / r["steps"] for r in rows[1:]] or [first["size"] / first["steps"]]
    figures = [info(item, f"framework per step at {r['steps']:,} steps (median / p99)",
                    f"{1e3 * r['median']:.3f} / {1e3 * r['p99']:.3f} ms") for r in rows]
    figures += [info(item, f"memory at {r['steps']:,} steps (after / peak)",
                     f"{r['rss']:.0f} / {r['peak']:.0f} MB") for r in rows]
    figures += [info(item, f"run file at {r['steps']:,} steps",
                     f"{r['size'] / 1e6:.2f} MB ({r['size'] / r['steps'] / 1e3:.2f} kB/step)") for r in rows]
    figures += [
        check(item, f"per-step cost {last['steps']:,} / {first['steps']:,} steps",
              last["median"] / first["median"], "×", "<=", 1.5, "1.5×"),
        check(item, "file size per step, spread (from 10³ steps)",
              100 * (max(per_step) - min(per_step)) / min(per_step), "%", "<=", 2, "2 %"),
        check(item, f"memory growth per step during the {last['steps']:,}-step run (10 % → end)",
              last["growth"], "B", "<", 1024, "1 kB"),
    ]
    finish(figures, args, "7. Scaling")
    return figures


if __name__ == "__main__":
    main()

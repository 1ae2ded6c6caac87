"""A long photostability run on the simulated bench: speed, memory and run-file growth.

    python benchmarks/long_run.py [--steps 100000] [--interval 0.5] [--spectrum-every 100]
                                  [--tracemalloc] [--keep DIR]

One run of ``steps`` spectra (plus the template) at time scale 0 with the lightest
settings (1 ms integration, one power-meter reading and one spectrum per step), stored
like ``labctl run`` stores it. At 10 %, 50 % and 100 % of the steps it prints the steps
per second (wall clock, and per CPU second of the process), the resident memory, the
memory the runner's table of scalars holds (8 bytes per scalar per step: what the live
analysis needs), the Python memory traced since the first checkpoint (``--tracemalloc``,
which makes the run about 5 times slower) and the run file's size per step. Timings
depend on the machine and its load.
"""

import argparse
import gc
import os
import platform
import sys
import tempfile
import time
import tracemalloc

from labctl.bench import Bench
from labctl.records import Step
from labctl.runner import Runner
from labctl.store import RunStore
from procedures.photostability import Photostability


def rss() -> int:
    """Resident memory of this process in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Checkpoints:
    """Record subscriber measuring the run at given step indices (in the runner's thread,
    so the run waits while it measures)."""

    def __init__(self, store, at, trace):
        self.store, self.at, self.trace = store, set(at), trace
        self.rows, self.clock = [], None

    def start(self):
        self.clock = (time.perf_counter(), time.process_time())

    def __call__(self, record):
        if not isinstance(record, Step) or record.index not in self.at:
            return
        gc.collect()
        if self.trace and not tracemalloc.is_tracing():
            tracemalloc.start()
        traced = tracemalloc.get_traced_memory() if tracemalloc.is_tracing() else (0, 0)
        self.rows.append({"steps": record.index + 1, "wall": time.perf_counter() - self.clock[0],
                          "cpu": time.process_time() - self.clock[1], "rss": rss(),
                          "traced": traced[0], "traced_peak": traced[1],
                          "file": os.path.getsize(self.store.paths[record.uid])})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000, help="spectra at the fluence")
    parser.add_argument("--interval", type=float, default=0.5, help="s of simulated time between spectra")
    parser.add_argument("--spectrum-every", type=int, default=100, help="store every N-th spectrum")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tracemalloc", action="store_true", help="trace Python memory (slow)")
    parser.add_argument("--keep", help="directory for the run file (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; "
          f"{args.steps} steps, interval {args.interval:g} s, every {args.spectrum_every}th spectrum stored")
    procedure = Photostability(duration=(args.steps - 1) * args.interval, interval=args.interval,
                               integration_time=1e-3, auto_integration=False, readings=1,
                               spectrum_every=args.spectrum_every)
    with tempfile.TemporaryDirectory() as scratch, Bench.open(time_scale=0, seed=args.seed) as bench:
        store = RunStore(args.keep or scratch)
        runner = Runner(bench)
        runner.subscribe(store, critical=True)
        # step 0 is the template: step k is the k-th spectrum at the fluence
        checkpoints = Checkpoints(store, [round(p * args.steps) for p in (0.1, 0.5, 1.0)],
                                  args.tracemalloc)
        runner.subscribe(checkpoints)
        checkpoints.start()
        run = runner.run(procedure)
        results = run.stop.results
    print(f"status {run.stop.status}, {run.steps_done} steps; ASE retained {100 * results['stimulated']['retained_at']:.1f} % after "
          f"{results['stimulated']['report_shots']:.3g} shots ({results['shots']:.3g} shots in "
          f"{results['hours']:.3g} h of beam-on time)")
    print(f"{'point':>6} {'steps':>7} {'steps/s':>8} {'per CPU s':>9} {'RSS MB':>7} {'table MB':>8} "
          f"{'traced MB':>9} {'peak MB':>8} {'file MB':>8} {'B/step':>7} {'B/step since':>12}")
    previous = None
    for row, label in zip(checkpoints.rows, ("10 %", "50 %", "100 %")):
        since = "" if previous is None else \
            f"{(row['file'] - previous['file']) / (row['steps'] - previous['steps']):12.0f}"
        traced = (f"{row['traced'] / 2**20:9.2f} {row['traced_peak'] / 2**20:8.2f}" if args.tracemalloc
                  else f"{'-':>9} {'-':>8}")
        print(f"{label:>6} {row['steps']:7d} {row['steps'] / row['wall']:8.0f} {row['steps'] / row['cpu']:9.0f} "
              f"{row['rss'] / 2**20:7.1f} {8 * len(procedure.columns) * row['steps'] / 2**20:8.2f} {traced} {row['file'] / 2**20:8.1f} "
              f"{row['file'] / row['steps']:7.0f} {since}")
        previous = row
    return 0 if run.stop.status == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())

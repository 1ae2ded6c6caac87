"""labctl against PyMeasure: the same fluence sweep on the same simulated instruments.

    python benchmarks/pymeasure_compare.py [--points 200] [--rounds 3] [--quick] [--json FILE]

Both sides run the ``fluence-sweep`` procedure's own steps (``FluenceSweep.setup`` and
``measure``: attenuator approach and correction, power-meter readings, spectrum with
auto-integration, the spectral figures) on a fresh simulated bench with the same seed,
at time scale 0:

* labctl: ``Runner`` + ``RunStore`` (HDF5 run file and catalog), live threshold
  analysis on, role views with their safety checks, fault checks after every step;
* PyMeasure: a ``pymeasure.experiment.Procedure`` run by its ``Worker`` with
  ``Results``, calling the same drivers directly; each spectrum stored the way
  PyMeasure allows, one CSV row per pixel through ``emit("batch results", ...)`` with
  the columns fluence, wavelength and counts (the other 23 scalars of a labctl step are
  left out, in PyMeasure's favour).

The two alternate ``--rounds`` times, each also without instruments (the steps of a
recorded sweep replayed, ``replay.Replay``: what each framework costs on its own).
Printed: per-step wall time of each (median over rounds) and their ratio, CPU time per
step, the time both spend in the shared instruments and procedure, the file sizes and
their ratio, and how much metadata each file holds. Targets: labctl ≥ 10× faster per
step, files ≥ 5× smaller, more metadata.
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from common import add_common, check, finish, info, live_worker_idle, live_worker_pid, machine


def cpu_seconds() -> float:
    """CPU time of this process and of the live-analysis worker (if it runs)."""
    import os

    total = time.process_time()
    pid = live_worker_pid()
    if pid is not None:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def labctl_sweep(points, seed, directory, replay=False):
    """(wall s, CPU s, run file) of one labctl run: the fluence sweep on the simulated
    bench, or (``replay``) its recorded steps without instruments."""
    from labctl.bench import Bench
    from labctl.runner import Runner
    from labctl.store import RunStore
    from procedures.fluence_sweep import FluenceSweep

    with Bench.open(time_scale=0, seed=seed, slots=[] if replay else None) as bench:
        store = RunStore(directory)
        runner = Runner(bench)
        runner.subscribe(store, critical=True)
        if replay:
            from replay import Replay
            procedure = Replay(points)
        else:
            procedure = FluenceSweep(points=points)
        start, cpu = time.perf_counter(), cpu_seconds()
        run = runner.run(procedure)
        elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        assert run.stop.status == "finished", run.stop.reason
        return elapsed, cpu, store.paths[run.uid]


class _Direct:
    """What ``FluenceSweep.setup``/``measure`` need of a run, straight on the drivers (no
    role views, no safety envelope, no records): how a PyMeasure procedure uses them."""

    def __init__(self, bench):
        self.bench, self.axes, self.table, self.results = bench, {}, {}, {}

    def role(self, name, qualifier=""):
        return self.bench.drivers[self.bench.config.resolve(name, qualifier)]

    def has(self, name, qualifier=""):
        return self.bench.config.resolve(name, qualifier) in self.bench.drivers

    def set_axis(self, name, values, unit):
        self.axes[name] = (values, unit)

    def open_beam(self):
        self.role("PumpLaser").open_shutter()
        if self.has("Shutter"):
            self.role("Shutter").open_shutter()

    def close_beam(self):
        if self.has("Shutter"):
            self.role("Shutter").close_shutter()
        self.role("PumpLaser").close_shutter()


def pymeasure_procedure_class(replay=False):
    from pymeasure.experiment import FloatParameter, IntegerParameter, Metadata, Procedure

    class PyMeasureFluenceSweep(Procedure):
        """The fluence sweep as a PyMeasure procedure (the bench is handed in)."""

        points = IntegerParameter("Points", default=200)
        fluence_start = FloatParameter("Fluence start", units="uJ/cm^2", default=2.0)
        fluence_stop = FloatParameter("Fluence stop", units="uJ/cm^2", default=150.0)
        seed = IntegerParameter("Seed", default=1)
        started = Metadata("Started", fget=time.time)
        sample = Metadata("Sample", default="cspbbr3_film_fs")

        DATA_COLUMNS = ["Fluence (uJ/cm^2)", "Wavelength (nm)", "Counts (counts/s)"]
        bench = None

        def startup(self):
            from procedures.fluence_sweep import FluenceSweep
            self.run = _Direct(self.bench)
            if replay:
                from replay import Replay
                self.sweep = Replay(self.points)
            else:
                self.sweep = FluenceSweep(points=self.points, fluence_start=self.fluence_start,
                                          fluence_stop=self.fluence_stop)
                self.bench.set_beam(self.sweep.beam())
            self.sweep.setup(self.run)

        def execute(self):
            wavelength = self.run.axes["wavelength"][0]
            plan = self.sweep.plan()
            for i, step in enumerate(plan):
                data = self.sweep.measure(self.run, step)
                counts = data["spectrum"].astype(float)
                self.emit("batch results", {"Fluence (uJ/cm^2)": [data["fluence"]] * len(counts),
                                            "Wavelength (nm)": wavelength,
                                            "Counts (counts/s)": counts})
                self.emit("progress", 100 * (i + 1) / len(plan))
                if self.should_stop():
                    break

        def shutdown(self):
            if getattr(self, "run", None) is not None:
                self.sweep.teardown(self.run)
            self.bench.safe_state()

    return PyMeasureFluenceSweep


def pymeasure_sweep(points, seed, directory, replay=False):
    from pymeasure.experiment import Results, Worker

    from labctl.bench import Bench

    cls = pymeasure_procedure_class(replay)
    with Bench.open(time_scale=0, seed=seed, slots=[] if replay else None) as bench:
        procedure = cls()
        procedure.points, procedure.seed = points, seed
        procedure.bench = bench
        path = Path(directory) / f"pymeasure-{time.time_ns()}.csv"
        start, cpu = time.perf_counter(), cpu_seconds()
        results = Results(procedure, str(path))
        worker = Worker(results)
        worker.start()
        worker.join(timeout=3600)
        elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        assert procedure.status == procedure.FINISHED, procedure.status
        return elapsed, cpu, path


def floor_sweep(points, seed):
    """Wall seconds of the sweep's instruments and procedure alone: ``setup`` and every
    ``measure`` on the drivers, nothing recorded -- what both frameworks add to."""
    from labctl.bench import Bench
    from procedures.fluence_sweep import FluenceSweep

    with Bench.open(time_scale=0, seed=seed) as bench:
        sweep = FluenceSweep(points=points)
        bench.set_beam(sweep.beam())
        run = _Direct(bench)
        start = time.perf_counter()
        sweep.setup(run)
        for step in sweep.plan():
            sweep.measure(run, step)
        return time.perf_counter() - start


def labctl_parts(points, seed, directory) -> dict:
    """What labctl adds to the floor, in CPU seconds of the runner thread per step: one
    labctl sweep with its parts timed (inclusive), and the procedure's calls alone."""
    from labctl.bench import Bench
    from labctl.runner import Run, Runner
    from procedures.fluence_sweep import FluenceSweep

    spent = dict.fromkeys(("fault checks", "suspenders", "records", "analysis", "snapshot",
                           "safe state", "measure"), 0.0)

    def timed(function, part):
        def call(*args, **kwargs):
            started = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[part] += time.thread_time() - started
        return call

    fault_checks = Bench.fault_checks
    patches = [(Bench, "fault_checks", lambda bench, slots, owner: [
                   timed(check, "fault checks") for check in fault_checks(bench, slots, owner)]),
               (Run, "_suspend", timed(Run._suspend, "suspenders")),
               (Runner, "_emit", timed(Runner._emit, "records")),
               (Runner, "_analyze", timed(Runner._analyze, "analysis")),
               (Bench, "snapshot", timed(Bench.snapshot, "snapshot")),
               (Bench, "safe_state", timed(Bench.safe_state, "safe state")),
               (FluenceSweep, "measure", timed(FluenceSweep.measure, "measure"))]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    try:
        for owner, name, patched in patches:
            setattr(owner, name, patched)
        floor_sweep(points, seed)
        alone, spent["measure"] = spent["measure"], 0.0
        labctl_sweep(points, seed, directory)
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
    return {part: seconds / points for part, seconds in spent.items()} | {"measure alone": alone / points}


def metadata_count(path) -> dict:
    """Metadata held by a file, counted as leaf values (run file: start record, log
    entries, stop record, attributes; PyMeasure CSV: its header lines)."""
    path = Path(path)
    if path.suffix == ".csv":
        with open(path) as f:
            header = [line for line in f if line.startswith("#")]
        entries = [line for line in header if ":" in line and not line.rstrip().endswith(":")]
        return {"entries": len(entries), "sections": "parameters, metadata, procedure class"}

    import h5py

    def leaves(value):
        if isinstance(value, dict):
            return sum(leaves(v) for v in value.values())
        if isinstance(value, list):
            return sum(leaves(v) for v in value) if value else 1
        return 1
    with h5py.File(path, "r", locking=False) as f:
        start = json.loads(bytes(f["start"][:]))
        stop = json.loads(bytes(f["stop"][:]))
        log = [json.loads(line) for line in bytes(f["log"][:]).decode().splitlines()]
        attrs = len(f.attrs) + sum(len(ds.attrs) for ds in f["arrays"].values()) + len(f["scalars"].attrs)
    return {"entries": leaves(start) + leaves(stop) + leaves(log) + attrs,
            "sections": "parameters+units, plan, bench snapshot, sample, software, envelope, "
                        "config, log, results"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    add_common(parser)
    args = parser.parse_args(argv)
    points, rounds = (30, 1) if args.quick else (args.points, args.rounds)
    print(machine())
    import replay
    replay.Replay.recorded, replay.Replay.axis = replay.record(points)
    sides = {"labctl": labctl_sweep, "pymeasure": pymeasure_sweep}
    times = {(name, bare): [] for name in sides for bare in (False, True)}
    files = {}
    with tempfile.TemporaryDirectory() as directory:
        labctl_sweep(10, 1, directory)               # imports, caches, live worker
        live_worker_idle()
        pymeasure_sweep(10, 1, directory)
        floor = []
        for r in range(rounds):
            floor.append(floor_sweep(points, 1) / points)
            for bare in (False, True):
                for name, sweep in sides.items():
                    elapsed, cpu, path = sweep(points, 1, directory, replay=bare)
                    times[name, bare].append((elapsed / points, cpu / points))
                    if not bare:
                        files[name] = path
                    print(f"round {r + 1}: {name:9s} {'no instruments' if bare else 'instruments   '} "
                          f"{1e3 * elapsed / points:7.2f} ms/step wall, {1e3 * cpu / points:7.2f} ms CPU, "
                          f"{path.stat().st_size / 1e6:6.2f} MB", flush=True)
        size = {name: path.stat().st_size for name, path in files.items()}
        meta = {name: metadata_count(path) for name, path in files.items()}
        parts = {k: 1e3 * v for k, v in labctl_parts(points, 1, directory).items()}
    wall = {key: statistics.median(t[0] for t in values) for key, values in times.items()}
    cpu = {key: statistics.median(t[1] for t in values) for key, values in times.items()}
    shared = statistics.median(floor)                  # instruments + procedure alone
    item = "2 pymeasure"
    figures = [
        info(item, "labctl per step (median of rounds)", 1e3 * wall["labctl", False], "ms"),
        info(item, "PyMeasure per step (median of rounds)", 1e3 * wall["pymeasure", False], "ms"),
        check(item, "wall-time ratio PyMeasure / labctl", wall["pymeasure", False] / wall["labctl", False],
              "×", ">=", 10, "10×"),
        info(item, "  CPU per step labctl / PyMeasure (live-analysis worker included)",
             f"{1e3 * cpu['labctl', False]:.2f} / {1e3 * cpu['pymeasure', False]:.2f} ms"),
        info(item, "  the same steps without instruments: labctl / PyMeasure",
             f"{1e3 * wall['labctl', True]:.2f} / {1e3 * wall['pymeasure', True]:.2f} ms"),
        info(item, "  wall-time ratio without instruments", wall["pymeasure", True] / wall["labctl", True], "×"),
        info(item, "  instruments + procedure alone, shared by both (no framework)", 1e3 * shared, "ms"),
        info(item, "  ratio bound for a framework costing nothing", wall["pymeasure", False] / shared, "×"),
        info(item, "  labctl's runner thread per step (CPU), where it adds to the floor:", ""),
        info(item, "    fault checks after every step", parts["fault checks"], "ms"),
        info(item, "    suspenders at step boundaries (the laser's interlock)", parts["suspenders"], "ms"),
        info(item, "    records and run file", parts["records"], "ms"),
        info(item, "    analysis in the runner thread (the final one included)", parts["analysis"], "ms"),
        info(item, "    bench snapshot and safe state (once a run)", parts["snapshot"] + parts["safe state"], "ms"),
        info(item, "    the procedure's calls in a run / alone (role views, shared working set)",
             f"{parts['measure']:.3g} / {parts['measure alone']:.3g} ms"),
        info(item, f"labctl run file ({points} steps)", size["labctl"] / 1e6, "MB"),
        info(item, f"PyMeasure CSV ({points} steps)", size["pymeasure"] / 1e6, "MB"),
        check(item, "file-size ratio PyMeasure / labctl", size["pymeasure"] / size["labctl"], "×",
              ">=", 5, "5×"),
        check(item, "metadata entries labctl / PyMeasure",
              meta["labctl"]["entries"] / max(1, meta["pymeasure"]["entries"]), "×", ">", 1, "1× (more)"),
        info(item, "  labctl metadata", f"{meta['labctl']['entries']} ({meta['labctl']['sections']})"),
        info(item, "  PyMeasure metadata", f"{meta['pymeasure']['entries']} ({meta['pymeasure']['sections']})"),
    ]
    finish(figures, args, f"2. labctl vs PyMeasure ({points}-step fluence sweep, {rounds} alternating rounds)")
    return figures


if __name__ == "__main__":
    main()

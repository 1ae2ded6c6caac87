"""Every fault kind against every instrument a procedure holds, at several steps.

    python benchmarks/fault_matrix.py [--steps 1 3 6] [--jobs 2] [--only SLOT ...]

Each row is one run on the simulated bench (time scale 0) with one fault injected
(``sim_instruments.faults``). It prints: the final status; whether the safe state was
reached, judged from the twins' own state (``SimBench.hazards``: "yes", "contained" when
an instrument that stopped answering is left unsafe but another one keeps light and drive
off the sample, "NO" otherwise; "… s later" when an instrument ended a drive it times
itself, such as a source-meter's hold, only after the run had stopped); the steps in the run file against the steps the run
completed; and the start of the stop reason. Exit status 1 if any row is unsafe or lost
a step.
"""

import argparse
import logging
import multiprocessing
import platform
import sys
import tempfile
import time

from labctl import registry
from labctl.bench import Bench
from labctl.runner import Runner
from labctl.store import RunStore, open_run

# (procedure, parameters, sample): together they hold every role of the simulated bench
SCENARIOS = [
    ("fluence-sweep", {"points": 8, "shots": 2}, "cspbbr3_film_fs"),
    ("fluence-sweep", {"points": 8, "shots": 2, "line": "ns", "fluence_start": 50,
                       "fluence_stop": 400, "detector": "hr"}, "superlattice_ns"),
    ("vsl", {}, "cspbbr3_film_fs"),
    ("polarization", {"angle_step": 30}, "triplet_4K"),
    ("trpl", {}, "cspbbr3_film_fs"),
    ("pulsed-el", {}, "qd_led_pulsed"),
    ("bias-series", {"voltages": [15, 0]}, "ito_device_bias"),     # faults fire in the biased inner run
    ("gain-switching", {"off_time": 0.02, "on_time": 0.1, "cycles": 1}, "ito_device_bias"),  # biased from step 2
    ("temperature-series", {}, "triplet_4K"),
]
KINDS = ["timeout", "timeout*always", "disconnect", "error", "garbage", "truncated",
         "nan", "nan*always", "slow=0.5"]


def settled(sim, longest: float = 3600.0) -> tuple[dict, float]:
    """The hazards once every drive an instrument times by itself (a source-meter's hold,
    a pulse generator's burst) has run out, and the simulated seconds that took (0:
    none was running): the clock is let run, doubling from 10 ms, up to ``longest``."""
    hazards, waited, step = sim.hazards(), 0.0, 0.01
    while "sample" in hazards and waited < longest:
        sim.clock.sleep(step)
        waited, step = waited + step, 2 * step
        hazards = sim.hazards()
    return hazards, waited


def trial(args):
    """Run one procedure with one fault; return the row of the table."""
    procedure, parameters, sample, slot, kind, step = args
    logging.disable(logging.ERROR)      # the table says it all
    name, _, count = kind.partition("*")
    fault = f"{slot}:{name}@step={step}" + (f"*{count}" if count else "")
    with tempfile.TemporaryDirectory() as directory, \
            Bench.open(time_scale=0, seed=3, sample=sample, faults=[fault]) as bench:
        store = RunStore(directory)
        runner = Runner(bench)
        runner.subscribe(store, critical=True)
        run = runner.run(registry.procedure_class(procedure)(**parameters))
        hazards, waited = settled(bench.sim)
        fired = bool(bench.sim.fault_log)
        path = store.paths.get(run.uid)
        stored = len(open_run(path, arrays=False).scalars) if path and path.exists() else 0
    if not hazards:
        safe = "yes"
    elif "sample" in hazards:
        safe = "NO: " + "; ".join(f"{s} {why}" for s, why in hazards.items())
    else:
        safe = "contained (" + ", ".join(hazards) + ")"
    if waited:
        safe += f", {waited:.2g} s later (ended by the instrument itself)"
    return {"procedure": procedure + (f" ({parameters['line']})" if "line" in parameters else ""),
            "fault": kind, "slot": slot, "step": step, "fired": fired,
            "status": run.stop.status, "safe": safe, "steps": run.steps_done, "stored": stored,
            "message": run.stop.reason}


def trials(steps, only):
    for procedure, parameters, sample in SCENARIOS:
        try:
            cls = registry.procedure_class(procedure)
        except Exception as exc:
            print(f"# skipped {procedure}: {exc}", file=sys.stderr)
            continue
        with Bench.open(time_scale=0, sample=sample) as bench:
            slots = [s for r, q in cls(**parameters).slots().items()
                     if (s := bench.config.resolve(r, q)) in bench.drivers]
        for slot in slots:
            if only and slot not in only:
                continue
            for kind in KINDS:
                for step in steps:
                    yield procedure, parameters, sample, slot, kind, step


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 3, 6])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="instrument slots to test (default: all)")
    args = parser.parse_args(argv)
    cases = list(trials(args.steps, args.only))
    started = time.time()
    print(f"# {len(cases)} runs on {platform.node()} ({platform.processor() or platform.machine()}, "
          f"{multiprocessing.cpu_count()} cores), python {platform.python_version()}")
    print("| procedure | instrument | fault | step | status | safe state | steps kept / done | stop reason |")
    print("|---|---|---|---|---|---|---|---|")
    bad = 0
    with multiprocessing.Pool(args.jobs) as pool:
        for row in pool.imap(trial, cases):
            lost = row["stored"] != row["steps"]
            bad += lost or row["safe"].startswith("NO") or not row["fired"]
            message = row["message"].replace("|", "/")
            message = message if len(message) <= 110 else message[:107] + "..."
            note = "" if row["fired"] else " (fault never fired)"
            print(f"| {row['procedure']} | {row['slot']} | {row['fault']} | {row['step']} | "
                  f"{row['status']} | {row['safe']} | {row['stored']} / {row['steps']}"
                  f"{' LOST' if lost else ''} | {message}{note} |", flush=True)
    print(f"\n# {len(cases)} runs in {time.time() - started:.0f} s; "
          f"{bad} unsafe, lossy or never fired")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

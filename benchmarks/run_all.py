"""Every performance benchmark, then one summary table (``make bench``).

    python benchmarks/run_all.py [--quick] [--only NAME ...]

Each benchmark runs in a process of its own (a clean memory figure, no state shared
between them) and prints its own table; the summary lists every figure that has a
target, with PASS or MISS. Exit status 1 if a benchmark failed to run. About 5 minutes
on 2 cores; ``--quick`` runs the small sizes (a smoke test, not the figures).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Figure, machine, table

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["step_overhead", "pymeasure_compare", "duty_cycle", "streaming", "sim_throughput",
              "analysis_budget", "scaling"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS)
    args = parser.parse_args(argv)
    print(f"# labctl benchmarks\n\n{machine()}; load average before: "
          f"{Path('/proc/loadavg').read_text().split()[:3]}\n", flush=True)
    figures, failed = [], []
    with tempfile.TemporaryDirectory() as directory:
        for name in args.only or BENCHMARKS:
            out = Path(directory) / f"{name}.json"
            command = [sys.executable, str(HERE / f"{name}.py"), "--json", str(out)] + (
                ["--quick"] if args.quick else [])
            print(f"$ python benchmarks/{name}.py{' --quick' if args.quick else ''}", flush=True)
            started = time.perf_counter()
            done = subprocess.run(command, cwd=HERE.parent)
            print(f"({time.perf_counter() - started:.0f} s)\n", flush=True)
            if done.returncode or not out.exists():
                failed.append(name)
                continue
            figures += [Figure(**f) for f in json.loads(out.read_text())]
    targets = [f for f in figures if f.ok is not None]
    summary = [Figure(f.item, f"{f.item.split()[0]}. {f.name}", f.value, f.unit, f.target, f.ok)
               for f in targets]
    print(table(summary, f"Summary: {sum(f.ok for f in targets)} of {len(targets)} targets met"))
    if failed:
        print(f"\nfailed to run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

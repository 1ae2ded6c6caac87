"""``labctl``: run procedures, list what is available, re-analyze stored runs.

Exit status: 0 success, 1 a run that failed or was aborted, 2 bad input (nothing was
sent to any instrument).
"""

import argparse
import json
import math
import os
import sys
from pathlib import Path

from . import __version__, registry, units
from .errors import LabctlError, UsageError
from .records import jsonable


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labctl", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"labctl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def bench_options(p):
        group = p.add_mutually_exclusive_group()
        group.add_argument("--config", type=Path, help="bench config file (default: $LABCTL_CONFIG)")
        group.add_argument("--sim", action="store_true", help="the built-in simulated bench")

    run = sub.add_parser("run", help="run a procedure")
    run.add_argument("procedure")
    bench_options(run)
    run.add_argument("--sample", help="sample preset or YAML file (simulated bench), or the "
                                      "sample's name (real bench)")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="set a parameter (repeatable); values may carry units: 0.05mJ/cm2")
    run.add_argument("--out", type=Path, help="data directory (default: the config's data_dir)")
    run.add_argument("--notes", default="", help="notes stored with the run")
    run.add_argument("--json", action="store_true", help="print the result as one JSON object")
    run.add_argument("--dry-run", action="store_true", help="check the plan, touch no instrument")
    run.add_argument("--time-scale", type=float, help="simulated bench: wall time per simulated second")
    run.add_argument("--seed", type=int, help="simulated bench: random seed")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--fault", action="append", default=[], metavar="SLOT:KIND[@WHEN][*N]",
                     help="simulated bench: make an instrument fail, e.g. Spectrometer:timeout@step=5 "
                          "(kinds: timeout, disconnect, error, garbage, truncated, nan, slow=SECONDS; "
                          "when: step=N, command=REGEX, p=PROBABILITY; *N or *always)")

    lst = sub.add_parser("list", help="procedures, sample presets and the bench's roles")
    bench_options(lst)
    lst.add_argument("--json", action="store_true")

    instruments = sub.add_parser("instruments", help="open every instrument of the bench, "
                                                      "show identities and settings")
    bench_options(instruments)
    instruments.add_argument("--json", action="store_true")

    gui = sub.add_parser("gui", help="the bench GUI")
    bench_options(gui)
    gui.add_argument("--sample", help="sample preset or YAML file (simulated bench)")
    gui.add_argument("--out", type=Path, help="data directory (default: the config's data_dir)")
    gui.add_argument("--time-scale", type=float, help="simulated bench: wall time per simulated second")

    analyze = sub.add_parser("analyze", help="re-analyze a stored run, or find a threshold in a table")
    analyze.add_argument("target", help="RUN.h5, or 'threshold' followed by a CSV file")
    analyze.add_argument("table", nargs="?", type=Path, help="CSV file (with 'threshold')")
    analyze.add_argument("--x", help="pump column")
    analyze.add_argument("--y", help="output column")
    analyze.add_argument("--linewidth", help="linewidth column")
    analyze.add_argument("--unit", default="", help="pump unit, for the report")
    analyze.add_argument("--json", action="store_true")
    return parser


def _config(args):
    from . import config

    if args.sim:
        return config.load(None)
    path = args.config or os.environ.get("LABCTL_CONFIG")
    if not path:
        raise UsageError("no bench: give --config FILE for your bench, --sim for the simulated "
                         "bench, or set LABCTL_CONFIG")
    return config.load(path)


def _parse_sets(pairs) -> dict:
    values = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name.strip():
            raise UsageError(f"--set {pair!r}: expected NAME=VALUE")
        values[name.strip()] = value.strip()
    return values


def _fmt(value, unit=""):
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        value = f"{value:.4g}"
    return f"{value} {units.pretty(unit)}".strip()


# -- run ----------------------------------------------------------------------------

def cmd_run(args) -> int:
    from .bench import Bench
    from .plots import save
    from .progress import ProgressBar
    from .runner import Runner
    from .store import RunStore, open_run

    cls = registry.procedure_class(args.procedure)
    procedure = cls(**_parse_sets(args.set))
    config = _config(args)
    config.require(procedure.required(), procedure.name)
    if config.backend != "sim" and (args.time_scale is not None or args.seed is not None):
        raise UsageError("--time-scale and --seed apply to the simulated bench only")
    preview = procedure.preview(config.envelope)
    if args.dry_run or not preview.ok:
        if args.json:
            print(json.dumps(jsonable(preview.describe()), indent=2))
        else:
            print(f"{procedure.name}: {preview.steps} steps, about {preview.duration:.0f} s, "
                  f"{preview.setpoints} setpoints checked against the safety envelope of {config.source}")
            for violation in preview.violations:
                print(f"  OUTSIDE: {violation}")
            if preview.ok:
                print("  every setpoint is inside the envelope")
        if not preview.ok:
            raise UsageError(f"{len(preview.violations)} setpoint(s) outside the safety envelope, "
                             f"first: {preview.violations[0]}; nothing was sent")
        return 0

    directory = args.out or config.data_dir
    store = RunStore(directory, headline=lambda name, results: registry.procedure_class(name).headline(results))
    sample = args.sample if config.backend == "sim" else None
    faults = [_fault(text) for text in args.fault]
    with Bench.open(config, sample=sample, time_scale=args.time_scale, seed=args.seed,
                    faults=faults) as bench:
        if config.backend != "sim" and args.sample:
            bench.sample = {"name": args.sample}
        runner = Runner(bench)
        runner.subscribe(store, critical=True)
        if not (args.quiet or args.json):
            runner.subscribe(ProgressBar())
        run = runner.submit(procedure, notes=args.notes)
        try:
            run.wait()
        except KeyboardInterrupt:
            run.abort("interrupted from the keyboard (Ctrl-C)")
            run.wait()
    path = store.paths.get(run.uid)
    figures = []
    if path is not None and run.steps_done > 1 and run.uid not in store.broken:
        data = open_run(path)
        figures = [str(p) for p in save(cls.figures(data), path)]
    stop = run.stop
    if args.json:
        print(json.dumps(jsonable({
            "run_file": str(path) if path else None, "uid": run.uid, "status": stop.status,
            "reason": stop.reason, "procedure": procedure.name, "sample": bench.sample.get("name"),
            "steps": stop.steps, "results": stop.results, "figures": figures}), indent=2))
    else:
        _print_summary(procedure, bench, run, path, figures)
    return 0 if stop.status == "finished" else 1


def _fault(text):
    from sim_instruments.faults import Fault

    try:
        return Fault.parse(text)
    except ValueError as exc:
        raise UsageError(f"--fault {exc}") from None


def _print_summary(procedure, bench, run, path, figures):
    stop = run.stop
    seconds = stop.time - run.started if getattr(run, "started", None) else None
    print(f"\n{procedure.name} on {bench.config.name} — sample {bench.sample.get('name')}")
    took = f" in {seconds:.1f} s" if seconds else ""
    print(f"  run       {run.uid[:8]}  {stop.status}{took}, {stop.steps} steps"
          + ("" if stop.status == "finished" else f" — {stop.reason}"))
    if path:
        print(f"  run file  {_shown(path)}")
    for label, text in type(procedure).report(stop.results):
        print(f"  {label:<28}{text}")
    for figure in figures:
        print(f"  figure    {_shown(figure)}")


def _shown(path) -> str:
    """A path as the user would type it: relative to the working directory if inside it."""
    path = Path(path)
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


# -- list ---------------------------------------------------------------------------

def cmd_list(args) -> int:
    from sim_instruments.sample import Sample, presets

    procedures = {}
    for name in registry.procedure_names():
        cls = registry.procedure_class(name)
        procedures[name] = {"title": cls.title, "roles": list(cls.roles),
                            "parameters": [p.describe() | {"limits": p.limits_text()}
                                           for p in cls.parameters().values()]}
    samples = {name: Sample.load(name).p.title for name in presets()}
    bench = None
    if args.sim or args.config or os.environ.get("LABCTL_CONFIG"):
        config = _config(args)
        bench = {"name": config.name, "source": config.source, "backend": config.backend,
                 "roles": {slot: {"model": spec.model, "resource": spec.resource}
                           for slot, spec in config.instruments.items()},
                 "safety": config.envelope.describe()}
    if args.json:
        print(json.dumps(jsonable({"procedures": procedures, "samples": samples, "bench": bench,
                                   "models": registry.model_names()}), indent=2))
        return 0
    print("Procedures")
    for name, info in procedures.items():
        print(f"  {name}: {info['title']}\n    roles: {', '.join(info['roles'])}")
        for p in info["parameters"]:
            default = _fmt(p["default"], p["unit"]) if p["kind"] != "float-list" else p["default"]
            print(f"    {p['name']:<20} {str(default):<16} {p['limits']:<28} {p['doc']}")
    print("\nSample presets (simulated bench)")
    for name, title in samples.items():
        print(f"  {name:<20} {title}")
    print("\nDriver models\n  " + ", ".join(registry.model_names()))
    if bench:
        print(f"\nBench: {bench['name']} ({bench['source']})")
        width = max(map(len, bench["roles"]))
        for slot, spec in bench["roles"].items():
            print(f"  {slot:<{width}}  {spec['model']:<24} {spec['resource']}")
        print("  safety:\n    " + "\n    ".join(bench["safety"].values()))
    return 0


# -- analyze ------------------------------------------------------------------------

def cmd_analyze(args) -> int:
    if args.target == "threshold":
        return _analyze_table(args)
    from .plots import save
    from .store import open_run

    path = Path(args.target)
    if not path.exists():
        raise UsageError(f"{path}: no such run file")
    data = open_run(path)
    cls = registry.procedure_class(data.procedure)
    results = cls(**data.parameters).analyze(data.scalars)
    figures = [str(p) for p in save(cls.figures(_with_results(data, results)), path)]
    if args.json:
        print(json.dumps(jsonable({"run_file": str(path), "uid": data.uid, "status": data.status,
                                   "results": results, "figures": figures}), indent=2))
    else:
        print(f"{data.procedure} run {data.uid[:8]} ({data.status}, {len(data.scalars)} steps)")
        for label, text in cls.report(results):
            print(f"  {label:<28}{text}")
        for figure in figures:
            print(f"  figure    {_shown(figure)}")
    return 0


def _with_results(data, results):
    data.stop = dict(data.stop or {}, results=results)
    return data


def _analyze_table(args) -> int:
    import pandas as pd

    from .analysis.threshold import find_threshold

    if args.table is None or args.x is None or args.y is None:
        raise UsageError("usage: labctl analyze threshold FILE.csv --x COLUMN --y COLUMN")
    try:
        table = pd.read_csv(args.table)
    except FileNotFoundError:
        raise UsageError(f"{args.table}: no such file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise UsageError(f"{args.table}: not a readable CSV table ({exc})") from None
    for option in ("x", "y", "linewidth"):
        column = getattr(args, option)
        if column is not None and column not in table.columns:
            raise UsageError(f"--{option} {column!r}: no such column in {args.table} "
                             f"(columns: {', '.join(map(str, table.columns))})")
    result = find_threshold(table[args.x], table[args.y],
                            table[args.linewidth] if args.linewidth else None, unit=args.unit)
    if args.json:
        print(json.dumps(jsonable(result.as_dict()), indent=2))
    elif result.found:
        print(f"threshold {_fmt(result.threshold, args.unit)} "
              f"(95% CI {result.low:.4g}–{result.high:.4g}; {result.method})")
    else:
        print(f"no threshold: {result.reason}")
    for warning in result.warnings:
        print(f"  warning: {warning}", file=sys.stderr)
    return 0


def cmd_instruments(args) -> int:
    from .bench import Bench

    config = _config(args)
    found = Bench.probe(config)
    failed = [slot for slot, entry in found.items() if "error" in entry]
    if args.json:
        print(json.dumps(jsonable({"bench": config.name, "instruments": found}), indent=2))
        return 1 if failed else 0
    print(f"{config.name} ({config.source}): {len(found) - len(failed)} of {len(found)} instruments answer")
    for slot, entry in found.items():
        print(f"\n  {slot:<30}{entry['model']} at {entry['resource']}")
        if "error" in entry:
            print(f"    NOT ANSWERING: {entry['error']}")
            continue
        print(f"    {entry['identity']}")
        settings = ", ".join(f"{k}={_fmt(v)}" for k, v in entry["settings"].items())
        if settings:
            print(f"    {settings}")
    return 1 if failed else 0


def cmd_gui(args) -> int:
    from .bench import Bench
    from .gui.app import run

    config = _config(args)
    with Bench.open(config, sample=args.sample if config.backend == "sim" else None,
                    time_scale=args.time_scale) as bench:
        if config.backend != "sim" and args.sample:
            bench.mount_sample(args.sample)
        return run(bench, args.out)


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    commands = {"run": cmd_run, "list": cmd_list, "analyze": cmd_analyze, "gui": cmd_gui,
                "instruments": cmd_instruments}
    try:
        return commands[args.command](args)
    except UsageError as exc:
        print(f"labctl: error: {exc}", file=sys.stderr)
        return 2
    except LabctlError as exc:
        print(f"labctl: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""labctl: instrument control and acquisition for optical-gain and lasing experiments.

Public API (everything the CLI and the GUI use)::

    from labctl import Bench, Runner, RunStore, open_run
    bench = Bench.open("bench.yaml")             # or Bench.open() for the simulated bench
    runner = Runner(bench)
    runner.subscribe(RunStore("runs"), critical=True)
    run = runner.run(registry.procedure_class("fluence-sweep")(points=30))
    data = open_run(...)
"""

__version__ = "0.1.0"

_LAZY = {
    "Bench": ("labctl.bench", "Bench"),
    "Runner": ("labctl.runner", "Runner"),
    "RunState": ("labctl.runner", "RunState"),
    "RunStore": ("labctl.store", "RunStore"),
    "open_run": ("labctl.store", "open_run"),
    "registry": ("labctl.registry", None),
}


def __getattr__(name):
    """Import on first use: ``labctl.units`` and ``labctl.errors`` stay light to import."""
    if name not in _LAZY:
        raise AttributeError(f"module 'labctl' has no attribute {name!r}")
    import importlib

    module, attr = _LAZY[name]
    value = importlib.import_module(module)
    return getattr(value, attr) if attr else value

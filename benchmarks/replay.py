"""A fluence sweep that replays recorded steps instead of driving instruments.

The scaling benchmark times the framework over 10² … 10⁵ steps: the simulated
instruments would dominate and take hours, and what scales with the number of steps is
the framework (records, run file, live analysis), not the instruments. ``record()``
takes the steps of a real 200-step sweep on the simulated bench once; ``Replay`` hands
them out again in a cycle (each cycle a repeat of the sweep) with the procedure's own
schema and ``analyze``. A module of its own so that the live-analysis worker can
unpickle it.
"""

import tempfile

import numpy as np

from labctl.procedure import PlannedStep
from labctl.records import Step
from procedures.fluence_sweep import FluenceSweep


def record(points: int = 200, seed: int = 1) -> tuple[list, tuple]:
    """The steps (scalars + spectrum) of a real sweep and its wavelength axis."""
    from labctl.bench import Bench
    from labctl.runner import Runner

    steps = []
    with tempfile.TemporaryDirectory(), Bench.open(time_scale=0, seed=seed) as bench:
        runner = Runner(bench)
        runner.offload_analysis = False
        runner.subscribe(lambda r: steps.append(r) if isinstance(r, Step) else None)
        runner.run(FluenceSweep(points=points))
        axis = np.asarray(bench.drivers["Spectrometer"].wavelengths)
    return [(s.scalars, s.arrays["spectrum"]) for s in steps], (axis, "nm")


class Replay(FluenceSweep):
    """``steps`` replayed steps of a recorded fluence sweep (no instruments)."""

    roles = ()
    recorded: list = []
    axis: tuple = ()

    def __init__(self, steps: int):
        super().__init__(points=len(self.recorded))
        self.count = steps

    def slots(self):
        return {}

    def beam(self):
        return None

    def plan(self):
        n = len(self.recorded)
        return [PlannedStep(f"replay {i}", (), 0.0, {"fluence": self.recorded[i % n][0]["fluence_target"],
                                                     "repeat": i // n, "adaptive": False})
                for i in range(self.count)]

    def setup(self, run):
        run.set_axis("wavelength", *self.axis)
        self.index = 0

    def measure(self, run, step):
        scalars, spectrum = self.recorded[self.index % len(self.recorded)]
        self.index += 1
        return dict(scalars, repeat=float(step.values["repeat"]), spectrum=spectrum)

    def teardown(self, run):
        pass

    def analyze(self, scalars):
        """The sweep's threshold analysis of the latest repeat: a fit over every step of
        a 10⁵-step run would take the threshold fit 15 s and 1 GB (it is linear in the
        points), measuring the fit instead of the framework."""
        return super().analyze(scalars.iloc[-len(self.recorded):])

"""Helpers for tests that open one or a few simulated instruments directly."""

import pyvisa

from sim_instruments.library import SimBench
from sim_instruments.sample import Sample


def sim_of(*instruments, sample="cspbbr3_film_fs", optics=None, seed=3):
    """A SimBench with the given ``(slot, model, resource, options)`` tuples."""
    specs = [{"slot": s, "model": m, "resource": r, "options": o or {}} for s, m, r, o in instruments]
    return SimBench(specs, sample=Sample.load(sample), time_scale=0, seed=seed, optics=optics)


def generic_client(sim, resource, **kwargs):
    """The instrument through pyvisa alone (no labctl driver): proves the twin stands on
    its own as a simulation of the instrument."""
    return pyvisa.ResourceManager(sim.library).open_resource(resource, **kwargs)

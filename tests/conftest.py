"""Shared fixtures: a fresh simulated bench per test, at time scale 0, seeded."""

import pytest

from labctl.bench import Bench
from labctl.runner import Runner
from labctl.store import RunStore


@pytest.fixture
def bench():
    """The built-in simulated bench, fresh state, instantaneous simulated time."""
    with Bench.open(time_scale=0, seed=7) as b:
        yield b


@pytest.fixture
def runner(bench, tmp_path):
    """A runner on ``bench`` storing runs in a temporary data directory."""
    r = Runner(bench)
    r.store = RunStore(tmp_path / "runs")
    r.subscribe(r.store, critical=True)
    return r


def twin(bench, slot):
    return bench.sim.twins[slot]


def received(bench):
    """Number of messages every simulated instrument has received so far."""
    counts = {}
    for slot, t in bench.sim.twins.items():
        counts[slot] = len(t.device.received)
    return counts

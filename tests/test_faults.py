"""Instrument faults during a run: transient ones are retried and noted, permanent ones
end the run failed with a message naming instrument, resource, command and step -- and
either way every instrument the bench can still reach goes to its safe state and every
completed step is on disk."""

import pytest

from labctl.bench import Bench
from labctl.catalog import Catalog
from labctl.config import load as load_config
from labctl.runner import Runner
from labctl.store import RunStore, open_run
from procedures.fluence_sweep import FluenceSweep
from sim_instruments.faults import Fault


def run_with(tmp_path, faults, sweep=None, sample=None):
    with Bench.open(time_scale=0, seed=5, faults=faults, sample=sample) as bench:
        store = RunStore(tmp_path / "runs")
        runner = Runner(bench)
        runner.subscribe(store, critical=True)
        run = runner.run(sweep or FluenceSweep(points=8))
        hazards = bench.sim.hazards()
        fired = list(bench.sim.fault_log)
    return run, open_run(store.paths[run.uid]), hazards, fired, store


@pytest.mark.parametrize("fault", ["Spectrometer:timeout@step=3", "PowerMeter:garbage@step=2",
                                   "PowerMeter:truncated@step=2",
                                   "Attenuator:truncated@step=4", "PumpLaser:nan@step=1",
                                   "Spectrometer:slow=0.05@step=5*3"])
def test_transient_fault_is_retried_and_the_run_says_so(tmp_path, fault):
    run, data, hazards, fired, _ = run_with(tmp_path, [fault])
    slot = fault.split(":")[0]
    assert fired and fired[0][0] == slot
    assert run.stop.status == "finished" and run.steps_done == 8 == len(data.scalars)
    if "slow" not in fault:                        # a late reply within the timeout is no fault
        assert f"transient fault(s) retried ({slot})" in run.stop.reason
        retries = [e for e in data.events if e["event"] == "retry"]
        assert retries and retries[0]["data"]["slot"] == slot
    assert hazards == {}


@pytest.mark.parametrize("fault, command", [
    ("PowerMeter:disconnect@step=4", "pulse_energy"),
    ("Spectrometer:timeout@step=3*always", "acquire"),
    ("Attenuator:nan@step=5*always", None),
    ("PowerMeter:error@step=2", "check_fault"),      # found in its error queue: step voided
])
def test_permanent_fault_fails_the_run_safely_keeping_every_step(tmp_path, fault, command):
    run, data, hazards, _, store = run_with(tmp_path, [fault])
    slot = fault.split(":")[0]
    resource = load_config(None).instruments[slot].resource
    reason = run.stop.reason
    step = int(fault.split("step=")[1].split("*")[0])
    assert run.stop.status == "failed"
    assert reason.startswith(f"step {step}: {slot} at {resource}: ")
    if command:
        assert f"(command '{command}(" in reason
    assert run.steps_done == step == len(data.scalars)
    assert data.status == "failed" and data.stop["reason"] == reason
    catalog = Catalog(store.directory)
    try:
        assert catalog.status_of(run.uid) == "failed"
    finally:
        catalog.close()
    assert hazards == {}, "every instrument reached its safe state"


def test_a_dead_laser_does_not_keep_the_others_from_being_made_safe(tmp_path):
    sweep = FluenceSweep(points=6, line="ns", fluence_start=50, fluence_stop=400, shots=2)
    run, data, hazards, _, _ = run_with(tmp_path, ["PumpLaser.ns:disconnect@step=2"], sweep,
                                        sample="superlattice_ns")
    assert run.stop.status == "failed"
    assert "NOT SAFE: PumpLaser.ns" in run.stop.reason       # it cannot be told to stop...
    assert len(data.scalars) == run.steps_done >= 2
    # ...but its shutter closed and nothing else is left unsafe: no light on the sample
    assert hazards == {"PumpLaser.ns": "not in its safe state, contained"}


def test_probability_faults_are_reproducible():
    fired = []
    for _ in range(2):
        with Bench.open(time_scale=0, seed=5, faults=["PowerMeter:garbage@p=0.2*always"]) as bench:
            run = Runner(bench).run(FluenceSweep(points=6))
            fired.append([(s, k, step) for s, k, step, _ in bench.sim.fault_log])
            assert run.stop.status in ("finished", "failed")
    assert fired[0] and fired[0] == fired[1]


def test_fault_syntax():
    fault = Fault.parse("Attenuator:slow=2.5@p=0.1*always")
    assert (fault.slot, fault.kind, fault.delay, fault.probability, fault.count) == \
        ("Attenuator", "slow", 2.5, 0.1, None)
    assert Fault.parse("PumpLaser.ns:disconnect@step=3").count is None      # for good
    assert Fault.parse("PowerMeter:garbage@command=MEAS").command.pattern == b"MEAS"


def test_a_cryostat_that_stops_answering_fails_the_series_instead_of_holding_it_forever():
    """The temperature series holds while the temperature is out of its band; a
    controller that does not answer at all is a permanent fault, not a reason to wait."""
    from labctl import registry
    with Bench.open(time_scale=0, seed=3, sample="triplet_4K",
                    faults=["TemperatureController:timeout@step=1*always"]) as bench:
        run = Runner(bench).run(registry.procedure_class("temperature-series")())
    assert run.stop.status == "failed"
    assert "TemperatureController at GPIB0::12::INSTR" in run.stop.reason and "VI_ERROR_TMO" in run.stop.reason


def test_a_sensor_that_reads_nan_for_good_ends_the_hold_after_the_settle_timeout():
    from labctl import registry
    with Bench.open(time_scale=0, seed=3, sample="triplet_4K",
                    faults=["TemperatureController:nan@step=1*always"]) as bench:
        run = Runner(bench).run(registry.procedure_class("temperature-series")(settle_timeout=600))
    assert run.stop.status == "failed" and "held for more than the settle timeout (600 s)" in run.stop.reason

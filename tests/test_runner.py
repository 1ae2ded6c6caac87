"""The runner's state machine, pause/resume/abort at step boundaries, failures, and the
safe state reached on every way out."""

import threading

import pytest

from labctl.errors import LabctlError, PlanRefused, RoleBusy, SafetyError
from labctl.procedure import PlannedStep, Procedure, Setpoint
from labctl.records import Column, Event, Step
from labctl.runner import TRANSITIONS, Run, RunState
from labctl.store import open_run
from procedures.fluence_sweep import FluenceSweep

from .conftest import received, twin


def test_transition_table_forbids_leaving_a_final_state():
    for final in (RunState.FINISHED, RunState.ABORTED, RunState.FAILED):
        assert TRANSITIONS[final] == set()
    assert RunState.PAUSED in TRANSITIONS[RunState.RUNNING]
    assert RunState.FINISHED not in TRANSITIONS[RunState.PAUSED]


def test_forbidden_transition_raises(runner):
    run = Run(runner, FluenceSweep(points=3))
    with pytest.raises(LabctlError, match="cannot go from queued to paused"):
        run._transition(RunState.PAUSED)


def on_step(runner, index, action):
    """Call ``action(run)`` in the worker right after step ``index`` has been stored."""
    def callback(record):
        if isinstance(record, Step) and record.index == index:
            action(runner.current)
    runner.subscribe(callback)


def test_abort_mid_run_leaves_shutter_closed_and_completed_steps_on_disk(bench, runner):
    on_step(runner, 4, lambda run: run.abort("test abort"))
    run = runner.run(FluenceSweep(points=20))
    assert run.state == RunState.ABORTED and run.stop.reason == "test abort"
    assert twin(bench, "PumpLaser").safe_state_reached()          # shutter closed
    assert bench.drivers["Attenuator"].transmission < 1e-3           # attenuator at minimum
    data = open_run(runner.store.paths[run.uid])
    assert data.status == "aborted" and len(data.scalars) == 5 == run.steps_done
    assert data.arrays["spectrum"].values.shape == (5, 2048)
    assert runner.store.catalog.get(run.uid)["status"] == "aborted"


def test_pause_closes_the_shutter_and_resume_completes(bench, runner):
    paused = threading.Event()
    seen = {}

    def watch(record):
        if isinstance(record, Event) and record.kind == "paused":
            seen["shutter_during_pause"] = twin(bench, "PumpLaser").get("shutter")
            try:
                bench.role("PumpLaser").open_shutter()                # manual command
            except RoleBusy as exc:
                seen["manual"] = str(exc)
            paused.set()
    runner.subscribe(watch)
    on_step(runner, 2, lambda run: run.pause())
    run = runner.submit(FluenceSweep(points=8))
    assert paused.wait(30)
    assert run.state == RunState.PAUSED
    run.resume()
    run.wait(60)
    assert run.state == RunState.FINISHED and run.steps_done == 8
    assert seen["shutter_during_pause"] == 0
    assert "in use by a run" in seen["manual"]
    events = [e["event"] for e in open_run(runner.store.paths[run.uid]).events]
    assert [e for e in events if e in ("paused", "resumed")] == ["paused", "resumed"]


class Faulty(Procedure):
    """Opens the laser shutter, then fails at step 2."""

    name = "faulty"
    roles = ("PumpLaser", "PowerMeter")
    columns = (Column("reading", "J"),)

    def plan(self):
        return [PlannedStep(f"step {i}", (), 0.0, {"i": i}) for i in range(5)]

    def setup(self, run):
        run.role("PumpLaser").open_shutter()

    def measure(self, run, step):
        if step.values["i"] == 2:
            raise RuntimeError("detector exploded")
        return {"reading": run.role("PowerMeter").pulse_energy(1000)}


def test_failure_goes_to_safe_state_and_keeps_completed_steps(bench, runner):
    run = runner.run(Faulty())
    assert run.state == RunState.FAILED
    assert "RuntimeError: detector exploded" in run.stop.reason
    assert "Traceback" in run.stop.traceback
    assert twin(bench, "PumpLaser").safe_state_reached()
    data = open_run(runner.store.paths[run.uid])
    assert data.status == "failed" and len(data.scalars) == 2


def test_envelope_violation_refused_before_any_write(bench, runner):
    before = received(bench)
    angle = twin(bench, "Attenuator").position()
    with pytest.raises(PlanRefused) as info:
        runner.submit(FluenceSweep(fluence_stop=3000.0))
    assert "max_fluence = 1000 µJ/cm²" in str(info.value)
    assert received(bench) == before                      # nothing sent to any instrument
    assert twin(bench, "Attenuator").position() == angle
    assert runner.queue == []


def test_role_setpoint_refused_before_the_driver_sees_it(bench):
    attenuator = bench.role("Attenuator")
    before = received(bench)["Attenuator"]
    with pytest.raises(SafetyError, match="pulse_energy 6 µJ"):
        attenuator.set_pulse_energy(6e-6)
    assert received(bench)["Attenuator"] == before
    with pytest.raises(AttributeError, match="no member 'adapter'"):
        bench.role("PumpLaser").adapter
    with pytest.raises(AttributeError, match="set values through the role's methods"):
        attenuator.transmission = 0.5


class Sweep(Procedure):
    """Two setpoints per step, one of them out of the envelope."""

    name = "bad-plan"
    roles = ("Attenuator",)

    def plan(self):
        return [PlannedStep("step", (Setpoint("pulse_energy", 1.0, "uJ"),
                                     Setpoint("source_voltage", 100.0, "V")))]


def test_dry_run_lists_every_violation(bench):
    preview = Sweep().preview(bench.envelope)
    assert not preview.ok and preview.setpoints == 2
    assert "source_voltage 100 V" in preview.violations[0]


def test_queue_runs_in_order(runner):
    first = runner.submit(FluenceSweep(points=3))
    second = runner.submit(FluenceSweep(points=4))
    second.wait(60)
    assert first.state == second.state == RunState.FINISHED
    assert first.stop.time <= second.started


def test_abort_while_queued_never_starts(runner):
    gate = threading.Event()
    runner.subscribe(lambda r: gate.wait(30) if isinstance(r, Step) else None)
    first = runner.submit(FluenceSweep(points=3))
    second = runner.submit(FluenceSweep(points=3))
    second.abort()
    gate.set()
    first.wait(60)
    assert second.state == RunState.ABORTED and second.stop is None


def test_safe_state_blocks_beams_before_moving_attenuators(bench):
    calls = []
    for slot, driver in bench.drivers.items():
        original = driver.safe_state
        driver.safe_state = (lambda s=slot, o=original: (calls.append(s), o())[1])
    bench.safe_state()
    lasers = [i for i, s in enumerate(calls) if s.startswith(("PumpLaser", "Shutter"))]
    others = [i for i, s in enumerate(calls) if not s.startswith(("PumpLaser", "Shutter"))]
    assert lasers and max(lasers) < min(others)


def test_laser_interlock_suspends_the_run_until_it_closes(bench, runner):
    laser = twin(bench, "PumpLaser")
    seen = {}

    def watch(record):
        if isinstance(record, Step) and record.index == 3 and "opened" not in seen:
            seen["opened"] = True
            laser.open_interlock()                      # someone opens the lab door
        if isinstance(record, Event) and record.kind == "suspended":
            seen["reason"] = record.message
            seen["state"] = runner.current.state
            laser.close_interlock()                     # ... and closes it again
    runner.subscribe(watch)
    run = runner.run(FluenceSweep(points=8))
    assert seen["reason"] == "PumpLaser: safety interlock open"
    assert seen["state"] == RunState.PAUSED
    assert run.state == RunState.FINISHED and run.steps_done == 8


def test_compliance_stops_the_run_and_switches_the_output_off(bench, runner):
    from labctl.procedure import PlannedStep, Procedure

    class Bias(Procedure):
        name = "bias-probe"
        roles = ("SourceMeter",)
        columns = (Column("current", "A"),)

        def plan(self):
            return [PlannedStep(f"{v} V", (Setpoint("source_voltage", v, "V"),), 0, {"v": v})
                    for v in (1.0, 5.0, 10.0)]

        def setup(self, run):
            source = run.role("SourceMeter")
            source.set_current_compliance(0.01)           # the diode draws far more at 5 V
            source.enable_output()

        def measure(self, run, step):
            source = run.role("SourceMeter")
            source.set_voltage(step.values["v"])
            return {"current": source.measure()[1]}

    bench.mount_sample("qd_led_pulsed")
    run = runner.run(Bias())
    assert run.state == RunState.FAILED and "compliance reached" in run.stop.reason
    assert run.steps_done == 2 and "NOT SAFE" not in run.stop.reason
    assert not bench.drivers["SourceMeter"].output_enabled

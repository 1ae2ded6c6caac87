"""The faster paths give the same answers: the live-analysis worker, the run file's
low-level writes, pipelined records, cached unit factors and optics, expected-time polls."""

import os
import signal
import time

import numpy as np
import pytest

from labctl import live, units
from labctl.records import Analysis, Step
from labctl.runner import Runner
from labctl.store import SCALAR_CHUNK, open_run
from procedures.fluence_sweep import FluenceSweep
from tests.conftest import twin


def test_worker_analysis_equals_the_runner_thread_analysis(runner):
    procedure = FluenceSweep(points=12)
    run = runner.run(procedure)
    table = open_run(runner.store.paths[run.uid], arrays=False).scalars
    columns = {name: np.asarray(table[name], float) for name in table.columns}
    worker = live.worker()
    assert worker.wait_idle(120)
    half = {name: _growing(values[:6]) for name, values in columns.items()}
    assert worker.submit("test-uid", 6, procedure, half)        # the first rows
    assert worker.wait_idle(120)
    first = worker.reply("test-uid")
    full = {name: _growing(values) for name, values in columns.items()}
    assert worker.submit("test-uid", 12, procedure, full)       # only the new rows go
    assert worker.wait_idle(120)
    steps, ok, results = worker.reply("test-uid")
    worker.forget("test-uid")
    assert first[0] == 6 and first[1] and steps == 12 and ok
    assert results["threshold"] == procedure.analyze(table)["threshold"]
    assert results["points"] == 12


def _growing(values):
    import array
    return array.array("d", values)


def test_worker_resends_the_whole_table_after_losing_rows(runner):
    procedure = FluenceSweep(points=4)
    worker = live.worker()
    assert worker.wait_idle(120)
    rows = {"fluence": _growing([1.0, 2.0]), "intensity_stimulated": _growing([1.0, 2.0])}
    worker._sent["lost-uid"] = 1                 # the worker never got that row
    assert worker.submit("lost-uid", 2, procedure, rows)
    assert worker.wait_idle(120)
    assert worker.reply("lost-uid")[2] == live.OUT_OF_STEP
    assert "lost-uid" not in worker._sent       # sent again whole next time
    worker.forget("lost-uid")


def test_a_worker_that_died_is_started_again(runner):
    procedure = FluenceSweep(points=4)
    run = runner.run(procedure)
    table = open_run(runner.store.paths[run.uid], arrays=False).scalars
    rows = {name: _growing(np.asarray(table[name], float)[:2]) for name in table.columns}
    worker = live.worker()
    assert worker.wait_idle(120) and worker.submit("dead-uid", 2, procedure, rows)
    assert worker.wait_idle(120)
    first = worker.pid
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while worker.pid is not None and time.monotonic() < deadline:     # the reader sees it end
        time.sleep(0.01)
    assert worker.pid is None
    assert worker.submit("dead-uid", 2, procedure, rows) and worker.wait_idle(120)
    assert worker.pid not in (None, first)
    steps, ok, results = worker.reply("dead-uid")
    assert (steps, ok, results["points"]) == (2, True, 2)
    worker.forget("dead-uid")


def test_a_procedure_that_does_not_pickle_is_analysed_in_the_runner_thread(runner):
    class Local(FluenceSweep):                   # a local class cannot be pickled
        def analyze(self, scalars):
            import time
            time.sleep(0.003)                    # slower than OFFLOAD_AFTER
            return {"points": len(scalars)}
    analyses = []
    runner.subscribe(lambda r: analyses.append(r.index) if isinstance(r, Analysis) else None)
    run = runner.run(Local(points=5))
    assert run.stop.status == "finished" and run.stop.results == {"points": 5}
    assert analyses == [1, 2, 3, 4, 5]


def test_scalars_and_arrays_survive_chunk_boundaries(runner):
    run = runner.run(FluenceSweep(points=SCALAR_CHUNK + 7))
    data = open_run(runner.store.paths[run.uid])
    assert len(data.scalars) == SCALAR_CHUNK + 7 == data.arrays["spectrum"].values.shape[0]
    expected = np.geomspace(2.0, 150.0, SCALAR_CHUNK + 7)
    assert list(data.scalars["fluence_target"]) == pytest.approx(expected)
    assert (data.arrays["spectrum"].values[-1] != 0).any()


@pytest.mark.parametrize("pipeline", [False, True])
def test_pipelined_records_store_the_same_run(bench, tmp_path, pipeline):
    from labctl.store import RunStore
    store = RunStore(tmp_path / str(pipeline))
    r = Runner(bench)
    r.pipeline = pipeline
    r.subscribe(store, critical=True)
    indices = []
    r.subscribe(lambda rec: indices.append(rec.index) if isinstance(rec, Step) else None)
    run = r.run(FluenceSweep(points=6))
    data = open_run(store.paths[run.uid])
    assert run.stop.status == "finished" and indices == list(range(6)) and len(data.scalars) == 6
    assert data.status == "finished"


def test_a_pipelined_store_failure_fails_the_run_with_the_steps_stored(bench, tmp_path):
    from labctl.errors import StorageError
    from labctl.store import RunStore
    store = RunStore(tmp_path / "runs")
    r = Runner(bench)
    r.pipeline = True
    r.subscribe(store, critical=True)

    def full_disk(record):
        if isinstance(record, Step) and record.index == 3:
            raise StorageError("disk full (test)")
    r.subscribe(full_disk, critical=True)
    run = r.run(FluenceSweep(points=8))
    assert run.stop.status == "failed" and "disk full (test)" in run.stop.reason
    assert run.steps_done == 3                    # step 3 was not stored: not done


def test_unit_factors_match_pint_and_offset_units_still_convert():
    for value, a, b in ((2e-6, "J", "uJ"), (5.0, "mA", "A"), (1.0, "K/min", "K/s"), (3.0, "mJ/cm^2", "uJ/cm^2")):
        expected = float(units.ureg.Quantity(value, units.unit(a)).to(units.unit(b)).magnitude)
        assert units.convert(value, a, b) == pytest.approx(expected, rel=1e-12)
    assert units._factor("degC", "K") is None
    assert units.convert(0.0, "degC", "K") == pytest.approx(273.15)


def test_optics_see_a_twin_changed_directly(bench):
    optics = bench.sim.optics
    bench.role("PumpLaser").open_shutter()
    bench.role("Shutter").open_shutter()
    assert optics.pumps()                                   # light on the sample
    twin(bench, "PumpLaser").put("shutter", 0)              # closed behind the drivers' back
    assert optics.pumps() == []


def test_optics_recompute_after_changes_only_and_follow_a_move(bench, monkeypatch):
    optics, stage, driver = bench.sim.optics, twin(bench, "Attenuator"), bench.drivers["Attenuator"].stage
    driver.home()
    bench.role("PumpLaser").open_shutter()
    bench.role("Shutter").open_shutter()
    computed = []
    compute = optics._compute_pumps
    monkeypatch.setattr(optics, "_compute_pumps", lambda: computed.append(1) or compute())
    before = optics.pumps()
    bench.sim.clock.sleep(1.0)
    for message in ("1TP", "1TS", "1TE"):                   # queries while the stage stands
        driver.ask(message)
    assert optics.pumps() == before and len(computed) == 1
    stage.device._properties["target"].set_value(str(stage.position() + 10.0))   # a 0.5-s move
    bench.sim.clock.sleep(0.25)
    halfway = optics.pumps()
    bench.sim.clock.sleep(0.25)
    assert halfway != before and optics.pumps() != halfway and len(computed) == 3
    twin(bench, "Shutter").open_interlock()                 # the shutter closes by itself
    assert optics.pumps() == []
    twin(bench, "Shutter").close_interlock()
    bench.role("Shutter").open_shutter()
    moved = optics.pumps()
    optics.lines[""].line_transmission *= 2                 # a beam-line setting changed by hand
    assert optics.pumps()[0].fluence == pytest.approx(2 * moved[0].fluence)


def test_a_move_is_waited_for_its_duration_then_polled(bench):
    stage = bench.drivers["Attenuator"].stage
    stage.home()
    polls = len(twin(bench, "Attenuator").device.received)
    start = bench.now()
    stage.move_to(stage.angle + 10.0)                       # 0.5 s at 20 deg/s
    assert bench.now() - start == pytest.approx(0.5, abs=0.002)
    sent = [m for m in list(twin(bench, "Attenuator").device.received)[polls:] if m.startswith(b"1TS")]
    assert len(sent) <= 3                                   # not one every 50 ms

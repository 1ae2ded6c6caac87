"""Gain switching on the simulated bench: dry run and envelope, the ASE switched on and
off by the bias on ito_device_bias at 40 µJ/cm² (response time 30 ms, < 100 ms published,
reversible), no switching through an insulating layer, another device written here, and
the live view.

Tolerances: the response time within 10 % and its 95 % interval covering the truth (an
exponential fit to ~100 points with ~1 % noise; docs/analysis.md, lifetimes: bias < 1 %,
coverage 0.92-0.98); the spontaneous on/off ratio within 3 % (means of ~100 spectra)."""

import os
import threading

import pytest
import yaml

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from labctl.bench import Bench  # noqa: E402
from labctl.errors import ParameterError, PlanRefused  # noqa: E402
from labctl.records import Event, Step  # noqa: E402
from labctl.runner import Runner  # noqa: E402
from labctl.store import RunStore, open_run  # noqa: E402
from procedures.gain_switching import GainSwitching  # noqa: E402
from sim_instruments.sample import PRESETS_DIR  # noqa: E402

from .conftest import received  # noqa: E402

SHORT = {"cycles": 2, "on_time": 0.3, "off_time": 0.3}


def run_on(sample, procedure, seed=8, store=None, records=None):
    with Bench.open(time_scale=0, seed=seed, sample=sample) as bench:
        runner = Runner(bench)
        if store is not None:
            runner.subscribe(store, critical=True)
        if records is not None:
            runner.subscribe(records.append)
        run = runner.run(procedure)
        safe = all(bench.sim.twins[slot].safe_state_reached() for slot in ("SourceMeter", "PumpLaser"))
        return run, bench.sim.sample, safe


def write(tmp_path, name, change):
    device = yaml.safe_load((PRESETS_DIR / "ito_device_bias.yaml").read_text())
    device["name"] = name
    change(device)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(device))
    return str(path)


def test_dry_run_steps_and_setpoints(bench):
    procedure = GainSwitching()
    preview = procedure.preview(bench.envelope)
    assert preview.ok and preview.steps == 50 + 3 * (50 + 50)
    assert preview.setpoints == 7 * 2 + 2              # bias and compliance per phase, pump once
    assert preview.duration == pytest.approx(3.5)
    biases = [step.values["bias"] for step in procedure.plan() if step.values["switch"]]
    assert biases == [0, 20, 0, 20, 0, 20, 0]


@pytest.mark.parametrize("settings, limit", [
    ({"bias": 25}, "max_source_voltage"),
    ({"compliance": 0.5}, "max_source_current"),
    ({"fluence": 2000}, "max_fluence"),
])
def test_out_of_envelope_refused_before_any_write(bench, settings, limit):
    before = received(bench)
    with pytest.raises(PlanRefused, match=limit):
        Runner(bench).submit(GainSwitching(**settings))
    assert received(bench) == before


def test_integration_must_fit_the_interval():
    with pytest.raises(ParameterError, match="must not exceed the interval"):
        GainSwitching(interval=0.01, integration_time=0.02)


def test_preset_switches_ase_with_the_bias(tmp_path):
    store = RunStore(tmp_path)
    run, sample, safe = run_on("ito_device_bias", GainSwitching(**SHORT), store=store)
    r = run.stop.results
    assert run.stop.status == "finished" and run.steps_done == 30 + 2 * 60 and safe
    assert r["switching"] and r["modulation"] > 0.9 and r["contrast"] > 1.5
    assert r["ase_on"] > 20 * abs(r["ase_off"])
    assert r["spontaneous_ratio"] == pytest.approx(0.6, rel=0.03)         # brightness_ratio
    for name in ("on", "off"):
        tau = r[f"spontaneous_tau_{name}"]
        assert tau["value"] == pytest.approx(0.030, rel=0.10) and tau["low"] < 0.030 < tau["high"]
    assert r["response_time"] < 0.100                                        # published: < 100 ms
    assert r["ase_switch_off_time"] < r["response_time"] < r["ase_switch_on_time"] < 5 * r["response_time"]
    assert r["reversible"] and abs(r["spontaneous_return"]) < 0.02
    data = open_run(store.paths[run.uid])
    assert data.scalars["current"].dropna().max() == pytest.approx(20 / 1e9, rel=0.05)
    assert data.scalars["time"].is_monotonic_increasing
    assert data.scalars["time"].iloc[-1] == pytest.approx(1.49, abs=0.03)
    assert set(GainSwitching.figures(data)) == {"switching"}


def test_bias_ends_by_itself_when_the_source_meter_link_is_lost():
    """The link dies mid on-phase: the run fails, nobody can switch the bias off, but the
    2400's own trigger model ends it at the end of the phase."""
    procedure = GainSwitching(**SHORT)
    with Bench.open(time_scale=0, seed=8, sample="ito_device_bias",
                    faults=["SourceMeter:disconnect@step=40"]) as bench:
        run = Runner(bench).run(procedure)
        step = procedure.plan()[run.steps_done]
        assert run.stop.status == "failed" and "SourceMeter" in run.stop.reason
        assert step.values["bias"] == 20
        smu = bench.sim.twins["SourceMeter"]
        assert smu.sweep.auto_off and smu.get("source_voltage") == 20
        assert smu.sweep.end == pytest.approx(procedure.start + step.values["phase_end"], abs=0.025)
        bench.sim.clock.sleep(smu.sweep.end - bench.sim.clock.now())
        assert smu.terminal_voltage() is None
        assert bench.sim.hazards() == {"SourceMeter": "not in its safe state, contained"}


def test_pause_takes_the_bias_off_and_resume_restores_the_rest_of_the_phase():
    seen, paused = {}, threading.Event()
    with Bench.open(time_scale=0, seed=8, sample="ito_device_bias") as bench:
        runner, smu = Runner(bench), bench.sim.twins["SourceMeter"]

        def watch(record):
            if isinstance(record, Step) and record.index == 40:          # 0.1 s into the first on-phase
                runner.current.pause()
            elif isinstance(record, Event) and record.kind == "paused":
                seen["during"] = smu.terminal_voltage()
                bench.sim.clock.sleep(5.0)                                # a long pause
                paused.set()
            elif isinstance(record, Event) and record.kind == "resumed":
                seen["after"] = smu.terminal_voltage(), smu.sweep.end - bench.sim.clock.now()
        runner.subscribe(watch)
        run = runner.submit(GainSwitching(**SHORT))
        assert paused.wait(30)
        run.resume()
        run.wait(60)
    assert run.state.value == "finished" and run.steps_done == 150
    assert seen["during"] is None                                         # bias off while paused
    volts, left = seen["after"]
    assert volts == pytest.approx(20, abs=0.1) and left == pytest.approx(0.19, abs=0.02)
    assert run.stop.results["switching"]


def test_insulating_layer_does_not_switch(tmp_path):
    path = write(tmp_path, "insulated", lambda d: d["charging"].update(insulating=1))
    run, _, _ = run_on(path, GainSwitching(**SHORT))
    r = run.stop.results
    assert not r["switching"] and "response_time" not in r
    assert r["contrast"] == pytest.approx(1.0, abs=0.02) and r["spontaneous_ratio"] == pytest.approx(1.0, abs=0.02)
    assert GainSwitching.headline(r).startswith("no switching")


def test_other_device_written_by_the_test(tmp_path):
    def change(d):
        d["stimulated"].update(threshold="80 uJ/cm^2", center="540 nm")
        d["charging"].update(threshold_ratio=0.45, brightness_ratio=0.75, response_time="60 ms")
    path = write(tmp_path, "slow_device", change)
    procedure = GainSwitching(fluence=50, window_start=535, window_stop=545, interval=0.02, integration_time=0.01,
                              cycles=2, on_time=0.6, off_time=0.6)
    run, _, _ = run_on(path, procedure, seed=9)
    r = run.stop.results
    assert r["switching"] and r["modulation"] > 0.9
    assert r["spontaneous_ratio"] == pytest.approx(0.75, rel=0.03)
    for name in ("on", "off"):
        assert r[f"spontaneous_tau_{name}"]["value"] == pytest.approx(0.060, rel=0.10)
    assert r["reversible"]


def test_live_view_shows_intensities_and_bias(qtbot):
    from labctl.gui.views import VIEWS
    from labctl.records import Start, Step

    records = []
    run, _, _ = run_on("ito_device_bias", GainSwitching(cycles=1, on_time=0.3, off_time=0.3), records=records)
    view = VIEWS["switching"]()
    qtbot.addWidget(view)
    view.reset(next(r for r in records if isinstance(r, Start)))
    view.add_steps([r for r in records if isinstance(r, Step)])
    view.set_results(run.stop.results)
    t, bias = view.bias.getData()
    assert len(t) == run.steps_done and set(bias) == {0.0, 20.0}
    ase = view.ase.getData()[1]
    assert ase[bias == 20].max() > 10 * abs(ase[:30]).max()
    assert "τ" in view.summary and "reversible" in view.summary
    assert "time" in view.plot.getPlotItem().getAxis("bottom").labelText

"""Temperature series on the simulated bench: the dry run against the envelope, the
self-pause when the temperature leaves its band, and the recovery of the sample's
thermal-quenching energy and thresholds versus temperature -- for the superlattice preset
and for a sample written here.

Tolerances: thresholds within 10 % (docs/analysis.md, threshold accuracy, stimulated
output, β = 0.1, 1–3 % noise, 15 points: 0.98–1.00 of datasets within 10 %). The analysis
docs have no row for the quenching fit: E_b within 10 % (5 temperatures, 3 parameters;
its 95 % interval is ±8–20 %, and the spontaneous band interpolated under the modes
carries a ±1.5 % temperature-dependent error it does not include); the linewidth within
5 % (the Voigt Q fit's 5 % in tests/test_analysis_spectra.py).
"""

import numpy as np
import pytest
import yaml

from labctl.bench import Bench
from labctl.errors import PlanRefused
from labctl.records import Event, Step
from labctl.runner import Runner, RunState
from labctl.store import RunStore, open_run
from procedures.temperature_series import TemperatureSeries
from sim_instruments.sample import PRESETS_DIR, Environment

from .conftest import received, twin
from .simbench import generic_client

#: Inner fluence sweep of the superlattice: 355-nm ns line, high-resolution spectrograph,
#: lasing modes in 536–541.2 nm (0.29 nm resolution at the 100 µm slit).
LASING = ("line=ns, detector=hr, center_wavelength=537, geometry=spot, spot_diameter=1.5, "
          "shots=10, integration_time=1, points=14, fluence_start=2, fluence_stop={stop}, "
          "separation=narrow, window_start=536, window_stop=541.2, flank_width=3, resolution=0.286")
TEMPERATURES = [80, 150, 220, 290, 350]


def series_on(sample, seed, stop=110):
    with Bench.open(time_scale=0, seed=seed, sample=sample) as bench:
        run = Runner(bench).run(TemperatureSeries(temperatures=TEMPERATURES, stable_time=30,
                                                  inner_settings=LASING.format(stop=stop)))
        truth = [bench.sim.sample.threshold_fluence(355.0, Environment(temperature=t)) for t in TEMPERATURES]
    assert run.stop.status == "finished", run.stop.reason
    return run.stop.results, truth


def test_dry_run_plans_every_setpoint_and_refuses_the_envelope(bench):
    series = TemperatureSeries(temperatures=[80, 200], ramp_rate=5, inner_settings="points=5")
    preview = series.preview(bench.envelope)
    assert preview.ok and preview.steps == 2
    assert preview.setpoints == 2 * (2 + 5 * 2)          # temperature + ramp, then 5 × (fluence, energy)
    assert preview.duration > (295 - 80) / 5 * 60        # the cool-down at 5 K/min is in the estimate
    before = received(bench)
    runner = Runner(bench)
    with pytest.raises(PlanRefused, match="temperature_range"):
        runner.submit(TemperatureSeries(temperatures=[80, 400], inner_settings="points=5"))
    with pytest.raises(PlanRefused, match="max_ramp_rate"):
        runner.submit(TemperatureSeries(temperatures=[80], ramp_rate=20, inner_settings="points=5"))
    assert received(bench) == before                       # nothing was sent


def test_superlattice_quenching_energy_and_thresholds():
    results, truth = series_on("superlattice_ns", seed=3)
    assert results["quenching"]["e_b_mev"] == pytest.approx(116, rel=0.10)
    thresholds = results["thresholds"]
    assert thresholds["temperature"] == TEMPERATURES
    assert thresholds["value"] == pytest.approx(truth, rel=0.10)
    assert np.all(np.diff(thresholds["value"]) > 0)                    # thresholds rise with T
    assert results["characteristic_temperature"]["value"] == pytest.approx(180, rel=0.10)
    assert results["peak_shift"]["slope_mev_per_k"] == pytest.approx(0.1, rel=0.10)


def test_other_sample_written_by_the_test(tmp_path):
    sample = yaml.safe_load((PRESETS_DIR / "superlattice_ns.yaml").read_text())
    sample["name"] = "test_superlattice"
    sample["stimulated"].update(threshold="40 uJ/cm^2", fwhm="0.25 nm")
    sample["thermal"].update(quenching_energy="80 meV", quenching_strength=50)
    path = tmp_path / "test_superlattice.yaml"
    path.write_text(yaml.safe_dump(sample))
    results, truth = series_on(str(path), seed=8, stop=180)
    assert truth[TEMPERATURES.index(290)] == pytest.approx(40 * np.exp(-5 / 180))
    assert results["quenching"]["e_b_mev"] == pytest.approx(80, rel=0.10)
    assert results["thresholds"]["value"] == pytest.approx(truth, rel=0.10)
    linewidths = results["linewidths"]
    assert linewidths["temperature"] == TEMPERATURES
    assert linewidths["value"] == pytest.approx([0.25] * 5, rel=0.05)
    assert linewidths["q_factor"] == pytest.approx([538.5 / 0.25] * 5, rel=0.05)


def test_linewidth_of_every_inner_run(runner):
    """Key results of the inner runs per point: the mode linewidth at each temperature."""
    series = TemperatureSeries(temperatures=[150, 290], stable_time=10, inner_settings=LASING.format(stop=110))
    runner.bench.mount_sample("superlattice_ns")
    run = runner.run(series)
    data = open_run(runner.store.paths[run.uid])
    assert list(data.scalars["temperature"]) == [150, 290]
    assert data.scalars["linewidth"].tolist() == pytest.approx([0.41, 0.41], rel=0.05)
    assert data.scalars["temperature_mean"].tolist() == pytest.approx([150, 290], abs=0.5)
    trace = data.arrays["trace_temperature"].values
    assert trace.shape == (2, 256) and np.nanmin(trace[0]) < 151 and np.nanmax(trace[0]) > 280   # cool-down
    children = [row for row in runner.store.catalog.runs() if row["parent"] == run.uid]
    assert len(children) == 2 and all(row["procedure"] == "fluence-sweep" for row in children)
    assert set(TemperatureSeries.figures(data)) == {"temperature", "trace"}


def test_the_run_holds_while_the_temperature_is_out_of_its_band(bench, tmp_path):
    """Someone turns the setpoint 3 K up behind the run's back during an inner run: the
    run holds (series and inner run paused, beam blocked) until the setpoint is back and
    the temperature has returned into its band, then carries on."""
    runner = Runner(bench)
    runner.store = RunStore(tmp_path / "runs")
    runner.subscribe(runner.store, critical=True)
    front_panel = generic_client(bench.sim, "GPIB0::12::INSTR", read_termination="\r\n",
                                 write_termination="\r\n")
    seen = {"held": [], "inner": None}

    def disturb(record):
        if isinstance(record, Step) and record.index == 1 and seen["inner"] is None:   # inner run
            seen["inner"] = record.uid
            front_panel.write("SETP 1,203")
        elif isinstance(record, Event) and record.kind == "suspended":
            chain = runner.current.chain()
            seen["held"].append(([r.state for r in chain], twin(bench, "PumpLaser").get("shutter"), record.message))
            front_panel.write("SETP 1,200")
    runner.subscribe(disturb)
    series = TemperatureSeries(temperatures=[200], tolerance=0.2, stable_time=20, check_interval=2,
                               inner_settings="points=10")
    run = runner.run(series)
    assert run.state == RunState.FINISHED
    (states, shutter, message), = seen["held"]
    assert states == [RunState.PAUSED, RunState.PAUSED] and shutter == 0
    assert "outside 200 ± 0.2 K" in message
    data = open_run(runner.store.paths[run.uid])
    assert data.scalars["suspensions"].tolist() == [1]
    assert data.scalars["temperature_max"][0] > 200.2 and data.scalars["inner_steps"][0] == 10
    inner = open_run(runner.store.paths[seen["inner"]])
    assert [e["event"] for e in inner.events if e["event"] in ("suspended", "resumed")] == ["suspended", "resumed"]


def test_a_broken_sensor_holds_the_run_until_it_is_aborted(bench):
    runner = Runner(bench)
    held = []

    def break_sensor(record):
        if isinstance(record, Step) and record.index == 2 and not held:
            twin(bench, "TemperatureController").break_sensor()
        elif isinstance(record, Event) and record.kind == "suspended":
            held.append(record.message)
            runner.current.chain()[-1].abort("sensor lead off")          # the series
    runner.subscribe(break_sensor)
    run = runner.run(TemperatureSeries(temperatures=[250], stable_time=10, inner_settings="points=8"))
    assert run.state == RunState.ABORTED
    assert "invalid reading" in held[0]
    assert twin(bench, "PumpLaser").safe_state_reached()

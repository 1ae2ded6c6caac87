"""Pulsed electroluminescence on the simulated bench: the dry run and the envelope, the
published numbers of qd_led_pulsed recovered end to end (EL threshold, FWHM narrowing,
thermal time, > 1000 A/cm²), another device written here, the d.c. failure by
overheating, the current-density guard, the fail-silent drive (bursts only: a generator
whose link is lost stops driving the device by itself, the 33500B and the BNC 575), and
the live views fed with a run's records.

Tolerances (docs/analysis.md, accuracy tables): the EL threshold within 10 % (threshold
table, stimulated output, β = 0.01, 3 % noise, 15-30 points: 100 % of datasets within
10 %; the 1 µs pulses of the preset add ~3 % of heating); the band widths within 5 % and
the thermal time within 10 % (least-squares fits on noise of about 1 %, whose 95 %
intervals are also required to cover the truth)."""

import math
import os

import pytest
import yaml

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from labctl.bench import Bench  # noqa: E402
from labctl.config import DEFAULT_SIM  # noqa: E402
from labctl.errors import ParameterError, PlanRefused  # noqa: E402
from labctl.runner import Runner  # noqa: E402
from labctl.safety import Envelope  # noqa: E402
from labctl.store import RunStore, open_run  # noqa: E402
from procedures.pulsed_el import PulsedEL  # noqa: E402
from sim_instruments.sample import PRESETS_DIR, Environment, Sample  # noqa: E402

from .conftest import received, twin  # noqa: E402


def run_on(sample, procedure, seed=1, store=None, envelope=None, records=None):
    with Bench.open(time_scale=0, seed=seed, sample=sample) as bench:
        if envelope:
            bench.envelope = Envelope.from_config(envelope, "test envelope")
        runner = Runner(bench)
        for subscriber in filter(None, (store, records.append if records is not None else None)):
            runner.subscribe(subscriber, critical=subscriber is store)
        run = runner.run(procedure)
        return run, bench.sim.sample, {slot: t.safe_state_reached() for slot, t in bench.sim.twins.items()}


# -- dry run and envelope ---------------------------------------------------------------

def test_dry_run_lists_every_setpoint(bench):
    preview = PulsedEL(points=10).preview(bench.envelope)
    assert preview.ok and preview.steps == 6 + 10          # width scan, then the sweep
    assert preview.setpoints == 2 * 16                      # amplitude and duty cycle per step
    plan = PulsedEL(points=10).plan()
    assert [s.values["width"] for s in plan[:6]] == [1, 2, 5, 10, 20, 30]
    assert plan[6].setpoints[0].value == 1.5 and plan[-1].setpoints[0].value == 6.0
    assert plan[-1].setpoints[1].value == pytest.approx(1e-3)


@pytest.mark.parametrize("settings, limit", [
    ({"amplitude_stop": 25}, "max_pulse_amplitude"),
    ({"width": 100}, "max_duty_cycle"),                              # 100 µs at 1 kHz: 10 %
    ({"heating_widths": "1, 2, 5, 60"}, "max_duty_cycle"),
    ({"drive": "dc", "compliance": 0.3}, "max_source_current"),
    ({"drive": "dc", "amplitude_stop": 30}, "max_source_voltage"),
    ({"drive": "dc", "compliance": 0.1, "area": 0.004}, "max_current_density"),   # compliance: 2500 A/cm²
])
def test_out_of_envelope_refused_before_any_write(bench, settings, limit):
    before = received(bench)
    with pytest.raises(PlanRefused, match=limit):
        Runner(bench).submit(PulsedEL(**settings))
    assert received(bench) == before


def test_bad_parameters_named():
    with pytest.raises(ParameterError, match="does not fit the period"):
        PulsedEL(width=1500)
    with pytest.raises(ParameterError, match="at least 4 widths"):
        PulsedEL(heating_widths="1, 2")
    with pytest.raises(ParameterError, match="above amplitude_start"):
        PulsedEL(amplitude_start=3, amplitude_stop=2)


# -- the preset ---------------------------------------------------------------------------

def test_preset_recovered_end_to_end(tmp_path):
    store = RunStore(tmp_path)
    run, sample, safe = run_on("qd_led_pulsed", PulsedEL(), store=store)
    results = run.stop.results
    assert run.stop.status == "finished" and run.steps_done == 31
    assert results["max_current_density"] > 1000                         # pulses reach > 1000 A/cm²
    threshold = results["threshold"]
    assert threshold["found"] and threshold["value"] == pytest.approx(300, rel=0.10)
    assert results["fwhm_below_mev"] == pytest.approx(82, rel=0.05)       # 82 -> 40 meV
    assert results["stimulated_fwhm_mev"] == pytest.approx(40, rel=0.05)
    heating = results["heating"]
    assert heating["tau_us"] == pytest.approx(3.9, rel=0.10)
    assert heating["tau_low"] < 3.9 < heating["tau_high"]
    steady = sample.heating(2.5, math.inf, sense=10.0)                     # R_th·I·V of the scan
    assert heating["steady_rise_K"] == pytest.approx(steady, rel=0.10)
    assert results["series_resistance"]["value"] == pytest.approx(20, rel=0.05)
    assert not results["failure"]["found"] and all(safe.values())
    data = open_run(store.paths[run.uid])
    assert data.arrays["current_pulse"].values.shape == (31, 161)
    assert set(PulsedEL.figures(data)) == {"EL", "spectra", "heating"}


def test_other_device_written_by_the_test(tmp_path):
    device = yaml.safe_load((PRESETS_DIR / "qd_led_pulsed.yaml").read_text())
    device["name"] = "other_led"
    device["exciton"]["center"] = "505 nm"
    device["thermal"]["characteristic_temperature"] = "200 K"
    device["device"].update(area="0.02 mm^2", series_resistance="15 ohm")
    device["electroluminescence"].update(threshold="500 A/cm^2", beta=0.02, fwhm="90 meV",
                                         stimulated_fwhm="35 meV", thermal_time="2.5 us",
                                         thermal_resistance="300 K/W", shift="-0.4 meV/K")
    path = tmp_path / "other_led.yaml"
    path.write_text(yaml.safe_dump(device))
    procedure = PulsedEL(area=0.02, amplitude_stop=8, width=0.5, heating_amplitude=3, shift_coefficient=-0.4)
    run, sample, _ = run_on(str(path), procedure, seed=2)
    results = run.stop.results
    assert results["threshold"]["found"] and results["threshold"]["value"] == pytest.approx(500, rel=0.10)
    assert results["fwhm_below_mev"] == pytest.approx(90, rel=0.05)
    assert results["stimulated_fwhm_mev"] == pytest.approx(35, rel=0.05)
    assert results["heating"]["tau_us"] == pytest.approx(2.5, rel=0.10)
    assert results["heating"]["steady_rise_K"] == pytest.approx(sample.heating(3.0, math.inf, sense=10.0), rel=0.10)
    assert results["series_resistance"]["value"] == pytest.approx(15, rel=0.08)


# -- d.c. drive, pulsed source-meter, guards -------------------------------------------------

def test_dc_drive_ends_by_itself_when_the_source_meter_link_is_lost():
    """The link is found dead when the hold's reading is fetched: the bias is already off."""
    procedure = PulsedEL(drive="dc", points=6, amplitude_stop=3.0)
    with Bench.open(time_scale=0, seed=1, sample="qd_led_pulsed",
                    faults=["SourceMeter:disconnect@command=FETC"]) as bench:
        run = Runner(bench).run(procedure)
        smu = bench.sim.twins["SourceMeter"]
        assert run.stop.status == "failed" and "SourceMeter" in run.stop.reason
        # never switched back to 0 V by labctl: the hold's own end took the bias off
        assert smu.get("source_voltage") == procedure.plan()[0].values["amplitude"] > 0
        assert smu.sweep.auto_off and smu.sweep.end <= bench.sim.clock.now()
        assert smu.terminal_voltage() is None
        assert bench.sim.hazards() == {"SourceMeter": "not in its safe state, contained"}


def test_dc_drive_fails_by_overheating_below_the_pulsed_densities():
    procedure = PulsedEL(drive="dc", points=13, amplitude_stop=3.75, detector="hr", slit_width=10)
    run, sample, safe = run_on("qd_led_pulsed", procedure)
    results = run.stop.results
    failure = results["failure"]
    assert failure["found"] and "overheated" in failure["message"] and "EL vanished" in failure["message"]
    assert run.stop.reason.startswith("ended early: device failed at 2.812 V")
    assert run.steps_done == 8 and sample.broken.startswith("overheated")
    assert failure["max_current_density"] < 600          # pulses of the same device: > 1000 A/cm²
    assert not results["threshold"]["found"]
    assert not any("saturated" in w for w in results.get("warnings", []))
    # the EL red shift before the failure: the steady heating at 2.625 V over that at 1.5 V
    intact = Sample.load("qd_led_pulsed")
    rise = intact.heating(2.625, math.inf) - intact.heating(1.5, math.inf)
    assert results["heating"]["max_rise_K"] == pytest.approx(rise, rel=0.05)
    assert safe["SourceMeter"]


def test_dc_spectra_saturate_without_attenuation():
    run, _, _ = run_on("qd_led_pulsed", PulsedEL(drive="dc", points=13, amplitude_stop=3.75))
    assert run.stop.results["failure"]["found"]
    assert any("saturated" in w and "neutral-density" in w for w in run.stop.results["warnings"])


def test_pulsed_source_meter_gives_the_jv_only():
    procedure = PulsedEL(drive="pulsed-smu", width=200, period=10, amplitude_stop=3.5, points=12)
    assert [a.name for a in procedure.schema()[1]] == []
    run, sample, _ = run_on("qd_led_pulsed", procedure)
    results = run.stop.results
    assert run.stop.status == "finished" and run.steps_done == 12
    top = sample.current_density(sample.current(3.5, Environment()))
    assert results["max_current_density"] == pytest.approx(top, rel=0.02)
    assert "threshold" not in results and results["series_resistance"]["value"] == pytest.approx(20, rel=0.08)


def test_current_density_guard_stops_before_the_limit():
    run, _, safe = run_on("qd_led_pulsed", PulsedEL(heating_widths=""),
                          envelope={"max_current_density": "600 A/cm^2", "max_pulse_amplitude": "20 V",
                                    "max_duty_cycle": 0.05})
    assert "would drive about" in run.stop.reason and "max_current_density" in run.stop.reason
    assert 500 < run.stop.results["max_current_density"] <= 600 and all(safe.values())


def test_measured_current_density_beyond_the_envelope_switches_off():
    with Bench.open(time_scale=0, seed=1, sample="qd_led_pulsed") as bench:
        bench.envelope = Envelope.from_config({"max_current_density": "30 A/cm^2"}, "test envelope")
        run = Runner(bench).run(PulsedEL(heating_widths="", points=5))
        assert twin(bench, "PulseGenerator").get("output") in (0, "0")
    assert run.stop.status == "failed" and run.steps_done == 1
    assert run.stop.reason.startswith("measured current_density") and "max_current_density" in run.stop.reason


# -- fail-silent drive ------------------------------------------------------------------------

def bench_with_bnc(tmp_path):
    """The simulated bench with the BNC 575 in the PulseGenerator slot."""
    config = yaml.safe_load(DEFAULT_SIM.read_text())
    config["roles"]["PulseGenerator"] = config["roles"].pop("PulseGenerator.bnc")
    path = tmp_path / "bnc_bench.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_generator_emits_triggered_bursts_only():
    with Bench.open(time_scale=0, seed=1, sample="qd_led_pulsed") as bench:
        run = Runner(bench).run(PulsedEL(heating_widths="", points=2))
        sent = list(twin(bench, "PulseGenerator").device.received)
    assert run.stop.status == "finished" and len(sent) < 200         # the whole log
    on = sent.index(b"OUTP 1")
    assert {b"BURS:MODE TRIG", b"TRIG:SOUR BUS", b"BURS:STAT 1"} <= set(sent[:on])
    assert b"BURS:STAT 0" not in sent and b"*TRG" not in sent[:on]
    triggers = [i for i, message in enumerate(sent) if message == b"*TRG"]
    assert len(triggers) >= 2 * 3                 # per step: two records and a spectrum at least
    assert b"OUTP 0" in sent[triggers[-1]:]       # the teardown, after the last burst


@pytest.mark.parametrize("generator", ["keysight-33500b", "bnc-575"])
def test_link_lost_the_drive_is_off_and_the_steps_kept(tmp_path, generator):
    config = bench_with_bnc(tmp_path) if generator == "bnc-575" else None
    with Bench.open(config, time_scale=0, seed=3, sample="qd_led_pulsed",
                    faults=["PulseGenerator:disconnect@step=3"]) as bench:
        store = RunStore(tmp_path / "runs")
        runner = Runner(bench)
        runner.subscribe(store, critical=True)
        run = runner.run(PulsedEL(amplitude_start=2.0))           # the 575 gives 2 V or more
        hazards = bench.sim.hazards()
        assert bench.config.instruments["PulseGenerator"].model == generator
    assert run.stop.status == "failed" and "VI_ERROR_CONN_LOST" in run.stop.reason
    assert run.steps_done == 3 == len(open_run(store.paths[run.uid]).scalars)
    assert hazards == {"PulseGenerator": "not in its safe state, contained"}   # nothing drives the sample


@pytest.mark.parametrize("lost", [("PulseGenerator",), ("PulseGenerator", "Spectrometer")])
def test_link_lost_during_a_spectrum_the_burst_ends_by_itself(monkeypatch, lost):
    """The generator's cable pulled during an integration (with the spectrometer's: a
    USB hub): the run fails once the burst is over, with nothing driving the device."""
    with Bench.open(time_scale=0, seed=1, sample="qd_led_pulsed") as bench:
        spectrometer = twin(bench, "Spectrometer")
        integrate, driven = spectrometer.spectrum, []

        def cable_pulled_meanwhile():
            if bench.sim.step == 3:
                for slot in lost:
                    twin(bench, slot).device.disconnected = True
            counts = integrate()
            driven.append(bench.sim.optics.environment().drive is not None)
            return counts

        monkeypatch.setattr(spectrometer, "spectrum", cable_pulled_meanwhile)
        run = Runner(bench).run(PulsedEL(period=1000))   # 1 Hz: bursts outlast the shutdown
        hazards = bench.sim.hazards()
    assert run.stop.status == "failed" and "VI_ERROR_CONN_LOST" in run.stop.reason
    assert run.stop.reason.startswith(f"step 3: {lost[-1]} at ")
    assert all(driven)                        # every spectrum, the last one too, under its burst
    assert run.steps_done == 3 and "sample" not in hazards


# -- live views -------------------------------------------------------------------------------

def test_live_views_show_jv_and_el_threshold(qtbot):
    from labctl.gui.views import VIEWS
    from labctl.records import Descriptor, Start, Step

    records = []
    run, _, _ = run_on("qd_led_pulsed", PulsedEL(heating_widths="", points=16), records=records)
    start = next(r for r in records if isinstance(r, Start))
    axes = next(r for r in records if isinstance(r, Descriptor)).axes
    steps = [r for r in records if isinstance(r, Step)]
    jv, el = VIEWS["el-jv"](), VIEWS["el-vs-j"]()
    for view in (jv, el):
        qtbot.addWidget(view)
        view.reset(start)
        view.set_axes(axes)
        view.add_steps(steps)
        view.set_results(run.stop.results)
    x, y = jv.curve.getData()
    assert len(x) == 16 and max(y) == pytest.approx(run.stop.results["max_current_density"])
    assert "resistance" in jv.note.textItem.toPlainText()
    assert "current density" in jv.plot.getPlotItem().getAxis("left").labelText
    assert el.threshold["value"] == pytest.approx(run.stop.results["threshold"]["value"])
    assert el.line.isVisible() and "EL threshold" in el.line.label.format
    assert len(el.stim.getData()[0]) == 16

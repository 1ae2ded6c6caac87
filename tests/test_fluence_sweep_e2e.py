"""End to end on the simulated bench: the fluence sweep recovers the sample's threshold
from its measured spectra -- for the published preset and for a sample written here."""

import pytest
import yaml

from labctl.bench import Bench
from labctl.runner import Runner
from labctl.store import RunStore, open_run
from procedures.fluence_sweep import FluenceSweep
from sim_instruments.sample import PRESETS_DIR, Environment


def true_threshold(bench):
    return bench.sim.sample.threshold_fluence(400.0, Environment(temperature=295.0))


@pytest.mark.parametrize("seed", [11, 12])
def test_preset_threshold_recovered_within_10_percent(seed):
    with Bench.open(time_scale=0, seed=seed) as bench:
        assert true_threshold(bench) == pytest.approx(22.0)
        run = Runner(bench).run(FluenceSweep(points=30))
    threshold = run.stop.results["threshold"]
    assert run.stop.status == "finished" and threshold["found"]
    assert threshold["value"] == pytest.approx(22.0, rel=0.10)
    assert threshold["low"] < threshold["value"] < threshold["high"]
    assert run.stop.results["fwhm_below_nm"] == pytest.approx(23.0, rel=0.15)   # spontaneous band
    assert run.stop.results["fwhm_above_nm"] == pytest.approx(5.0, rel=0.25)    # ASE band


def test_other_sample_written_by_the_test(tmp_path):
    sample = yaml.safe_load((PRESETS_DIR / "cspbbr3_film_fs.yaml").read_text())
    sample["name"] = "test_film"
    sample["stimulated"].update(threshold="45 uJ/cm^2", beta=0.05, center="530 nm", fwhm="7 nm")
    sample["fluctuation"] = 0.08
    sample["brightness"] = 1.5e5
    path = tmp_path / "test_film.yaml"
    path.write_text(yaml.safe_dump(sample))
    with Bench.open(time_scale=0, seed=5, sample=str(path)) as bench:
        assert true_threshold(bench) == pytest.approx(45.0)
        run = Runner(bench).run(FluenceSweep(points=30, fluence_start=5, fluence_stop=300,
                                             window_start=524, window_stop=536))
    threshold = run.stop.results["threshold"]
    assert threshold["found"] and threshold["value"] == pytest.approx(45.0, rel=0.10)
    assert run.stop.results["peak_above_nm"] == pytest.approx(530.0, abs=1.0)


def test_no_threshold_below_it():
    with Bench.open(time_scale=0, seed=3) as bench:
        run = Runner(bench).run(FluenceSweep(points=15, fluence_start=1, fluence_stop=12))
    threshold = run.stop.results["threshold"]
    assert not threshold["found"] and threshold["reason"]


def test_adaptive_sampling_narrows_the_interval():
    with Bench.open(time_scale=0, seed=21) as bench:
        run = Runner(bench).run(FluenceSweep(points=10, adaptive=True, adaptive_precision=0.02,
                                             adaptive_points=16))
    results, threshold = run.stop.results, run.stop.results["threshold"]
    assert 0 < results["adaptive_points"] <= 16 and run.steps_done == 10 + results["adaptive_points"]
    half_width = (threshold["high"] - threshold["low"]) / 2 / threshold["value"]
    assert half_width <= 0.02 or results["adaptive_points"] == 16
    assert threshold["value"] == pytest.approx(22, rel=0.10)


def test_damage_guard_stops_before_a_multiple_of_the_threshold():
    with Bench.open(time_scale=0, seed=22) as bench:
        run = Runner(bench).run(FluenceSweep(points=30, damage_guard=True, guard_multiple=3.0))
    assert run.stop.status == "finished" and "damage guard" in run.stop.reason
    assert run.steps_done < 30 and run.stop.results["points"] == run.steps_done


def test_damage_guard_stops_when_the_output_falls(tmp_path):
    sample = yaml.safe_load((PRESETS_DIR / "cspbbr3_film_fs.yaml").read_text())
    sample["degradation"].update(damage_fluence="60 uJ/cm^2", damage_shots=500)
    path = tmp_path / "fragile.yaml"
    path.write_text(yaml.safe_dump(sample))
    with Bench.open(time_scale=0, seed=23, sample=str(path)) as bench:
        run = Runner(bench).run(FluenceSweep(points=30, fluence_stop=300, damage_guard=True,
                                             guard_multiple=100))
    assert "output fell" in run.stop.reason and run.steps_done < 30


#: The superlattice under the 355-nm ns line on the high-resolution spectrograph (0.29 nm
#: resolution at its 100 µm slit), a 1.5 mm spot (pulse energies well above the
#: pyroelectric head's 2 nJ noise), lasing modes inside 536–541.2 nm.
SUPERLATTICE = dict(line="ns", detector="hr", center_wavelength=537, geometry="spot", spot_diameter=1.5,
                    shots=10, integration_time=1.0, fluence_start=3, fluence_stop=120,
                    separation="narrow", window_start=536, window_stop=541.2, flank_width=3,
                    resolution=0.286)


def stored(bench, tmp_path, procedure):
    """Run on ``bench`` into a run store; the run and its stored data."""
    runner = Runner(bench)
    store = RunStore(tmp_path / "runs")
    runner.subscribe(store, critical=True)
    run = runner.run(procedure)
    return run, open_run(store.paths[run.uid])


def test_superlattice_lasing_threshold_linewidth_and_q(tmp_path):
    """Threshold within 10 % (docs/analysis.md: β = 0.1, 1–3 % noise, 30 points); mode
    linewidth and Q within 5 % (Voigt fit with the resolution, tests/test_analysis_spectra)."""
    with Bench.open(time_scale=0, seed=31, sample="superlattice_ns") as bench:
        assert bench.sim.sample.threshold_fluence(355.0, Environment(temperature=295.0)) == pytest.approx(25.0)
        run, data = stored(bench, tmp_path, FluenceSweep(points=30, **SUPERLATTICE))
    results = run.stop.results
    assert results["threshold"]["found"] and results["threshold"]["value"] == pytest.approx(25.0, rel=0.10)
    assert results["linewidth_nm"] == pytest.approx(0.41, rel=0.05)
    assert results["q_factor"] == pytest.approx(538.5 / 0.41, rel=0.05)          # ≈ 1300
    assert results["modes"] == 3 and results["mode_spacing_nm"] == pytest.approx(1.6, abs=0.02)
    assert results["fwhm_above_nm"] > 3                  # the whole spectrum spans the 3 modes
    lines = dict(FluenceSweep.report(results))
    assert "linewidth 0.4" in lines["lasing modes"] and "Q ≈ 13" in lines["lasing modes"]
    assert set(FluenceSweep.figures(data)) == {"LL", "spectra", "modes"}


def test_exciton_and_biexciton_power_laws_at_10K(tmp_path):
    """X and XX band intensities well below threshold (⟨N⟩ 0.03–0.11) at 10 K under ns
    pumping. There P(N ≥ 2) ∝ N²(1 − 2N/3) and the exciton band saturates as 1 − 0.4·N, so
    the model's own slopes are 0.98 and 1.95; the fits' 95 % intervals are ±0.01 and ±0.03."""
    with Bench.open(time_scale=0, seed=41) as bench:
        cryostat = bench.role("TemperatureController")
        cryostat.set_setpoint(10.0)
        cryostat.wait_until_stable(0.1, 60.0, 7200.0)
        run, data = stored(bench, tmp_path, FluenceSweep(
            two_bands=True, line="ns", detector="hr", center_wavelength=530, geometry="spot",
            spot_diameter=3.0, shots=30, integration_time=60, averages=10, points=12,
            fluence_start=0.5, fluence_stop=2, cross_section=3.2e-14))      # σ at 355 nm
    results = run.stop.results
    occupancy = data.scalars["occupancy"]
    assert 0.02 < occupancy.min() and occupancy.max() < 0.15                # ⟨N⟩ ≪ 1
    laws = results["power_laws"]
    assert laws["exciton"]["slope"] == pytest.approx(1.0, abs=0.05)
    assert laws["biexciton"]["slope"] == pytest.approx(2.0, abs=0.15)
    assert results["binding_energy_mev"] == pytest.approx(50, rel=0.05)
    assert not results["threshold"]["found"]
    assert set(FluenceSweep.figures(data)) == {"LL", "spectra", "bands"}

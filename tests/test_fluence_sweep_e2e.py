"""End to end on the simulated bench: the fluence sweep recovers the sample's threshold
from its measured spectra -- for the published preset and for a sample written here."""

import pytest
import yaml

from labctl.bench import Bench
from labctl.runner import Runner
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
        run = Runner(bench).run(FluenceSweep(points=10, adaptive=True, adaptive_precision=0.03,
                                             adaptive_points=16))
    results, threshold = run.stop.results, run.stop.results["threshold"]
    assert 0 < results["adaptive_points"] <= 16 and run.steps_done == 10 + results["adaptive_points"]
    half_width = (threshold["high"] - threshold["low"]) / 2 / threshold["value"]
    assert half_width <= 0.03 or results["adaptive_points"] == 16
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

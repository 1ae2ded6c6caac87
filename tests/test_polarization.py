"""Polarization-resolved micro-PL on the simulated bench: the dry run against the tunable
line's own limits, and the recovery of the triplet sublevels' DOLP, dipole axes and
fine-structure splitting -- for the published preset and for a sample written here.

Tolerances (docs/analysis.md, "Degree of linear polarization"): the DOLP scatters by
0.006 at 1 % noise and 36 angles, 0.024 at 5 % noise (DOLP 0.85): ±0.02 off resonance
(the lines are ~1 % noisy), ±0.03 on resonance (the stimulated line, 100× brighter,
shortens the integration: ~5 % noise on the sublevels). The splitting: the fitted line
centres carry ≈0.003 meV (0.015 meV on resonance); ±0.02 / ±0.05 meV.
"""

import json
import re

import numpy as np
import pytest
import yaml

from labctl.bench import Bench
from labctl.cli import main
from labctl.errors import PlanRefused
from labctl.records import Analysis, Descriptor, Start, Step
from labctl.runner import Runner
from procedures import linefit
from procedures.polarization import Polarization
from sim_instruments.sample import PRESETS_DIR

from .conftest import received


def axis_difference(a, b):
    """Angle between two polarization axes, degrees in [0, 90]."""
    d = (a - b) % 180
    return min(d, 180 - d)


def run(sample="triplet_4K", seed=1, records=None, **values):
    with Bench.open(time_scale=0, seed=seed, sample=sample) as bench:
        runner = Runner(bench, subscribers=[records.append] if records is not None else [])
        done = runner.run(Polarization(**values))
        assert not bench.analyzer_in_path                       # taken out again
        assert bench.sim.twins["PumpLaser.tunable"].safe_state_reached()
    assert done.stop.status == "finished", done.stop.reason
    return done.stop.results


# -- dry run --------------------------------------------------------------------------
def test_plan_lists_every_angle_with_its_setpoints():
    procedure = Polarization(angle_step=15, fluence="60 mJ/cm2")
    steps = procedure.plan()
    assert [s.values["angle"] for s in steps] == list(np.arange(0, 361, 15.0))
    fluence, energy = steps[0].setpoints
    area = procedure.beam().area                                # cm², the 0.0326 µm spot
    assert (fluence.quantity, fluence.value, fluence.unit) == ("fluence", 60.0, "mJ/cm^2")
    assert energy.quantity == "pulse_energy" and energy.value == pytest.approx(60e3 * area)
    with Bench.open(time_scale=0, sample="triplet_4K") as bench:
        preview = procedure.preview(bench.envelope)
    # 60 mJ/cm² is far above the bench-wide 1 mJ/cm² but inside the tunable line's limit
    assert preview.ok and preview.steps == 25 and preview.setpoints == 50 and preview.duration > 0


@pytest.mark.parametrize("values, limit", [
    ({"fluence": "150 mJ/cm2"}, "max_fluence = 100000 µJ/cm²"),
    ({"fluence": "50 mJ/cm2", "spot_diameter": "2 um"}, "max_pulse_energy = 0.001 µJ"),
])
def test_outside_the_tunable_lines_limits_refused_before_any_instrument(values, limit):
    with Bench.open(time_scale=0, sample="triplet_4K") as bench:
        before = received(bench)
        with pytest.raises(PlanRefused) as info:
            Runner(bench).submit(Polarization(**values))
        assert received(bench) == before
    assert limit in str(info.value) and "beam line tunable" in str(info.value)


def test_parameters_checked():
    with pytest.raises(ValueError, match="angle_stop"):
        Polarization(angle_start=90, angle_stop=10)
    with pytest.raises(ValueError, match="fewer than 4 angles"):
        Polarization(angle_stop=40, angle_step=20)


# -- end to end -----------------------------------------------------------------------
def test_preset_off_resonant_recovers_sublevels_stimulated_line_and_splitting():
    results = run()                                             # 495 nm, 60 mJ/cm²
    lines = results["lines"]
    for name in ("upper", "lower"):                             # 0.95 × 0.9 off resonance
        assert lines[name]["dolp"] == pytest.approx(0.855, abs=0.02)
        assert lines[name]["dolp_error"] < 0.01
    assert lines["stimulated"]["dolp"] == pytest.approx(1.0, abs=0.02)
    assert lines["background"]["dolp"] == pytest.approx(0.1, abs=0.03)    # far less polarized
    assert axis_difference(lines["lower"]["theta0"], 0) < 1
    assert axis_difference(lines["upper"]["theta0"], 90) < 1
    assert axis_difference(lines["stimulated"]["theta0"], 90) < 1
    assert results["splitting"]["value"] == pytest.approx(2.0, abs=0.02)
    assert results["splitting"]["error"] < 0.02
    assert lines["upper"]["energy_ev"] == pytest.approx(2.337, abs=0.0005)   # 2.335 / 2.337 eV
    assert lines["lower"]["energy_ev"] == pytest.approx(2.335, abs=0.0005)
    assert lines["stimulated"]["wavelength"] == pytest.approx(531.3, abs=0.01)


def test_resonant_pumping_polarizes_the_sublevels_more():
    off = run(angle_step=15)["lines"]
    on = run(wavelength=531, angle_step=15, seed=2)["lines"]
    for name in ("upper", "lower"):
        assert on[name]["dolp"] == pytest.approx(0.95, abs=0.03)
        error = np.hypot(on[name]["dolp_error"], off[name]["dolp_error"])
        assert on[name]["dolp"] - off[name]["dolp"] > 3 * error
    assert on["stimulated"]["dolp"] == pytest.approx(1.0, abs=0.02)
    assert on["stimulated"]["wavelength"] == pytest.approx(531.6, abs=0.01)     # red-shifted on resonance


def test_other_sample_written_by_the_test(tmp_path):
    sample = yaml.safe_load((PRESETS_DIR / "triplet_4K.yaml").read_text())
    sample["name"] = "test_dots"
    sample["stimulated"]["center"] = "531.8 nm"
    sample["polarization"].update(splitting="3 meV", dolp=0.7, off_resonance_dolp=1.0, angle="30 deg",
                                  stimulated_dolp=0.9, background_dolp=0.2)
    path = tmp_path / "test_dots.yaml"
    path.write_text(yaml.safe_dump(sample))
    results = run(str(path), seed=3)
    lines = results["lines"]
    for name in ("upper", "lower"):
        assert lines[name]["dolp"] == pytest.approx(0.7, abs=0.02)
    assert lines["stimulated"]["dolp"] == pytest.approx(0.9, abs=0.02)
    assert lines["background"]["dolp"] == pytest.approx(0.2, abs=0.03)
    assert axis_difference(lines["lower"]["theta0"], 30) < 1
    assert axis_difference(lines["upper"]["theta0"], 120) < 1
    assert axis_difference(lines["stimulated"]["theta0"], 120) < 1
    assert results["splitting"]["value"] == pytest.approx(3.0, abs=0.02)


def test_cli_json_results_figure_and_reanalysis(capsys, tmp_path):
    status = main(["run", "polarization", "--sim", "--sample", "triplet_4K", "--time-scale", "0",
                   "--set", "angle_step=20", "--json", "--out", str(tmp_path)])
    result = json.loads(capsys.readouterr().out)
    assert status == 0 and result["status"] == "finished" and result["steps"] == 19 + 2
    assert result["results"]["splitting"]["value"] == pytest.approx(2.0, abs=0.02)
    assert [f.rsplit("_", 1)[1] for f in result["figures"]] == ["polarization.png"]
    assert main(["analyze", result["run_file"], "--json"]) == 0
    again = json.loads(capsys.readouterr().out)["results"]
    assert again["lines"]["lower"]["dolp"] == pytest.approx(result["results"]["lines"]["lower"]["dolp"])


# -- line decomposition ---------------------------------------------------------------
def test_lines_on_the_flank_of_a_brighter_one_are_separated():
    rng = np.random.default_rng(4)
    wl = np.linspace(528, 534, 110)
    centers, fwhms, areas_ = (530.5, 531.0, 531.3), (0.2, 0.2, 0.27), (300.0, 300.0, 3000.0)
    sigmas = np.array(fwhms) / 2.3548
    expected = 50 + sum(a * np.exp(-0.5 * ((wl - c) / s) ** 2) / (s * np.sqrt(2 * np.pi))
                        for c, s, a in zip(centers, sigmas, areas_))
    spectra = rng.poisson(np.vstack([expected, expected])).astype(float)
    lines, areas = linefit.survey(wl, spectra)
    assert np.allclose(lines.centers, centers, atol=0.01)
    assert np.allclose(areas.mean(axis=0), areas_, rtol=0.05)


# -- live view ------------------------------------------------------------------------
def test_polar_view_shows_points_and_malus_fits(qtbot):
    from labctl.gui.views import make_views

    records = []
    run(records=records, angle_step=30)
    views = make_views(Polarization)
    polar = views[0]
    qtbot.addWidget(polar)
    polar.reset(next(r for r in records if isinstance(r, Start)))
    polar.set_axes(next(r for r in records if isinstance(r, Descriptor)).axes)
    polar.add_steps([r for r in records if isinstance(r, Step)])
    polar.set_results([r for r in records if isinstance(r, Analysis)][-1].results)
    x, y = polar.points["lower"].getData()
    assert len(x) == 13 + 2                                    # 0…360° by 30°, two along the dipoles
    assert np.max(np.hypot(x, y)) == pytest.approx(1.0, abs=0.05)        # normalized to the fit
    fx, fy = polar.fits["upper"].getData()
    assert np.degrees(np.arctan2(fy, fx))[np.argmax(np.hypot(fx, fy))] % 180 == pytest.approx(90, abs=2)
    assert re.search(r"lower: DOLP 0\.8\d\d ± 0\.00\d", polar.label.text())
    assert re.search(r"splitting (1\.99|2\.00)\d ± ", polar.label.text())
    assert polar.angle.maxlen == polar.keep                    # bounded memory

"""Excitation scan on the simulated bench: constant photon fluence across the pump
wavelengths, the dry run against the tunable line's limits, and the recovery of the
resonance, the enhancement of stimulated over spontaneous emission and the SE red shift
-- for the published preset and for a sample written here.

The truth is the sample model's own emission (``Sample.emission``, noise-free, with and
without its stimulated band) at the scan point of the strongest SE. Tolerances: the
fitted line areas carry the lines' shot noise -- ≈0.3 % for the SE line, ≈3 % for the
weak sublevels on resonance (SE-limited integration); ±5 % on the SE enhancement, ±10 %
on the spontaneous one. The resonance is a parabola through three scan points 0.5 nm
apart: ±0.15 nm. The SE peak is a fitted line centre (±0.001 nm): ±0.01 nm.
"""

import copy

import numpy as np
import pytest
import yaml

from labctl.analysis import pump
from labctl.bench import Bench
from labctl.errors import PlanRefused
from labctl.records import Analysis, Descriptor, Start, Step
from labctl.runner import Runner
from procedures.excitation_scan import ExcitationScan
from sim_instruments.sample import PRESETS_DIR, Environment, Pump, Sample

from .conftest import received


def truth(sample, reference, wavelength, fluence_mj=60.0):
    """(SE enhancement, spontaneous enhancement, SE shift in nm) from the model at the
    same photon fluence as ``fluence_mj`` at ``reference``."""
    wl = np.linspace(520, 545, 25001)
    quiet = copy.deepcopy(sample)
    quiet.p.stimulated.center += 1000.0         # the amplified band out of the window

    def parts(lam):
        beam = Pump(lam, fluence_mj * 1e3 * reference / lam, 10e-12, 78e6)
        total = sample.emission(wl, beam, Environment(temperature=4.0))
        spont = quiet.emission(wl, beam, Environment(temperature=4.0))
        se = total - spont
        return np.trapezoid(se, wl), np.trapezoid(spont, wl), np.sum(wl * se) / np.sum(se)
    se_res, sp_res, peak_res = parts(wavelength)
    se_ref, sp_ref, peak_ref = parts(reference)
    return se_res / se_ref, sp_res / sp_ref, peak_res - peak_ref


def run(sample="triplet_4K", seed=1, records=None, **values):
    with Bench.open(time_scale=0, seed=seed, sample=sample) as bench:
        runner = Runner(bench, subscribers=[records.append] if records is not None else [])
        done = runner.run(ExcitationScan(**values))
        assert bench.sim.twins["PumpLaser.tunable"].safe_state_reached()
    assert done.stop.status == "finished", done.stop.reason
    return done.stop.results


# -- dry run --------------------------------------------------------------------------
def test_plan_keeps_the_photon_fluence_constant():
    procedure = ExcitationScan(wavelength_start=520, wavelength_stop=540, wavelength_step=1, fluence=60)
    steps = procedure.plan()
    assert [s.values["wavelength"] for s in steps] == [495.0] + list(np.arange(520, 541, 1.0))
    assert steps[0].values["reference"] == 1 and all(s.values["reference"] == 0 for s in steps[1:])
    photons = [pump.photon_fluence(s.setpoints[0].value * 1e3, s.values["wavelength"]) for s in steps]
    assert np.allclose(photons, photons[0], rtol=1e-12)
    assert steps[0].setpoints[0].value == 60.0
    assert steps[-1].setpoints[0].value == pytest.approx(60 * 495 / 540)
    with Bench.open(time_scale=0, sample="triplet_4K") as bench:
        preview = procedure.preview(bench.envelope)
    assert preview.ok and preview.steps == 22 and preview.setpoints == 44


def test_no_reference_makes_the_first_wavelength_the_reference():
    steps = ExcitationScan(reference_wavelength=0, wavelength_start=525, wavelength_stop=530).plan()
    assert steps[0].values == {"wavelength": 525.0, "reference": 1} and len(steps) == 11


def test_outside_the_tunable_lines_limit_refused_before_any_instrument():
    with Bench.open(time_scale=0, sample="triplet_4K") as bench:
        before = received(bench)
        with pytest.raises(PlanRefused) as info:
            Runner(bench).submit(ExcitationScan(fluence="120 mJ/cm2"))
        assert received(bench) == before
    assert "(beam line tunable): max_fluence = 100000 µJ/cm²" in str(info.value)


# -- end to end -----------------------------------------------------------------------
def test_preset_resonance_enhancement_and_red_shift():
    records = []
    results = run(records=records)
    steps = [r.scalars for r in records if isinstance(r, Step)]
    photons = np.array([s["photon_fluence"] for s in steps])
    assert np.allclose(photons, photons[0], rtol=0.02)                # constant photon fluence
    assert results["resonance"]["wavelength"] == pytest.approx(531.0, abs=0.15)
    se, spont, shift = truth(Sample.load("triplet_4K"), 495.0, results["strongest_wavelength"])
    assert results["stimulated_enhancement"] == pytest.approx(se, rel=0.05)
    assert results["spontaneous_enhancement"] == pytest.approx(spont, rel=0.10)
    assert results["red_shift"]["value"] == pytest.approx(shift, abs=0.01)
    # the published picture: SE an order of magnitude up, spontaneous ≈ +30 %, SE red-shifted
    assert 8 < results["stimulated_enhancement"] < 20
    assert results["spontaneous_enhancement"] == pytest.approx(1.3, rel=0.1)
    assert results["red_shift"]["value"] > 10 * results["red_shift"]["error"] > 0


def test_other_sample_written_by_the_test(tmp_path):
    data = yaml.safe_load((PRESETS_DIR / "triplet_4K.yaml").read_text())
    data["name"] = "test_resonance"
    data["resonance"].update(wavelength="527.3 nm", width="2 nm", absorption=1.6, gain=5, red_shift="0.5 nm")
    path = tmp_path / "test_resonance.yaml"
    path.write_text(yaml.safe_dump(data))
    results = run(str(path), seed=4, wavelength_start=522, wavelength_stop=534)
    assert results["resonance"]["wavelength"] == pytest.approx(527.3, abs=0.15)
    se, spont, shift = truth(Sample.load(path), 495.0, results["strongest_wavelength"])
    assert results["stimulated_enhancement"] == pytest.approx(se, rel=0.05)
    assert results["spontaneous_enhancement"] == pytest.approx(spont, rel=0.10)
    assert results["red_shift"]["value"] == pytest.approx(shift, abs=0.01)


# -- live view ------------------------------------------------------------------------
def test_excitation_view_normalizes_to_the_reference(qtbot):
    from labctl.gui.views import make_views

    records = []
    results = run(records=records, wavelength_start=528, wavelength_stop=534)
    view = make_views(ExcitationScan)[0]
    qtbot.addWidget(view)
    view.reset(next(r for r in records if isinstance(r, Start)))
    view.set_axes(next(r for r in records if isinstance(r, Descriptor)).axes)
    view.add_steps([r for r in records if isinstance(r, Step)])
    view.set_results([r for r in records if isinstance(r, Analysis)][-1].results)
    x, y = view.stimulated.xData, view.stimulated.yData             # data, not log10 of it
    assert list(x) == list(np.arange(528, 534.1, 0.5))            # the reference is apart
    assert y.max() == pytest.approx(results["stimulated_enhancement"], rel=1e-6)
    assert view.resonance.isVisible() and view.resonance.value() == pytest.approx(531, abs=0.15)
    label = f"resonance {results['resonance']['wavelength']:.2f} nm\nSE ×"
    assert view.resonance.label.format.startswith(label)
    assert view.peak.yData.max() == pytest.approx(531.6, abs=0.01)
    assert view.data["se_peak"].maxlen == view.keep                 # bounded memory

"""Malus's law, degree of linear polarization, fine-structure splitting."""

import numpy as np
import pytest

from labctl.analysis import models, polarization, synthetic


@pytest.mark.parametrize("dolp, theta0", [(0.85, 30.0), (1.0, 120.0), (0.3, 0.0)])
def test_malus_recovers_axis_and_dolp(dolp, theta0):
    pulls = []
    for seed in range(20):
        angles, intensity = synthetic.malus_curve(np.random.default_rng(seed), dolp=dolp, theta0=theta0)
        fit = polarization.malus(angles, intensity)
        assert fit["dolp"] == pytest.approx(dolp, abs=0.03)
        assert (fit["theta0"] - theta0 + 90) % 180 - 90 == pytest.approx(0, abs=2.0)
        assert fit["i_min"] + fit["i_max"] == pytest.approx(1000.0, rel=0.03)
        pulls.append((fit["dolp"] - dolp) / fit.error("dolp"))
    assert 0.6 < np.std(pulls) < 1.5          # honest uncertainties


def test_malus_with_known_sigma_and_few_angles():
    angles = np.array([0.0, 45.0, 90.0, 135.0])
    intensity = models.malus(angles, 100.0, 800.0, 10.0)
    fit = polarization.malus(angles, intensity, sigma=1.0)
    assert fit["i_min"] == pytest.approx(100.0) and fit["i_max"] == pytest.approx(800.0)
    assert fit["theta0"] == pytest.approx(10.0)
    assert fit.error("dolp") > 0
    with pytest.raises(ValueError, match="at least 4"):
        polarization.malus(angles[:3], intensity[:3])


def test_malus_per_peak_of_two_orthogonal_sublevels():
    rng = np.random.default_rng(3)
    wl = np.arange(525.0, 537.0, 0.02)
    angles = np.arange(0.0, 181.0, 15.0)
    e1, e2 = 2.335, 2.337
    rows = []
    for a in angles:
        p1 = models.malus(a, 0.15, 0.85, 20.0)          # DOLP ≈ 0.74
        p2 = models.malus(a, 0.0, 1.0, 110.0)           # DOLP 1
        spectrum = models.lorentzian(wl, 1239.84 / e1, 0.1, p1) + models.lorentzian(wl, 1239.84 / e2, 0.1, p2)
        rows.append(spectrum + 0.01 * rng.standard_normal(wl.size))
    windows = [(1239.84 / e1 - 0.2, 1239.84 / e1 + 0.2), (1239.84 / e2 - 0.2, 1239.84 / e2 + 0.2)]
    first, second = polarization.malus_per_peak(angles, wl, rows, windows)
    assert first["theta0"] == pytest.approx(20.0, abs=3) and second["theta0"] == pytest.approx(110.0, abs=3)
    assert second["dolp"] > 0.9 and first["dolp"] < second["dolp"]


def test_fine_structure_splitting():
    rng = np.random.default_rng(4)
    wl = np.arange(528.0, 534.0, 0.01)
    e1, e2 = 2.337, 2.335
    parallel = 100 + models.lorentzian(wl, 1239.84193 / e1, 0.15, 300.0) + rng.normal(0, 5, wl.size)
    perpendicular = 100 + models.lorentzian(wl, 1239.84193 / e2, 0.15, 300.0) + rng.normal(0, 5, wl.size)
    fit = polarization.fine_structure_splitting(wl, parallel, perpendicular)
    assert fit["splitting"] == pytest.approx(2.0, abs=0.1)
    assert fit["e_parallel"] == pytest.approx(e1, abs=1e-4)
    assert 0 < fit.error("splitting") < 0.1

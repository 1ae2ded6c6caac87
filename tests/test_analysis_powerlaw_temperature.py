"""Power-law slopes; thermal quenching, peak shift and broadening versus temperature."""

import numpy as np
import pytest

from labctl.analysis import models, powerlaw, temperature


@pytest.mark.parametrize("slope", [1.01, 1.99])
def test_power_law_slope_and_interval(slope):
    covered = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        x = np.geomspace(1, 100, 12)
        y = 5 * x ** slope * (1 + 0.05 * rng.standard_normal(x.size))
        fit = powerlaw.power_law(x, y)
        low, high = fit.interval("slope")
        covered += low <= slope <= high
        assert fit["slope"] == pytest.approx(slope, abs=0.05)
    assert covered >= 35


def test_power_law_skips_nonpositive_points_and_uses_a_window():
    x = np.array([0.0, 1, 2, 4, 8, 16, 32, 64])
    y = x ** 2
    y[3] = -1.0
    fit = powerlaw.power_law(x, y, window=(1.5, 40))
    assert fit["slope"] == pytest.approx(2.0)
    assert fit.excluded == [0, 1, 3, 7]
    with pytest.raises(ValueError, match="at least 3"):
        powerlaw.power_law([1, 2], [1, 4])


def test_thermal_quenching_binding_energy():
    rng = np.random.default_rng(2)
    t = np.linspace(10, 350, 25)
    i = models.thermal_quenching(t, 1000.0, 500.0, 0.116) * (1 + 0.02 * rng.standard_normal(t.size))
    fit = temperature.thermal_quenching(t, i)
    assert fit["e_b"] == pytest.approx(116.0, rel=0.1)
    assert fit["i0"] == pytest.approx(1000.0, rel=0.03)
    assert abs(fit["e_b"] - 116.0) < 4 * fit.error("e_b")


def test_peak_shift():
    t = np.linspace(10, 300, 15)
    energy = 2.40 + 0.3e-3 * t                   # blue shift with temperature, as in CsPbBr3
    fit = temperature.peak_shift(t, 1239.84193 / energy)
    assert fit["slope"] == pytest.approx(0.3, rel=0.01)
    assert fit["energy0"] == pytest.approx(2.40, abs=1e-3)
    assert temperature.peak_shift(t, energy, unit="eV")["slope"] == pytest.approx(0.3, rel=1e-6)


def test_broadening_with_known_phonon_energy():
    rng = np.random.default_rng(3)
    t = np.linspace(10, 300, 25)
    w = models.phonon_broadening(t, 40.0, 0.0, 60.0, 0.025) + 0.2 * rng.standard_normal(t.size)
    fit = temperature.broadening(t, w, acoustic=False)
    assert fit["gamma0"] == pytest.approx(40.0, abs=1.0)
    assert fit["gamma_lo"] == pytest.approx(60.0, rel=0.15)
    assert fit["e_lo"] == pytest.approx(25.0, rel=0.15)
    assert fit.error("gamma_ac") == 0.0
    # With the acoustic term free the curve is still reproduced (the terms trade off).
    full = temperature.broadening(t, w, e_lo=25.0)
    curve = models.phonon_broadening(t, full["gamma0"], full["gamma_ac"], full["gamma_lo"], 0.025)
    assert np.abs(curve - w).max() < 1.0
    assert full.error("e_lo") == 0.0

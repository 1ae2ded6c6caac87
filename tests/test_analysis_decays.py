"""Multi-exponential decays with Gaussian or measured IRF; streak windows."""

import numpy as np
import pytest

from labctl.analysis import decays, models, synthetic


def test_single_exponential():
    t, counts = synthetic.decay_curve(np.random.default_rng(1), lifetimes=(3.1,), amplitudes=(1.0,))
    fit = decays.fit_decay(t, counts, 1)
    assert fit["tau1"] == pytest.approx(3.1, rel=0.02)
    assert fit["t0"] == pytest.approx(0.5, abs=0.01)
    assert fit["background"] == pytest.approx(5.0, abs=1.0)


def test_exciton_and_auger_with_a_gaussian_irf():
    pulls = []
    for seed in range(6):
        t, counts = synthetic.decay_curve(np.random.default_rng(seed))
        fit = decays.fit_decay(t, counts, 2)
        assert fit["tau1"] == pytest.approx(0.105, rel=0.1)
        assert fit["tau2"] == pytest.approx(3.1, rel=0.02)
        assert fit["irf_fwhm"] == pytest.approx(0.03, rel=0.2)
        pulls.append((fit["tau2"] - 3.1) / fit.error("tau2"))
    assert np.max(np.abs(pulls)) < 4


def test_three_components_and_a_fixed_irf():
    t = np.linspace(0, 20, 2000)
    t_, counts = synthetic.decay_curve(np.random.default_rng(2), lifetimes=(0.05, 0.5, 5.0),
                                       amplitudes=(0.5, 0.3, 0.2), peak_counts=2e4, t=t)
    fit = decays.fit_decay(t, counts, 3, irf_fwhm=0.03, fix_irf=True)
    assert fit["tau1"] == pytest.approx(0.05, rel=0.2)
    assert fit["tau2"] == pytest.approx(0.5, rel=0.1)
    assert fit["tau3"] == pytest.approx(5.0, rel=0.05)
    assert fit.error("irf_fwhm") == 0.0


def test_measured_irf_and_time_zero_shift():
    rng = np.random.default_rng(3)
    t = np.linspace(0, 10, 1000)
    irf = synthetic.gaussian_irf(t, 1.0, 0.05)        # measured at t = 1.0
    _, counts = synthetic.decay_curve(rng, lifetimes=(0.3, 2.5), amplitudes=(0.6, 0.4), t0=1.7,
                                      irf_fwhm=0.05, t=t)
    fit = decays.fit_decay(t, counts, 2, irf=irf)
    assert fit["t0"] == pytest.approx(1.7, abs=0.01)
    assert fit["tau1"] == pytest.approx(0.3, rel=0.1)
    assert fit["tau2"] == pytest.approx(2.5, rel=0.03)
    assert "irf_fwhm" not in fit.values
    assert decays.average_lifetime(fit) == pytest.approx((0.6 * 0.09 + 0.4 * 6.25) / (0.18 + 1.0), rel=0.05)


def test_component_count_is_checked():
    with pytest.raises(ValueError, match="1, 2 or 3"):
        decays.fit_decay(np.arange(10.0), np.ones(10), 4)


def test_streak_windows():
    t = np.linspace(0, 5, 200)
    wl = np.arange(500.0, 540.0, 0.5)
    image = (models.exp_decay(t, [1.0], [3.0])[:, None] * models.gaussian(wl, 514.5, 20.0)[None, :]
             + models.exp_decay(t, [5.0], [0.05])[:, None] * models.gaussian(wl, 530.0, 4.0)[None, :])
    spont, stim = decays.streak_decays(t, wl, image, [(505.0, 515.0), (527.0, 533.0)])
    assert spont.shape == t.shape
    late = t > 1.0
    assert np.polyfit(t[late], np.log(spont[late]), 1)[0] == pytest.approx(-1 / 3.0, rel=0.01)
    assert stim[0] / stim[-1] > 10 * spont[0] / spont[-1]     # stimulated emission is fast
    with pytest.raises(ValueError, match="no pixel"):
        decays.streak_decays(t, wl, image, [(600.0, 610.0)])
    with pytest.raises(ValueError, match="does not match"):
        decays.streak_decays(t[:-1], wl, image, [(505.0, 515.0)])

"""find_threshold on synthetic S-curve data with known truth (seeded)."""

import math

import numpy as np
import pytest

from labctl.analysis import models, synthetic
from labctl.analysis.threshold import ThresholdResult, find_threshold


def curve(seed, **kw):
    return synthetic.light_curve(np.random.default_rng(seed), **kw)


@pytest.mark.parametrize("beta", [1e-4, 1e-2, 0.1])
def test_recovers_the_threshold_across_beta(beta):
    for seed in range(5):
        lc = curve(seed, threshold=22.0, beta=beta, pump=synthetic.pumps(2, 150, 30), noise=0.02)
        r = find_threshold(lc.pump, lc.output, unit="uJ/cm^2")
        assert r.found, r.reason
        assert r.threshold == pytest.approx(22.0, rel=0.05)
        assert r.low < r.threshold < r.high
        assert r.beta == pytest.approx(beta, rel=0.5) or beta < 1e-3
        assert r.unit == "uJ/cm^2"


def test_defined_threshold_is_the_onset_of_stimulated_output_not_the_upper_line_zero():
    # At β = 0.1 the upper asymptote of the raw S-curve reaches zero at x_th(1 − β);
    # the threshold of the papers (spontaneous part βx removed) is x_th itself.
    x = synthetic.pumps(0.2, 5, 60)
    r = find_threshold(x, models.s_curve(x, 1.0, 0.1) * (1 + 1e-3 * np.random.default_rng(0).standard_normal(60)))
    assert r.threshold == pytest.approx(1.0, rel=0.01)
    assert r.methods["s-curve"].threshold == pytest.approx(1.0, rel=0.01)


def test_eight_points_linear_spacing_and_noise():
    hits = 0
    for seed in range(20):
        lc = curve(seed, threshold=5.0, beta=1e-3, pump=synthetic.pumps(0.5, 12, 8, "linear"), noise=0.03)
        r = find_threshold(lc.pump, lc.output)
        hits += r.found and abs(r.threshold / 5 - 1) < 0.1
    assert hits >= 19


def test_interval_covers_the_truth_about_95_percent():
    covered = found = 0
    for seed in range(60):
        lc = curve(100 + seed, threshold=1.0, beta=0.01, pump=synthetic.pumps(0.2, 6, 25), noise=0.05)
        r = find_threshold(lc.pump, lc.output)
        found += r.found
        covered += r.found and r.low <= 1.0 <= r.high
    assert found == 60
    assert 0.85 <= covered / found <= 1.0


def test_total_emission_with_saturating_spontaneous_background():
    for seed in range(5):
        lc = curve(seed, threshold=10.0, beta=1e-3, pump=synthetic.pumps(1, 60, 40), noise=0.01,
                   spontaneous=1.0)
        r = find_threshold(lc.pump, lc.output)
        assert r.found, r.reason
        assert r.threshold == pytest.approx(10.0, rel=0.1)
        assert r.methods["s-curve"].detail["background"] == "saturating"


def test_negative_values_below_threshold_and_an_offset():
    lc = curve(3, threshold=20.0, beta=1e-4, pump=synthetic.pumps(2, 150, 30), noise=0.03, floor=3e-3)
    r = find_threshold(lc.pump, lc.output - 0.01 * lc.output.max())
    assert (lc.output - 0.01 * lc.output.max() < 0).any()
    assert r.found and r.threshold == pytest.approx(20.0, rel=0.05)


@pytest.mark.parametrize("kind", ["linear", "saturating", "biexciton"])
def test_no_threshold_in_curves_without_a_kink(kind):
    rng = np.random.default_rng(7)
    x = synthetic.pumps(1, 100, 30)
    clean = {"linear": 3 * x, "saturating": 1 - np.exp(-x / 20), "biexciton": x + x ** 2 / 30}[kind]
    for _ in range(5):
        y = clean * (1 + 0.02 * rng.standard_normal(x.size))
        r = find_threshold(x, y)
        assert not r.found
        assert r.reason.startswith("no kink")
        assert math.isnan(r.threshold)


def test_no_threshold_when_every_point_is_above_it():
    lc = curve(1, threshold=1.0, beta=1e-3, pump=synthetic.pumps(2, 50, 20), noise=0.02)
    r = find_threshold(lc.pump, lc.output)
    assert not r.found
    assert "above threshold" in r.reason


def test_no_threshold_when_it_lies_above_the_range():
    lc = curve(1, threshold=100.0, beta=1e-2, pump=synthetic.pumps(1, 40, 20), noise=0.02)
    r = find_threshold(lc.pump, lc.output)
    assert not r.found


def test_too_few_points():
    r = find_threshold([1, 2, 3, 4], [0, 0, 1, 2])
    assert not r.found and "usable points" in r.reason


def test_saturated_points_are_excluded_with_a_warning():
    lc = curve(2, threshold=20.0, beta=1e-2, pump=synthetic.pumps(2, 150, 30), noise=0.02)
    y = lc.output.copy()
    y[-4:] = y[-5]                       # clipped spectra: the output stops rising
    saturated = np.zeros(30, bool)
    saturated[-4:] = True
    r = find_threshold(lc.pump, y, saturated=saturated)
    assert r.excluded == [26, 27, 28, 29]
    assert any("saturated detector" in w for w in r.warnings)
    assert r.threshold == pytest.approx(20.0, rel=0.05)


def test_sample_damage_at_the_top_is_excluded():
    lc = curve(4, threshold=20.0, beta=1e-2, pump=synthetic.pumps(2, 150, 30), noise=0.02)
    y = lc.output.copy()
    y[-3:] *= [0.6, 0.4, 0.3]
    r = find_threshold(lc.pump, y)
    assert r.excluded == [27, 28, 29]
    assert any("damage" in w for w in r.warnings)
    assert r.threshold == pytest.approx(20.0, rel=0.05)


def test_noisy_top_is_not_mistaken_for_damage():
    for seed in range(10):
        lc = curve(seed, threshold=20.0, beta=1e-2, pump=synthetic.pumps(2, 150, 60), noise=0.08)
        r = find_threshold(lc.pump, lc.output)
        assert not any("damage" in w for w in r.warnings)


@pytest.mark.parametrize("index", [5, 17, 24])
def test_an_outlier_is_excluded(index):
    lc = curve(5, threshold=20.0, beta=1e-2, pump=synthetic.pumps(2, 150, 30), noise=0.02)
    y = lc.output.copy()
    y[index] += 0.3 * y.max()
    r = find_threshold(lc.pump, y)
    assert index in r.excluded
    assert any("outlier" in w for w in r.warnings)
    assert r.threshold == pytest.approx(20.0, rel=0.05)


def test_unsorted_input_and_invalid_points():
    lc = curve(6, threshold=20.0, beta=1e-2, pump=synthetic.pumps(2, 150, 30), noise=0.02)
    order = np.random.default_rng(0).permutation(30)
    x, y = lc.pump[order].copy(), lc.output[order].copy()
    x[0], y[1] = np.nan, np.inf
    r = find_threshold(x, y)
    assert r.found and r.threshold == pytest.approx(20.0, rel=0.05)
    assert sorted(r.excluded) == [0, 1] and r.points == 28


def test_pump_unit_does_not_change_the_threshold():
    lc = curve(8, threshold=20.0, beta=1e-2, pump=synthetic.pumps(2, 150, 30), noise=0.02)
    a = find_threshold(lc.pump, lc.output, unit="uJ/cm^2")
    b = find_threshold(lc.pump * 1e-3, lc.output, unit="mJ/cm^2")
    n = find_threshold(lc.pump / 20.0 * 1.1, lc.output, unit="<N>")
    assert b.threshold == pytest.approx(a.threshold * 1e-3, rel=1e-3)
    assert n.threshold == pytest.approx(a.threshold / 20.0 * 1.1, rel=1e-3)
    assert b.low == pytest.approx(a.low * 1e-3, rel=1e-3)


def test_methods_agree_and_are_combined():
    lc = curve(9, threshold=20.0, beta=1e-3, pump=synthetic.pumps(2, 150, 40), noise=0.02)
    r = find_threshold(lc.pump, lc.output, lc.linewidth)
    assert set(r.methods) == {"s-curve", "two-segment", "linewidth"}
    assert "s-curve" in r.agree and "two-segment" in r.agree
    assert r.method == "consensus of s-curve, two-segment"
    assert r.methods["two-segment"].threshold == pytest.approx(20.0, rel=0.05)
    # The linewidth collapse lies where the narrow band takes over, above the onset.
    assert 20.0 < r.methods["linewidth"].threshold < 30.0
    assert not any("linewidth" in w for w in r.warnings)         # where it should be: no warning
    assert r.slope_above > 10 * r.slope_below > 0


def test_known_sigma_is_used():
    rng = np.random.default_rng(10)
    x = synthetic.pumps(2, 150, 30)
    clean = models.s_curve(x, 20.0, 1e-2)
    sigma = 0.02 * clean + 0.01
    y = clean + sigma * rng.standard_normal(30)
    r = find_threshold(x, y, sigma=sigma)
    assert r.found and r.threshold == pytest.approx(20.0, rel=0.05)
    assert math.isnan(r.methods["s-curve"].detail["relative_noise"])


def test_result_interface():
    lc = curve(11, threshold=20.0, beta=1e-2, pump=synthetic.pumps(2, 150, 30), noise=0.02)
    r = find_threshold(lc.pump, lc.output, lc.linewidth, unit="uJ/cm^2")
    assert isinstance(r, ThresholdResult)
    d = r.as_dict()
    for key in ("found", "threshold", "low", "high", "method", "unit", "reason", "beta", "slope_below",
                "slope_above", "agree", "methods", "excluded", "warnings", "points"):
        assert key in d
    assert d["methods"]["s-curve"]["name"] == "s-curve"
    assert r.points == 30


def test_no_threshold_when_the_output_bends_up_without_narrowing():
    """A sub-threshold sweep at 10 K (what the two-band fluence-sweep test measures): the
    template-subtracted output is the biexciton band, superlinear, and the spectrum does
    not narrow. On the output alone it passes for a kink; the linewidth vetoes it."""
    fluence = [0.5085, 0.5684, 0.6455, 0.7272, 0.8344, 0.9367, 1.065, 1.2, 1.37, 1.569, 1.753, 2.014]
    output = [-0.3366, 1.917, 5.995, 10.68, 17.81, 27.23, 38.5, 54.54, 78.28, 109.7, 144.2, 196.4]
    fwhm = [8.725, 8.726, 8.717, 8.742, 8.75, 8.777, 8.764, 8.782, 8.805, 8.822, 8.825, 8.859]
    assert find_threshold(fluence, output).found
    r = find_threshold(fluence, output, fwhm)
    assert not r.found and "linewidth does not narrow" in r.reason

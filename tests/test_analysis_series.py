"""Thresholds and gains versus a control variable, and linear trends."""

import numpy as np
import pytest

from labctl.analysis import series, synthetic


def test_trend_weighted_and_unweighted():
    bias = np.array([0.0, 5, 10, 15, 20])
    threshold = 68.0 - 1.8 * bias
    fit = series.trend(bias, threshold + np.array([0.5, -0.5, 0.3, -0.2, 0.1]), error=np.full(5, 1.0))
    assert fit["slope"] == pytest.approx(-1.8, abs=0.1)
    assert fit["change"] == pytest.approx(32.0 / 68.0, rel=0.03)
    assert series.trend(bias, threshold)["slope"] == pytest.approx(-1.8)
    assert series.trend([0, 1, np.nan], [1, 2, 3]).excluded == [2]
    with pytest.raises(ValueError, match="at least 2"):
        series.trend([1.0], [1.0])


def test_threshold_versus_bias():
    # ASE threshold 68 → 32 µJ/cm² for 0 → 20 V (ito_device_bias).
    rng = np.random.default_rng(1)
    bias = np.array([20.0, 0.0, 10.0, 5.0, 15.0])
    truth = 68.0 - 1.8 * bias
    runs = []
    for th in truth:
        lc = synthetic.light_curve(rng, threshold=th, beta=1e-2, pump=synthetic.pumps(5, 300, 30), noise=0.02)
        runs.append((lc.pump, lc.output))
    result = series.threshold_series(bias, runs, unit="uJ/cm^2")
    assert list(result.control) == [0, 5, 10, 15, 20]
    assert result.found.all()
    assert result.value == pytest.approx(np.sort(truth)[::-1], rel=0.05)
    assert result.trend["slope"] == pytest.approx(-1.8, rel=0.1)
    assert result.results[0].unit == "uJ/cm^2"


def test_gain_versus_fluence():
    rng = np.random.default_rng(2)
    fluence = np.array([30.0, 45.0, 57.0, 70.0])
    gains = np.array([30.0, 70.0, 98.0, 120.0])
    runs = [synthetic.vsl_curve(rng, gain=g) for g in gains]
    result = series.gain_series(fluence, runs)
    assert result.value == pytest.approx(gains, rel=0.05)
    assert result.trend["slope"] > 0

"""VSL net modal gain with and without gain saturation."""

import numpy as np
import pytest

from labctl.analysis import synthetic
from labctl.analysis.gain import vsl_gain


@pytest.mark.parametrize("gain", [20.0, 98.0, 200.0])
def test_recovers_the_gain(gain):
    lengths = np.linspace(0.05, min(1.0, 8 / gain * 10), 20)
    pulls = []
    for seed in range(10):
        L, intensity = synthetic.vsl_curve(np.random.default_rng(seed), gain=gain, lengths=lengths)
        fit = vsl_gain(L, intensity)
        assert fit["gain"] == pytest.approx(gain, rel=0.05)
        assert not fit.excluded and np.isnan(fit["saturation_length"])
        pulls.append((fit["gain"] - gain) / fit.error("gain"))
    assert np.std(pulls) < 2.0


def test_gain_saturation_is_detected_and_excluded():
    for seed in range(5):
        L, intensity = synthetic.vsl_curve(np.random.default_rng(seed), gain=98.0, saturation_length=0.5)
        fit = vsl_gain(L, intensity)
        assert fit["gain"] == pytest.approx(98.0, rel=0.05)
        assert 0.5 <= fit["saturation_length"] <= 0.65
        assert fit.excluded and all(L[i] > 0.5 for i in fit.excluded)
        assert any("saturation" in w for w in fit.warnings)


def test_without_exclusion_saturation_would_bias_the_gain():
    L, intensity = synthetic.vsl_curve(np.random.default_rng(1), gain=98.0, saturation_length=0.5)
    biased = vsl_gain(L, intensity, saturation_sigma=1e9)
    assert biased["gain"] < 90


def test_too_few_lengths():
    with pytest.raises(ValueError, match="at least 3"):
        vsl_gain([0.1, 0.2], [1.0, 3.0])

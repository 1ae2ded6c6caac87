"""The threshold analyzer as the live analysis calls it: on the first few points of a
sweep, which may hold a single point above threshold. It must answer, not crash."""

import math

from labctl.analysis.threshold import find_threshold

# The first six steps of a simulated fluence sweep (seed 7), spontaneous band removed.
FLUENCE = [2.498087, 4.151703, 7.246479, 13.069238, 23.857492, 44.053763]
STIMULATED = [-6.207186e+02, 1.277293e+04, -9.046861e+03, 1.020733e+05, 1.292309e+06, 8.238172e+06]
FWHM = [23.465688, 23.509641, 23.601585, 24.246209, 18.823419, 5.627899]


def test_partial_sweep_does_not_crash():
    for n in range(2, len(FLUENCE) + 1):
        result = find_threshold(FLUENCE[:n], STIMULATED[:n], FWHM[:n], unit="uJ/cm^2")
        assert result.found in (True, False)
        if not result.found:
            assert result.reason
        else:
            assert math.isfinite(result.threshold) and result.low <= result.threshold <= result.high

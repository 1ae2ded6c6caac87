"""Synthetic data with known truth, for the tests and the accuracy benchmark.

Every generator takes a seeded ``numpy.random.Generator`` and returns the data and
the truth. The physics is that of ``models`` (and of docs/physics.md).
"""

from dataclasses import dataclass

import numpy as np

from . import models, spectra

X_CENTER, X_FWHM = 514.5, 23.0          # spontaneous (exciton) band, nm
SE_CENTER, SE_FWHM = 524.5, 5.0         # stimulated band, nm


@dataclass
class LightCurve:
    pump: np.ndarray
    output: np.ndarray
    linewidth: np.ndarray       # FWHM of the whole spectrum, nm
    threshold: float
    beta: float


def pumps(low, high, points, spacing="log"):
    space = np.geomspace if spacing == "log" else np.linspace
    return space(low, high, points)


def light_curve(rng, *, threshold=1.0, beta=0.01, pump=None, noise=0.03, floor=1e-3,
                spontaneous=0.0, saturation=1.0, efficiency=1.0, width_noise=0.02) -> LightCurve:
    """Light-in/light-out data from the rate-equation S-curve.

    The spectrum at each pump x is a spontaneous band A(1 − e^(−x/x_s)) (A = η·x_th, so
    that it is as strong as the stimulated output at about twice the threshold;
    x_s = ``saturation``·x_th) plus the stimulated band η·s_curve(x). ``output`` is the
    stimulated part plus ``spontaneous`` × the spontaneous part (0: spontaneous removed,
    1: total emission), with relative noise ``noise`` and an absolute floor of ``floor``
    × the largest output. ``linewidth`` is the FWHM of the whole spectrum, with relative
    noise ``width_noise``.
    """
    x = pumps(threshold / 3, 3 * threshold, 30) if pump is None else np.asarray(pump, float)
    stimulated = efficiency * models.s_curve(x, threshold, beta)
    band = efficiency * threshold * -np.expm1(-x / (saturation * threshold))
    clean = stimulated + spontaneous * band
    output = clean * (1 + noise * rng.standard_normal(x.size)) \
        + floor * np.max(clean) * rng.standard_normal(x.size)
    wl = np.arange(470.0, 580.0, 0.05)
    widths = np.array([spectra.fwhm(wl, b * models.gaussian(wl, X_CENTER, X_FWHM)
                                    + s * models.gaussian(wl, SE_CENTER, SE_FWHM))
                       for b, s in zip(band, stimulated)])
    widths *= 1 + width_noise * rng.standard_normal(x.size)
    return LightCurve(x, output, widths, threshold, beta)

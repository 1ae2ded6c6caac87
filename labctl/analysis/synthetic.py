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


def vsl_curve(rng, *, gain=98.0, lengths=None, amplitude=1e4, saturation_length=None, noise=0.03):
    """VSL edge intensity versus stripe length (mm, default 0.05-1 mm: gL up to ≈ 10) for
    a net gain (cm⁻¹); beyond ``saturation_length`` (mm) the intensity grows only
    linearly (gain saturation)."""
    lengths = np.linspace(0.05, 1.0, 20) if lengths is None else np.asarray(lengths, float)
    cm = lengths / 10
    clean = models.vsl(cm, gain, amplitude)
    if saturation_length is not None:
        ls = saturation_length / 10
        at, slope = models.vsl(ls, gain, amplitude), amplitude * np.exp(gain * ls)
        clean = np.where(cm > ls, at + 0.2 * slope * (cm - ls), clean)
    return lengths, clean * (1 + noise * rng.standard_normal(lengths.size))


def malus_curve(rng, *, dolp=0.85, theta0=30.0, total=1000.0, angles=None, noise=0.02):
    """Intensity behind an analyzer (deg) for a DOLP and axis; noise relative to the
    largest intensity."""
    angles = np.arange(0.0, 360.0, 10.0) if angles is None else np.asarray(angles, float)
    i_max = total * 2 * dolp / (1 + dolp)          # I_min + I_max = total at the axis
    i_min = total - i_max
    clean = models.malus(angles, i_min, i_max, theta0)
    return angles, clean + noise * total * rng.standard_normal(angles.size)


def decay_curve(rng, *, lifetimes=(0.105, 3.1), amplitudes=(0.5, 0.5), t0=0.5, irf_fwhm=0.03,
                peak_counts=5000.0, background=5.0, t=None):
    """Photon-counting PL transient (ns): exponentials convolved with a Gaussian IRF, with
    Poisson noise. ``amplitudes`` are fractions of ``peak_counts``."""
    t = np.linspace(0.0, 15.0, 1500) if t is None else np.asarray(t, float)
    clean = models.exp_decay(t, np.asarray(amplitudes) * peak_counts, lifetimes, t0, irf_fwhm, background)
    return t, rng.poisson(clean).astype(float)


def gaussian_irf(t, t0, fwhm):
    """A Gaussian instrument response on the grid ``t`` (for a 'measured' IRF)."""
    return models.gaussian(t, t0, fwhm)


def spectrum_two_bands(rng, *, centers=(514.5, 524.5), fwhms=(23.0, 5.0), areas=(1e5, 3e4),
                       offset=100.0, wavelength=None, noise=1.0):
    """Two Gaussian bands plus an offset, with shot noise (``noise`` × √counts)."""
    wavelength = np.arange(470.0, 570.0, 0.1) if wavelength is None else np.asarray(wavelength, float)
    clean = offset + sum(models.gaussian(wavelength, c, w, a) for c, w, a in zip(centers, fwhms, areas))
    return wavelength, clean + noise * np.sqrt(clean) * rng.standard_normal(wavelength.size)


def lasing_modes(rng, *, first=530.0, spacing=1.2, modes=5, fwhm=0.4, height=1e4, background=50.0,
                 wavelength=None, noise=1.0):
    """Evenly spaced Lorentzian lasing modes (whispering-gallery-like) on a background."""
    wavelength = np.arange(525.0, 540.0, 0.02) if wavelength is None else np.asarray(wavelength, float)
    envelope = np.exp(-0.5 * ((np.arange(modes) - (modes - 1) / 2) / modes) ** 2)
    clean = background + sum(height * e * models.lorentzian(wavelength, first + i * spacing, fwhm, np.pi * fwhm / 2)
                             for i, e in enumerate(envelope))
    return wavelength, clean + noise * np.sqrt(clean) * rng.standard_normal(wavelength.size)

"""Time-resolved PL: sums of 1-3 exponentials convolved with the instrument response.

Model: background + Σ aᵢ·e^{−(t − t0)/τᵢ} (t ≥ t0) convolved with either a Gaussian IRF
of fitted FWHM (closed form, ``models.exp_decay``) or a measured IRF, shifted by t0.
The amplitudes are the heights of the unconvolved components. Counts are weighted as
Poisson (σ = √model, after a first pass with √counts), and the covariance is scaled by
the reduced χ². Times in any one
unit (ns or ps) throughout.
"""

import math

import numpy as np

from . import models
from .fitting import Fit, fit_residual


def _measured(t, irf_t, irf, t0, amplitudes, lifetimes):
    """Decays convolved with a measured IRF (unit area) shifted to start at t0; the
    exponentials are averaged over each time bin so that short lifetimes stay exact."""
    dt = t[1] - t[0]
    shifted = np.interp(t - t0, irf_t, irf, left=0.0, right=0.0)
    k = np.arange(t.size) * dt
    out = np.zeros_like(t)
    for a, tau in zip(amplitudes, lifetimes):
        kernel = a * tau * -np.expm1(-dt / tau) / dt * np.exp(-k / tau)
        out += np.convolve(shifted, kernel)[:t.size] * dt
    return out


def fit_decay(t, counts, components=1, irf=None, irf_fwhm=None, fix_irf=False, sigma=None) -> Fit:
    """Fit 1-3 exponential decays to a PL transient.

    ``irf``: a measured instrument response, either (times, values) or values on ``t``;
    else a Gaussian IRF whose FWHM starts at ``irf_fwhm`` (default: 3 time bins) and is
    fitted unless ``fix_irf``. Values: ``tau1`` < ``tau2`` < ... with amplitudes ``a1``...,
    ``t0``, ``background``, ``irf_fwhm`` (Gaussian IRF only).
    """
    t, counts = np.asarray(t, float), np.asarray(counts, float)
    if not 1 <= components <= 3:
        raise ValueError(f"components must be 1, 2 or 3, got {components}")
    dt = t[1] - t[0]
    noise = np.sqrt(np.maximum(counts, 1.0)) if sigma is None else np.broadcast_to(np.asarray(sigma, float), t.shape)

    top = int(np.argmax(counts))
    decay_only = top < 3      # the curve starts after its peak: no rise to fit
    edge = counts[-max(3, t.size // 20):] if decay_only else counts[:max(3, t.size // 20)]
    background = float(np.median(edge))
    height = max(counts[top] - background, 1e-12)
    rise = int(np.argmax(np.gradient(counts[:top + 1]))) if top > 0 else 0
    # Longest lifetime from the tail: where it has fallen from 1/2 to 1/8 of the peak.
    above = counts - background
    late = np.flatnonzero((np.arange(t.size) > top) & (above < height / 2) & (above > height / 8))
    tail = (np.polyfit(t[late], np.log(above[late]), 1)[0] if late.size > 2 else -3 / (t[-1] - t[top]))
    tau_long = min(max(-1 / tail if tail < 0 else (t[-1] - t[top]) / 3, 2 * dt), 10 * (t[-1] - t[0]))

    spec = {}
    for i, tau in enumerate(tau_long / 10.0 ** np.arange(components)[::-1], start=1):
        spec[f"tau{i}"] = (max(tau, dt), dt / 10, 100 * (t[-1] - t[0]))
        spec[f"a{i}"] = (height / components, 0.0, 100 * height)
    spec["background"] = background
    spec["t0"] = (t[0], None) if decay_only else (t[rise], t[0], t[-1])

    if irf is None:
        width = irf_fwhm if irf_fwhm is not None else 3 * dt
        spec["irf_fwhm"] = ((0.0, None) if decay_only else (width, None) if fix_irf
                            else (width, dt / 10, (t[-1] - t[0]) / 2))

        def model(v):
            return models.exp_decay(t, [v[f"a{i}"] for i in range(1, components + 1)],
                                    [v[f"tau{i}"] for i in range(1, components + 1)],
                                    v["t0"], v["irf_fwhm"], v["background"])
    else:
        irf_t, irf_v = (t, np.asarray(irf, float)) if np.ndim(irf) == 1 else map(np.asarray, irf)
        irf_v = irf_v / np.trapezoid(irf_v, irf_t)
        irf_t = irf_t - irf_t[np.argmax(irf_v)]          # t0 = position of the IRF peak
        spec["t0"] = (t[top], t[0], t[-1])

        def model(v):
            return v["background"] + _measured(t, irf_t, irf_v, v["t0"],
                                               [v[f"a{i}"] for i in range(1, components + 1)],
                                               [v[f"tau{i}"] for i in range(1, components + 1)])

    result, fit = fit_residual(lambda v: (model(v) - counts) / noise, spec, t.size, sigma is not None)
    if sigma is None:
        # Poisson σ from the fitted curve, not from the counts (which would favour
        # downward fluctuations and bias low-count parts such as the background).
        noise = np.sqrt(np.maximum(model(fit.values), 1.0))
        start = {name: (value, *spec[name][1:]) if isinstance(spec[name], tuple) else value
                 for name, value in fit.values.items()}
        result, fit = fit_residual(lambda v: (model(v) - counts) / noise, start, t.size, False)
    # Order the components by lifetime.
    order = sorted(range(1, components + 1), key=lambda i: fit.values[f"tau{i}"])
    for kind in ("tau", "a"):
        pairs = [(fit.values[f"{kind}{i}"], fit.errors[f"{kind}{i}"]) for i in order]
        for j, (value, error) in enumerate(pairs, start=1):
            fit.values[f"{kind}{j}"], fit.errors[f"{kind}{j}"] = value, error
    return fit


def fit_fewest(t, counts, most=2, **options) -> Fit:
    """``fit_decay`` with the fewest components (1 … ``most``) the data support: the
    lowest BIC, χ² + k·ln n."""
    fits = [fit_decay(t, counts, components=k, **options) for k in range(1, most + 1)]
    return min(fits, key=lambda f: f.chi2 + len(f.values) * math.log(max(f.points, 1)))


def streak_decays(time, wavelength, image, windows) -> np.ndarray:
    """Decay curves from a streak image I(t, λ) (rows: time): the sum over each spectral
    window (start, stop) in nm. Returns an array (windows, times)."""
    wavelength, image = np.asarray(wavelength, float), np.asarray(image, float)
    if image.shape != (len(time), wavelength.size):
        raise ValueError(f"image shape {image.shape} does not match {len(time)} times × "
                         f"{wavelength.size} wavelengths")
    curves = []
    for start, stop in windows:
        inside = (wavelength >= start) & (wavelength <= stop)
        if not inside.any():
            raise ValueError(f"window {start}-{stop} nm contains no pixel")
        curves.append(image[:, inside].sum(axis=1))
    return np.array(curves)


def average_lifetime(fit: Fit) -> float:
    """Amplitude-weighted average lifetime Σaᵢτᵢ²/Σaᵢτᵢ (intensity-weighted)."""
    pairs = [(fit.values[f"a{i}"], fit.values[f"tau{i}"]) for i in range(1, 4) if f"tau{i}" in fit.values]
    return sum(a * tau ** 2 for a, tau in pairs) / sum(a * tau for a, tau in pairs) if pairs else math.nan

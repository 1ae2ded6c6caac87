"""Spectra: background, peak, width, integrals, band decomposition, lasing modes.

Wavelengths in nm, counts in any linear unit. Functions take one spectrum (1-D arrays).
"""

import math

import lmfit
import numpy as np
from scipy import signal

from .fitting import Fit

HC_EV_NM = 1239.84193


_KEPT: dict = {}        # (id(array), what) -> (array, value), for read-only arrays
_KEPT_MOST = 64


def _kept(array, what, compute):
    """``compute(array)``, kept for a read-only array that owns its data (a detector's
    wavelength axis, a run's template spectrum: arrays that do not change), so that a
    figure taken of every spectrum of a run derives what it needs of them once."""
    if array.flags.writeable or not array.flags.owndata:
        return compute(array)
    key = (id(array), what)
    found = _KEPT.get(key)
    if found is None or found[0] is not array:
        if len(_KEPT) >= _KEPT_MOST:
            _KEPT.clear()
        found = _KEPT[key] = (array, compute(array))
    return found[1]


def _trapezoid(wavelength, window):
    """(pixels, weights): the trapezoid integral of ``counts`` over ``wavelength`` inside
    ``window`` is ``weights @ counts[pixels]``."""
    if window is None:
        pixels = slice(None)
    else:
        pixels = np.flatnonzero((wavelength >= window[0]) & (wavelength <= window[1]))
        if pixels.size and pixels[-1] - pixels[0] == pixels.size - 1:
            pixels = slice(pixels[0], pixels[-1] + 1)           # contiguous: a view
    x = wavelength[pixels]
    if x.size < 2:
        return slice(0, 0), np.zeros(0)
    half = np.diff(x) / 2
    weights = np.zeros(x.size)
    weights[:-1] += half
    weights[1:] += half
    return pixels, weights


def integrate(wavelength, counts, window=None) -> float:
    """Integral of ``counts`` over ``wavelength`` (trapezoid), optionally inside
    ``window`` = (start, stop) in nm."""
    wavelength = np.asarray(wavelength)
    what = ("trapezoid", None if window is None else (float(window[0]), float(window[1])))
    pixels, weights = _kept(wavelength, what, lambda axis: _trapezoid(axis, window))
    return float(weights @ np.asarray(counts)[pixels])


def clipped(counts, full_scale=65535) -> bool:
    """True if any pixel reached the detector's full scale (a saturated spectrum)."""
    return bool(np.any(np.asarray(counts) >= full_scale))


def subtract_background(wavelength, counts, dark=None, edges=0.1, order=1):
    """Remove a dark spectrum (if given), then a polynomial of ``order`` fitted to the
    outer ``edges`` fraction of pixels on each side, where there is no emission.
    Returns (corrected counts, background that was removed)."""
    wavelength, counts = np.asarray(wavelength, float), np.asarray(counts, float)
    if dark is not None:
        counts = counts - np.asarray(dark, float)
    k = max(2, int(edges * counts.size))
    outer = np.r_[0:k, counts.size - k:counts.size]
    centre = wavelength.mean()
    coefficients = np.polyfit(wavelength[outer] - centre, counts[outer], order)
    background = np.polyval(coefficients, wavelength - centre)
    return counts - background, background + (0 if dark is None else np.asarray(dark, float))


def peak(wavelength, counts) -> tuple[float, float]:
    """(wavelength, height) of the maximum, refined by a parabola through 3 pixels."""
    wavelength, counts = np.asarray(wavelength, float), np.asarray(counts, float)
    return _refine(wavelength, counts, int(counts.argmax()))


def _refine(wavelength, counts, i):
    """Sub-pixel position and height of the local maximum at pixel ``i``."""
    if 0 < i < counts.size - 1:
        y0, y1, y2 = counts[i - 1:i + 2].tolist()
        curvature = y0 - 2 * y1 + y2
        if curvature < 0:
            shift = 0.5 * (y0 - y2) / curvature
            return _between(wavelength, i + shift), y1 - 0.25 * (y0 - y2) * shift
    return float(wavelength[i]), float(counts[i])


def _between(wavelength, position) -> float:
    """Wavelength at a fractional pixel ``position``, linear between pixels."""
    j = min(int(position), wavelength.size - 2)
    w0, w1 = wavelength[j:j + 2].tolist()
    return (w1 - w0) * (position - j) + w0


def band_centre(wavelength, counts) -> float:
    """Centroid of the part of a broad band above its half maximum: its centre, far less
    noisy than the position of its highest pixel."""
    wavelength, counts = np.asarray(wavelength, float), np.asarray(counts, float)
    top = np.where(counts >= 0.5 * counts.max(), counts, 0.0)
    return float(wavelength @ top / top.sum())


def fwhm(wavelength, counts) -> float:
    """Full width at half maximum between the outermost half-maximum crossings, each
    interpolated linearly between pixels (nan if the peak touches an edge)."""
    wavelength, counts = np.asarray(wavelength, float), np.asarray(counts, float)
    i = int(counts.argmax())
    half = counts[i] / 2
    if half <= 0:
        return float("nan")
    above = np.flatnonzero(counts >= half)
    lo, hi = above[0], above[-1]
    if lo == 0 or hi == counts.size - 1:
        return float("nan")
    left = _crossing(wavelength, counts, half, lo - 1, lo)
    right = _crossing(wavelength, counts, half, hi + 1, hi)
    return abs(right - left)


def _crossing(wavelength, counts, level, below, above) -> float:
    """Wavelength where ``counts`` reach ``level`` between pixel ``below`` (under it) and
    pixel ``above`` (at or over it), linearly interpolated."""
    c0, c1, w0, w1 = counts[below], counts[above], wavelength[below], wavelength[above]
    return float((w1 - w0) / (c1 - c0) * (level - c0) + w0)


def centroid(wavelength, counts, window=None) -> float:
    """Intensity-weighted mean wavelength (inside ``window`` if given)."""
    wavelength, counts = np.asarray(wavelength, float), np.asarray(counts, float)
    if window is not None:
        inside = (wavelength >= window[0]) & (wavelength <= window[1])
        wavelength, counts = wavelength[inside], counts[inside]
    total = counts.sum()
    return float((wavelength * counts).sum() / total) if total > 0 else float("nan")


def smooth(counts, pixels: int = 5):
    """Moving average over ``pixels`` (odd), keeping the length."""
    kernel = np.ones(pixels) / pixels
    return np.convolve(np.asarray(counts, float), kernel, mode="same")


def stimulated_part(wavelength, counts, template) -> tuple[np.ndarray, float]:
    """Split an emission spectrum into spontaneous and stimulated parts.

    ``template`` is a spontaneous-only spectrum (measured well below threshold). Its
    scale is fitted by least squares on the blue half of the band, where stimulated
    emission -- red-shifted in these materials -- does not reach; the remainder is the
    stimulated part. Returns (stimulated spectrum, spontaneous scale). What is derived of a
    read-only template is kept for the next spectrum.
    """
    counts = np.asarray(counts, float)
    template, blue, on_blue, norm = _kept(np.asarray(template), "spontaneous", _spontaneous)
    if blue.size < 3:
        return counts.copy(), 0.0
    scale = float(np.dot(counts[blue], on_blue) / norm)
    return counts - scale * template, scale


def _spontaneous(template):
    """A spontaneous-only spectrum smoothed, the pixels of the blue half of its band
    (above 20 % of its maximum), its values there and the sum of their squares."""
    template = smooth(template)
    top = int(np.argmax(template))
    blue = np.flatnonzero(template[:top + 1] > 0.2 * template[top])
    on_blue = template[blue]
    return template, blue, on_blue, float(np.dot(on_blue, on_blue))


# -- fits of band shapes ------------------------------------------------------------------

_SHAPES = {"gaussian": lmfit.models.GaussianModel, "lorentzian": lmfit.models.LorentzianModel,
           "voigt": lmfit.models.VoigtModel}


def _shot_weights(counts):
    """Weights for shot-noise-limited counts (σ² ∝ counts, floored at 0.1 % of the peak);
    the overall noise scale is estimated from the fit."""
    return 1 / np.sqrt(np.maximum(np.abs(counts), 1e-3 * np.max(np.abs(counts))))


def _fit_result(result, names, points) -> Fit:
    values = {k: float(result.params[p].value) for k, p in names.items()}
    errors = {k: float(result.params[p].stderr) if result.params[p].stderr is not None else math.nan
              for k, p in names.items()}
    warnings = [] if result.errorbars else ["uncertainties could not be estimated"]
    return Fit(values, errors, float(result.chisqr), int(result.nfree), points, warnings=warnings)


def two_bands(wavelength, counts, guess=None, shape="gaussian") -> Fit:
    """Decompose a spectrum into two bands plus a constant: exciton and biexciton, or
    spontaneous and stimulated emission.

    ``shape`` is ``gaussian``, ``lorentzian`` or ``voigt``; ``guess`` = ((centre, fwhm),
    (centre, fwhm)) in nm, else taken from the maximum and from the largest remainder
    after one band. Band 1 is the bluer one. Values: ``center1``, ``fwhm1``, ``area1``,
    ``height1``, the same for band 2, and ``offset``.
    """
    wavelength, counts = np.asarray(wavelength, float), np.asarray(counts, float)
    if guess is None:
        c1, _ = peak(wavelength, counts)
        w1 = fwhm(wavelength, counts)
        w1 = w1 if math.isfinite(w1) else (wavelength[-1] - wavelength[0]) / 5
        rest = counts - counts.max() * np.exp(-4 * math.log(2) * ((wavelength - c1) / w1) ** 2)
        guess = ((c1, w1), (float(wavelength[np.argmax(rest)]), w1 / 2))
    model = _SHAPES[shape](prefix="b1_") + _SHAPES[shape](prefix="b2_") + lmfit.models.ConstantModel()
    params = model.make_params(c=float(np.median(counts[:5])))
    span = wavelength[-1] - wavelength[0]
    for prefix, (centre, width) in zip(("b1_", "b2_"), guess):
        sigma = width / (2.0 if shape == "lorentzian" else 2.3548)
        params[f"{prefix}center"].set(value=centre, min=wavelength[0], max=wavelength[-1])
        params[f"{prefix}sigma"].set(value=sigma, min=abs(wavelength[1] - wavelength[0]) / 4, max=span)
        params[f"{prefix}amplitude"].set(value=max(counts.max(), 1e-12) * width, min=0)
        if shape == "voigt":
            params[f"{prefix}gamma"].set(value=sigma / 2, min=0, vary=True)
    result = model.fit(counts, params, x=wavelength, weights=_shot_weights(counts))
    order = sorted(("b1_", "b2_"), key=lambda p: result.params[f"{p}center"].value)
    names = {"offset": "c"}
    for band, prefix in zip(("1", "2"), order):
        for quantity, parameter in (("center", "center"), ("fwhm", "fwhm"), ("area", "amplitude"),
                                    ("height", "height")):
            names[quantity + band] = prefix + parameter
    return _fit_result(result, names, counts.size)


def q_factor(wavelength, counts, window=None, resolution=0.0, prominence=0.1) -> Fit:
    """Quality factor Q = λ/Δλ of the strongest lasing mode (inside ``window``).

    Every mode (peak with a prominence above ``prominence`` × the strongest) is fitted
    at once with a Lorentzian each on a sloped background, so that the tails of the
    neighbours do not narrow the strongest one. With the spectrometer's ``resolution``
    (Gaussian FWHM, nm) each mode is a Voigt with that Gaussian width, and Δλ is the
    Lorentzian (intrinsic) width. Values: ``center``, ``fwhm`` (Δλ), ``q``, ``modes``.
    """
    wavelength, counts = np.asarray(wavelength, float), np.asarray(counts, float)
    if window is not None:
        inside = (wavelength >= window[0]) & (wavelength <= window[1])
        wavelength, counts = wavelength[inside], counts[inside]
    base = float(np.min(counts))
    found, properties = signal.find_peaks(counts, prominence=prominence * (counts.max() - base), width=1)
    if found.size == 0:
        found, properties = np.array([int(np.argmax(counts))]), {"widths": np.array([3.0])}
    step = abs(wavelength[1] - wavelength[0])
    shape = lmfit.models.VoigtModel if resolution > 0 else lmfit.models.LorentzianModel
    model = lmfit.models.LinearModel()
    params = model.make_params(intercept=base, slope=0.0)
    for k, (i, pixels) in enumerate(zip(found, properties["widths"])):
        line = shape(prefix=f"m{k}_")
        model = model + line
        width = max(pixels * step, 2 * step)
        params.update(line.make_params(center=wavelength[i], amplitude=(counts[i] - base) * width))
        params[f"m{k}_center"].set(min=wavelength[i] - width, max=wavelength[i] + width)
        if resolution > 0:
            params[f"m{k}_sigma"].set(value=resolution / 2.3548, vary=False)
            params[f"m{k}_gamma"].set(value=max(width - resolution, width / 4) / 2, min=0, vary=True)
        else:
            params[f"m{k}_sigma"].set(value=width / 2, min=step / 10)
    result = model.fit(counts, params, x=wavelength, weights=_shot_weights(counts))
    strongest = int(np.argmax([result.params[f"m{k}_height"].value for k in range(found.size)]))
    prefix = f"m{strongest}_"
    fit = _fit_result(result, {"center": prefix + "center"}, counts.size)
    half = result.params[prefix + ("gamma" if resolution > 0 else "sigma")]      # Lorentzian HWHM
    fit.values["fwhm"] = 2 * float(half.value)
    fit.errors["fwhm"] = 2 * float(half.stderr) if half.stderr is not None else math.nan
    fit.values["q"] = fit.values["center"] / fit.values["fwhm"]
    fit.errors["q"] = fit.values["q"] * math.hypot(fit.errors["fwhm"] / fit.values["fwhm"],
                                                   fit.errors["center"] / fit.values["center"])
    fit.values["modes"] = int(found.size)
    return fit


def mode_spacing(wavelength, counts, prominence=0.1, window=None) -> Fit:
    """Spacing of the modes of a multi-mode lasing spectrum.

    Modes are the peaks with a prominence above ``prominence`` × the highest one, located
    to a fraction of a pixel; their positions are fitted linearly against the mode index.
    Values: ``spacing`` (nm), ``first`` (nm), ``modes`` (count), ``spacing_mev``.
    """
    wavelength, counts = np.asarray(wavelength, float), np.asarray(counts, float)
    if window is not None:
        inside = (wavelength >= window[0]) & (wavelength <= window[1])
        wavelength, counts = wavelength[inside], counts[inside]
    found, _ = signal.find_peaks(counts, prominence=prominence * (counts.max() - counts.min()))
    positions = np.array([_refine(wavelength, counts, int(i))[0] for i in found])
    if positions.size < 2:
        return Fit({"spacing": math.nan, "first": math.nan, "modes": positions.size, "spacing_mev": math.nan},
                   {}, points=counts.size, warnings=[f"{positions.size} mode(s) found; need at least 2"])
    index = np.arange(positions.size)
    if positions.size == 2:
        spacing, first, errors = positions[1] - positions[0], positions[0], (math.nan, math.nan)
    else:
        (spacing, first), cov = np.polyfit(index, positions, 1, cov=True)
        errors = tuple(np.sqrt(np.diag(cov)))
    centre = positions.mean()
    to_mev = 1e3 * HC_EV_NM / centre ** 2
    return Fit({"spacing": float(spacing), "first": float(first), "modes": int(positions.size),
                "spacing_mev": float(spacing * to_mev)},
               {"spacing": float(errors[0]), "first": float(errors[1]), "spacing_mev": float(errors[0] * to_mev)},
               dof=max(positions.size - 2, 0), points=int(positions.size))

"""Narrow emission lines of micro-PL spectra: found (shoulders included), their shapes
fitted, and their areas in every spectrum.

At 4 K a nanocrystal's fine-structure sublevels and its stimulated-emission line lie a
few tenths of a nanometre apart, a fraction of a nanometre wide: a window integral of
one takes in the tails of the others. Each line is therefore a Gaussian (the resolution
and the ensemble make them Gaussian, as in the papers' fits) and a spectrum is the sum
of the lines plus a parabolic baseline (the broad spontaneous background) over the range
the lines cover:

* ``find`` locates the lines as maxima of the smoothed negative second derivative
  (a line on the flank of a brighter one shows there as a peak of its own);
* ``fit`` fits centres and widths to one or several spectra at once (variable
  projection: for given shapes the areas and baselines follow by linear least squares);
  ``survey`` finds and fits the lines and keeps those that stand out of the noise;
* ``areas`` gives the areas of lines of known shape in one spectrum -- one linear
  least-squares solution, exact and cheap enough for every step of a run.

Wavelengths in nm; areas in counts·nm (of whatever rate the spectra are in).
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, signal

FWHM_TO_SIGMA = 1 / (2 * math.sqrt(2 * math.log(2)))
SMOOTHING = 7            # pixels of the Savitzky-Golay second derivative
SPAN = 5.0               # the fitted range reaches this many FWHM beyond the outer lines
BASELINE = 2             # order of the baseline polynomial (the broad background's curvature)


@dataclass(frozen=True)
class Lines:
    """Shapes of the lines (sorted by wavelength) and the range they are fitted over."""

    centers: tuple           # nm
    fwhms: tuple             # nm
    window: tuple            # (start, stop) nm
    center_errors: tuple = ()

    def __len__(self):
        return len(self.centers)

    def describe(self) -> list:
        return [{"center_nm": c, "fwhm_nm": w} for c, w in zip(self.centers, self.fwhms)]


def _noise(values) -> float:
    """Robust standard deviation (median absolute deviation)."""
    return 1.4826 * float(np.median(np.abs(values - np.median(values)))) or 1e-12


def find(wavelength, spectra, min_snr=12.0, max_fwhm=1.0, max_lines=6) -> list[tuple[float, float]]:
    """Lines in one or more spectra (rows): (centre, rough FWHM) in nm, bluest first.

    A line is a maximum of the smoothed negative second derivative whose prominence
    exceeds ``min_snr`` times that derivative's noise and which is narrower than
    ``max_fwhm`` nm; detections in several spectra closer than a line width are one
    line. At most ``max_lines``, the most significant."""
    wavelength = np.asarray(wavelength, float)
    step = float(np.median(np.abs(np.diff(wavelength))))
    found = []                                   # (significance, centre, fwhm)
    for counts in np.atleast_2d(np.asarray(spectra, float)):
        curvature = -signal.savgol_filter(counts, SMOOTHING, 3, deriv=2)
        noise = _noise(curvature)
        peaks, props = signal.find_peaks(curvature, prominence=min_snr * noise, width=0.5)
        for i, prominence, width in zip(peaks, props["prominences"], props["widths"]):
            # the smoothed second derivative's lobe is about as wide as the line
            if width * step <= max_fwhm:
                found.append((prominence / noise, float(wavelength[i]), float(width) * step))
    lines = []
    for significance, center, fwhm in sorted(found, reverse=True):
        if all(abs(center - c) > max(w, fwhm, 2 * step) for c, w in lines):
            lines.append((center, fwhm))
    return sorted(lines[:max_lines])


def _basis(x, centers, fwhms):
    """Unit-area Gaussians (columns) and a parabolic baseline."""
    sigma = np.asarray(fwhms) * FWHM_TO_SIGMA
    gauss = np.exp(-0.5 * ((x[:, None] - np.asarray(centers)) / sigma) ** 2)
    gauss /= sigma * math.sqrt(2 * math.pi)
    u = (x - x.mean()) / max(np.ptp(x) / 2, 1e-12)
    return np.column_stack([gauss] + [u ** k for k in range(BASELINE + 1)])


def _weights(expected):
    """1/σ for shot-noise-limited counts of the ``expected`` spectrum (floored at 0.1 % of
    its largest value). Weights from the measured counts themselves would favour pixels
    that fluctuated low and bias every area low by about one count per pixel."""
    expected = np.abs(expected)
    return 1 / np.sqrt(np.maximum(expected, 1e-3 * max(np.max(expected), 1e-12)))


def _smoothed(counts):
    """A first estimate of the expected counts: the spectrum smoothed over a line width."""
    return signal.savgol_filter(counts, SMOOTHING, 2)


def _inside(wavelength, window):
    return (wavelength >= window[0]) & (wavelength <= window[1])


def _coefficients(design, counts, weight):
    """Weighted linear least squares: the coefficients."""
    return np.linalg.lstsq(design * weight[:, None], counts * weight, rcond=None)[0]


def _errors(design, counts, weight, coef):
    """Standard errors of the coefficients, the noise scale from the residuals."""
    a = design * weight[:, None]
    chi2 = float(np.sum((counts * weight - a @ coef) ** 2))
    dof = max(len(counts) - design.shape[1], 1)
    return np.sqrt(np.clip(np.diag(np.linalg.pinv(a.T @ a)) * chi2 / dof, 0, None))


def fit(wavelength, spectra, guesses, window=None, reach=None) -> tuple[Lines, np.ndarray, np.ndarray]:
    """Fit the centres and widths of the lines ``guesses`` = [(centre, fwhm), ...] to one
    or more spectra (rows; shapes shared, areas and baselines per spectrum).

    Each centre may move by ``reach`` nm (one per line; default: its guessed FWHM, at
    least two pixels) but not past the midpoint to a neighbour (the lines keep their
    order); widths lie between one pixel and three times the guess. Returns (lines,
    areas, area errors), the areas with one row per spectrum."""
    wavelength = np.asarray(wavelength, float)
    spectra = np.atleast_2d(np.asarray(spectra, float))
    step = float(np.median(np.abs(np.diff(wavelength))))
    order = np.argsort([c for c, _ in guesses])
    centers0 = np.array([guesses[i][0] for i in order], float)
    fwhms0 = np.array([max(guesses[i][1], 2 * step) for i in order], float)
    shift = np.maximum(fwhms0 if reach is None else np.asarray(reach, float)[order], 2 * step)
    if window is None:
        margin = SPAN * fwhms0.max()
        window = (np.min(centers0 - shift) - margin, np.max(centers0 + shift) + margin)
    inside = _inside(wavelength, window)
    x, ys = wavelength[inside], spectra[:, inside]
    weights = [_weights(_smoothed(y)) for y in ys]
    k = len(centers0)
    if x.size < 2 * k + 4:
        raise ValueError(f"{x.size} pixels in {window[0]:.3f}-{window[1]:.3f} nm are too few "
                         f"for {k} line(s)")

    def residuals(theta):
        design = _basis(x, theta[:k], theta[k:])
        return np.concatenate([(y - design @ _coefficients(design, y, w)) * w
                               for y, w in zip(ys, weights)])

    middle = (centers0[1:] + centers0[:-1]) / 2
    low = np.r_[np.maximum(centers0 - shift, np.r_[-np.inf, middle]), np.full(k, step)]
    high = np.r_[np.minimum(centers0 + shift, np.r_[middle, np.inf]), 3 * fwhms0]
    start = np.clip(np.r_[centers0, fwhms0], low + 1e-9, high - 1e-9)
    scale = np.r_[shift, fwhms0]
    result = optimize.least_squares(residuals, start, bounds=(low, high), x_scale=scale)
    design = _basis(x, result.x[:k], result.x[k:])     # weights from the fitted spectra
    weights = [_weights(design @ _coefficients(design, y, w)) for y, w in zip(ys, weights)]
    result = optimize.least_squares(residuals, result.x, bounds=(low, high), x_scale=scale)
    theta = result.x
    dof = max(result.fun.size - theta.size - len(ys) * (k + BASELINE + 1), 1)
    jac = result.jac
    try:
        cov = np.linalg.pinv(jac.T @ jac) * float(result.fun @ result.fun) / dof
        center_errors = np.sqrt(np.clip(np.diag(cov)[:k], 0, None))
    except np.linalg.LinAlgError:
        center_errors = np.full(k, math.nan)
    lines = Lines(tuple(float(c) for c in theta[:k]), tuple(float(w) for w in theta[k:]),
                  (float(window[0]), float(window[1])), tuple(float(e) for e in center_errors))
    found = [areas(wavelength, y, lines) for y in spectra]
    return lines, np.array([a for a, _ in found]), np.array([e for _, e in found])


def survey(wavelength, spectra, guesses=None, min_snr=5.0) -> tuple[Lines, np.ndarray]:
    """Lines of a set of spectra: ``find`` them (unless ``guesses`` are given), ``fit``
    their shapes, and drop those whose area stays below ``min_snr`` standard errors in
    every spectrum (a bump of the second derivative between two lines is no line).
    Returns (lines, areas with one row per spectrum)."""
    guesses = list(guesses) if guesses else find(wavelength, spectra)
    while guesses:
        lines, found, errors = fit(wavelength, spectra, guesses)
        significance = np.max(found / np.where(errors > 0, errors, np.inf), axis=0)
        if significance.min() >= min_snr:
            return lines, found
        weakest = int(np.argmin(significance))
        guesses = [g for i, g in enumerate(zip(lines.centers, lines.fwhms)) if i != weakest]
    raise ValueError("no emission line stands out of the noise")


def areas(wavelength, counts, lines: Lines) -> tuple[np.ndarray, np.ndarray]:
    """Areas of lines of known shape in one spectrum, and their standard errors (the
    noise scale estimated from the residuals)."""
    wavelength, counts = np.asarray(wavelength, float), np.asarray(counts, float)
    inside = _inside(wavelength, lines.window)
    x, y = wavelength[inside], counts[inside]
    design = _basis(x, lines.centers, lines.fwhms)
    weight = _weights(design @ _coefficients(design, y, _weights(_smoothed(y))))
    coef = _coefficients(design, y, weight)
    k = len(lines)
    return coef[:k], _errors(design, y, weight, coef)[:k]


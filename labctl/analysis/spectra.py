"""Spectra: peak, width, integrals, and the stimulated part of an emission spectrum."""

import numpy as np


def integrate(wavelength, counts, window=None) -> float:
    """Integral of ``counts`` over ``wavelength`` (trapezoid), optionally inside
    ``window`` = (start, stop) in nm."""
    wavelength, counts = np.asarray(wavelength), np.asarray(counts)
    if window is not None:
        inside = (wavelength >= window[0]) & (wavelength <= window[1])
        wavelength, counts = wavelength[inside], counts[inside]
    if wavelength.size < 2:
        return 0.0
    return float(np.trapezoid(counts, wavelength))


def peak(wavelength, counts) -> tuple[float, float]:
    """(wavelength, height) of the maximum, refined by a parabola through 3 pixels."""
    wavelength, counts = np.asarray(wavelength, float), np.asarray(counts, float)
    i = int(np.argmax(counts))
    if 0 < i < counts.size - 1:
        y0, y1, y2 = counts[i - 1:i + 2]
        curvature = y0 - 2 * y1 + y2
        if curvature < 0:
            shift = 0.5 * (y0 - y2) / curvature
            x = np.interp(i + shift, np.arange(counts.size), wavelength)
            return float(x), float(y1 - 0.25 * (y0 - y2) * shift)
    return float(wavelength[i]), float(counts[i])


def fwhm(wavelength, counts) -> float:
    """Full width at half maximum between the outermost half-maximum crossings, each
    interpolated linearly between pixels (nan if the peak touches an edge)."""
    wavelength, counts = np.asarray(wavelength, float), np.asarray(counts, float)
    i = int(np.argmax(counts))
    half = counts[i] / 2
    if half <= 0:
        return float("nan")
    above = np.flatnonzero(counts >= half)
    lo, hi = above[0], above[-1]
    if lo == 0 or hi == counts.size - 1:
        return float("nan")
    left = np.interp(half, [counts[lo - 1], counts[lo]], [wavelength[lo - 1], wavelength[lo]])
    right = np.interp(half, [counts[hi + 1], counts[hi]], [wavelength[hi + 1], wavelength[hi]])
    return float(abs(right - left))


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
    stimulated part. Returns (stimulated spectrum, spontaneous scale).
    """
    counts, template = np.asarray(counts, float), smooth(template)
    top = int(np.argmax(template))
    blue = (template > 0.2 * template[top]) & (np.arange(template.size) <= top)
    if blue.sum() < 3:
        return counts.copy(), 0.0
    scale = float(np.dot(counts[blue], template[blue]) / np.dot(template[blue], template[blue]))
    return counts - scale * template, scale

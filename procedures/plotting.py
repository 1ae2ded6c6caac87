"""Figure helpers shared by procedures (on top of ``labctl.plots``)."""

import numpy as np


def emission_window(wavelength, values, margin=1 / 3):
    """The wavelength range where any of the spectra ``values`` (rows) exceeds 1 % of the
    brightest pixel, widened by ``margin`` of its width on each side: (wavelength,
    values) cropped to it (unchanged if fewer than 10 pixels are bright)."""
    wavelength, values = np.asarray(wavelength), np.asarray(values)
    bright = np.flatnonzero(np.nanmax(values, axis=0) > 0.01 * np.nanmax(values))
    if bright.size <= 10:
        return wavelength, values
    pad = int((bright[-1] - bright[0]) * margin)
    keep = slice(max(0, bright[0] - pad), min(wavelength.size, bright[-1] + pad + 1))
    return wavelength[keep], values[:, keep]

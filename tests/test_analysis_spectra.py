"""Spectra: integrals, peaks, widths, background, band decomposition, lasing modes."""

import numpy as np
import pytest

from labctl.analysis import models, spectra, synthetic

WL = np.arange(480.0, 560.0, 0.25)


def test_integrate_whole_and_window():
    counts = models.gaussian(WL, 520.0, 10.0, area=500.0)
    assert spectra.integrate(WL, counts) == pytest.approx(500.0, rel=1e-3)
    assert spectra.integrate(WL, counts, (520.0, 560.0)) == pytest.approx(250.0, rel=1e-2)
    assert spectra.integrate(WL, counts, (600.0, 610.0)) == 0.0


def test_peak_is_sub_pixel_and_fwhm_centroid_exact():
    counts = models.gaussian(WL, 520.13, 10.0)
    position, height = spectra.peak(WL, counts)
    assert position == pytest.approx(520.13, abs=0.01)
    assert height == pytest.approx(counts.max(), rel=1e-3)
    assert spectra.fwhm(WL, counts) == pytest.approx(10.0, rel=1e-3)
    assert spectra.centroid(WL, counts) == pytest.approx(520.13, abs=1e-3)


def test_fwhm_is_nan_at_the_edge_and_for_no_signal():
    assert np.isnan(spectra.fwhm(WL, models.gaussian(WL, 481.0, 10.0)))
    assert np.isnan(spectra.fwhm(WL, np.zeros_like(WL)))


def test_clipped():
    assert spectra.clipped(np.array([10, 65535, 3]))
    assert not spectra.clipped(np.array([10, 65534, 3]))
    assert spectra.clipped(np.array([1.0, 4095.0]), full_scale=4095)


def test_subtract_background_removes_dark_and_a_slope():
    band = models.gaussian(WL, 520.0, 8.0, area=1e4)
    dark = np.full_like(WL, 300.0)
    slope = 2.0 + 0.05 * (WL - 480.0)
    corrected, background = spectra.subtract_background(WL, band + dark + slope, dark=dark)
    assert np.allclose(corrected, band, atol=0.05 * band.max() / 100)
    assert np.allclose(background, dark + slope, atol=1.0)


@pytest.mark.parametrize("shape", ["gaussian", "voigt"])
def test_two_bands_separate_spontaneous_and_stimulated(shape):
    wl, counts = synthetic.spectrum_two_bands(np.random.default_rng(1))
    fit = spectra.two_bands(wl, counts, shape=shape)
    assert fit["center1"] == pytest.approx(514.5, abs=0.1)
    assert fit["center2"] == pytest.approx(524.5, abs=0.1)
    assert fit["fwhm2"] == pytest.approx(5.0, rel=0.05)
    assert fit["area1"] == pytest.approx(1e5, rel=0.05)
    assert fit["area2"] == pytest.approx(3e4, rel=0.05)
    assert abs(fit["center2"] - 524.5) < 4 * fit.error("center2")


def test_two_bands_exciton_and_biexciton_with_a_guess():
    rng = np.random.default_rng(2)
    # Biexciton 50 meV below the exciton at 2.41 eV.
    x, xx = 1239.84 / 2.41, 1239.84 / 2.36
    wl, counts = synthetic.spectrum_two_bands(rng, centers=(x, xx), fwhms=(12.0, 14.0), areas=(5e4, 2e4))
    fit = spectra.two_bands(wl, counts, guess=((x, 10.0), (xx, 10.0)))
    assert 1239.84 / fit["center1"] - 1239.84 / fit["center2"] == pytest.approx(0.05, abs=0.002)
    assert fit["area2"] / fit["area1"] == pytest.approx(0.4, rel=0.05)


def test_q_factor_of_a_single_mode_with_and_without_resolution():
    rng = np.random.default_rng(3)
    wl, counts = synthetic.lasing_modes(rng, modes=1, first=535.0, fwhm=0.4)
    fit = spectra.q_factor(wl, counts)
    assert fit["fwhm"] == pytest.approx(0.4, rel=0.02)
    assert fit["q"] == pytest.approx(535.0 / 0.4, rel=0.02)
    # Broadened by a 0.3 nm spectrometer: the Voigt fit gives back the mode's own width.
    kernel = models.gaussian(np.arange(-2, 2.001, 0.02), 0.0, 0.3) * 0.02
    broadened = np.convolve(counts - 50.0, kernel, "same") + 50.0
    assert spectra.q_factor(wl, broadened)["fwhm"] > 0.45
    assert spectra.q_factor(wl, broadened, resolution=0.3)["fwhm"] == pytest.approx(0.4, rel=0.05)


def test_q_factor_of_the_strongest_of_several_modes():
    rng = np.random.default_rng(4)
    wl, counts = synthetic.lasing_modes(rng, first=530.0, spacing=1.2, modes=5, fwhm=0.4)
    fit = spectra.q_factor(wl, counts)
    assert fit["modes"] == 5
    assert fit["center"] == pytest.approx(532.4, abs=0.01)
    assert fit["fwhm"] == pytest.approx(0.4, rel=0.02)


def test_mode_spacing():
    rng = np.random.default_rng(5)
    wl, counts = synthetic.lasing_modes(rng, first=530.0, spacing=1.2, modes=6)
    fit = spectra.mode_spacing(wl, counts)
    assert fit["modes"] == 6
    assert fit["spacing"] == pytest.approx(1.2, abs=0.005)
    assert fit["spacing_mev"] == pytest.approx(1e3 * 1239.84 * 1.2 / 533.0 ** 2, rel=0.01)
    single = spectra.mode_spacing(*synthetic.lasing_modes(rng, modes=1, first=535.0))
    assert np.isnan(single["spacing"]) and single.warnings


def test_stimulated_part_removes_the_spontaneous_band():
    spont = models.gaussian(WL, 514.5, 23.0, 1e5)
    stim = models.gaussian(WL, 524.5, 5.0, 3e4)
    part, scale = spectra.stimulated_part(WL, 2 * spont + stim, spont)
    assert scale == pytest.approx(2.0, rel=0.02)
    assert spectra.integrate(WL, part) == pytest.approx(3e4, rel=0.05)



def test_figures_on_read_only_axis_and_template_equal_those_on_writable_ones():
    """What integrate and stimulated_part keep of a read-only axis or template (derived
    once per array) gives the figures computed afresh on writable copies."""
    spont = models.gaussian(WL, 514.5, 23.0, 1e5)
    counts = 2 * spont + models.gaussian(WL, 524.5, 5.0, 3e4)
    axis, template = WL.copy(), spont.copy()
    axis.flags.writeable = template.flags.writeable = False
    for _ in range(2):                                       # derived, then kept
        for window in (None, (520.0, 560.0), (600.0, 610.0)):
            assert spectra.integrate(axis, counts, window) == pytest.approx(
                spectra.integrate(WL.copy(), counts, window), rel=1e-12)
        part, scale = spectra.stimulated_part(axis, counts, template)
        fresh, fresh_scale = spectra.stimulated_part(WL, counts, spont.copy())
        assert scale == pytest.approx(fresh_scale, rel=1e-12)
        np.testing.assert_allclose(part, fresh, rtol=1e-12, atol=1e-9)
    assert spectra.integrate(axis, counts) == pytest.approx(np.trapezoid(counts, WL), rel=1e-12)
    shifted = axis + 1.0                                     # another axis: its own weights
    shifted.flags.writeable = False
    assert spectra.integrate(shifted, counts, (520.0, 560.0)) == pytest.approx(
        spectra.integrate(WL + 1.0, counts, (520.0, 560.0)), rel=1e-12)

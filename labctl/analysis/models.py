"""Model functions shared by the analysis (and by the simulated sample, which must obey
the same physics the analysis recovers). Plain numpy; angles in degrees, energies in eV,
temperatures in K, lengths and times in the caller's units unless stated."""

import math

import numpy as np
from scipy import special

K_B_EV = 8.617333262e-5        # Boltzmann constant, eV/K
FWHM_PER_SIGMA = 2 * math.sqrt(2 * math.log(2))


def s_curve(x, x_th, beta):
    """Stimulated output of the laser rate equation, u² − (x − x_th)·u − β·x_th·x = 0.

    Slope β below threshold, slope 1 above it; the above-threshold asymptote minus the
    spontaneous part βx reaches zero at x_th -- the threshold as the papers define it.
    """
    d = np.asarray(x, float) - x_th
    return 0.5 * (d + np.sqrt(d * d + 4.0 * beta * x_th * np.asarray(x, float)))


def gaussian(x, center, fwhm, area=1.0):
    """Gaussian band of the given area and full width at half maximum."""
    sigma = fwhm / FWHM_PER_SIGMA
    return area * np.exp(-0.5 * ((np.asarray(x, float) - center) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def lorentzian(x, center, fwhm, area=1.0):
    """Lorentzian band of the given area and full width at half maximum."""
    half = fwhm / 2
    return area * half / math.pi / ((np.asarray(x, float) - center) ** 2 + half ** 2)


def voigt(x, center, fwhm_gauss, fwhm_lorentz, area=1.0):
    """Voigt band (Gaussian ⊗ Lorentzian) of the given area and component widths."""
    return area * special.voigt_profile(np.asarray(x, float) - center, fwhm_gauss / FWHM_PER_SIGMA,
                                        fwhm_lorentz / 2)


def voigt_fwhm(fwhm_gauss, fwhm_lorentz):
    """FWHM of a Voigt band (Olivero & Longbothum, 0.02 % accurate)."""
    return 0.5346 * fwhm_lorentz + math.sqrt(0.2166 * fwhm_lorentz ** 2 + fwhm_gauss ** 2)


def vsl(length, gain, amplitude):
    """Variable-stripe-length edge emission I(L) = (A/g)(e^{gL} − 1), → A·L as g → 0.
    ``gain`` and ``length`` in reciprocal units (cm⁻¹ with cm)."""
    length = np.asarray(length, float)
    if abs(gain) < 1e-12:
        return amplitude * length
    return amplitude * np.expm1(gain * length) / gain


def malus(angle, i_min, i_max, theta0):
    """Intensity behind a linear analyzer at ``angle`` (deg): I_min + I_max·cos²(θ − θ0)."""
    return i_min + i_max * np.cos(np.radians(np.asarray(angle, float) - theta0)) ** 2


def dolp(i_min, i_max):
    """Degree of linear polarization of I_min + I_max·cos²(θ − θ0): the contrast
    (I_hi − I_lo)/(I_hi + I_lo) between the brightest (I_min + I_max) and darkest (I_min)
    analyzer angles."""
    return i_max / (2 * i_min + i_max)


def exp_decay(t, amplitudes, lifetimes, t0=0.0, irf_fwhm=0.0, background=0.0):
    """Sum of exponentials Σ aᵢ·e^{−(t − t0)/τᵢ} starting at t0, convolved with a
    Gaussian instrument response of FWHM ``irf_fwhm`` (0: none), plus a constant.
    The amplitudes are the peak heights of the unconvolved components."""
    t = np.asarray(t, float) - t0
    out = np.full_like(t, background, dtype=float)
    s = irf_fwhm / FWHM_PER_SIGMA
    for a, tau in zip(np.atleast_1d(amplitudes), np.atleast_1d(lifetimes)):
        if s > 0:
            # Gaussian ⊗ exponential in closed form; each branch where it stays finite.
            z = (s / tau - t / s) / math.sqrt(2)
            with np.errstate(over="ignore", invalid="ignore"):
                late = np.exp(0.5 * (s / tau) ** 2 - t / tau) * special.erfc(z)
                early = np.exp(-0.5 * (t / s) ** 2) * special.erfcx(z)
            out += a * 0.5 * np.where(z < 0, late, early)
        else:
            out += a * np.where(t >= 0, np.exp(-np.clip(t, 0, None) / tau), 0.0)
    return out


def thermal_quenching(temperature, i0, a, e_b):
    """Integrated PL versus temperature: I0/(1 + a·e^{−E_b/k_B T}), E_b in eV."""
    return i0 / (1 + a * np.exp(-e_b / (K_B_EV * np.asarray(temperature, float))))


def saturation(photon_fluence, amplitude, cross_section):
    """Long-delay PL of dots excited at least once: A·(1 − e^{−σ·j})."""
    return amplitude * -np.expm1(-cross_section * np.asarray(photon_fluence, float))


def phonon_broadening(temperature, gamma0, gamma_ac, gamma_lo, e_lo):
    """Emission linewidth versus temperature: Γ0 + γ_ac·T + Γ_LO/(e^{E_LO/k_B T} − 1)."""
    t = np.asarray(temperature, float)
    return gamma0 + gamma_ac * t + gamma_lo / np.expm1(e_lo / (K_B_EV * t))

"""Temperature series: thermal quenching of the PL, and the shift and broadening of the
emission peak. Temperatures in K, energies in meV unless stated."""

import numpy as np

from . import models
from .fitting import Fit, fit_model

HC_EV_NM = 1239.84193


def thermal_quenching(temperature, intensity, sigma=None) -> Fit:
    """Fit I(T) = I0/(1 + a·e^{−E_b/k_B T}). Values: ``i0``, ``a``, ``e_b`` (meV)."""
    t, y = np.asarray(temperature, float), np.asarray(intensity, float)
    i0 = float(np.max(y))
    # Start from E_b where the PL has fallen to half: a·e^{−E_b/kT½} = 1 with a = 1e3.
    half = t[np.argmin(np.abs(y - i0 / 2))]
    e_b = models.K_B_EV * half * np.log(1e3) * 1e3
    _, fit = fit_model(lambda x, i0, log_a, e_b: models.thermal_quenching(x, i0, np.exp(log_a), e_b * 1e-3),
                       t, y, {"i0": (i0, 0, np.inf), "log_a": (np.log(1e3), -10, 50), "e_b": (e_b, 0, 2000)}, sigma)
    fit.values["a"] = float(np.exp(fit.values.pop("log_a")))
    fit.errors["a"] = fit.values["a"] * fit.errors.pop("log_a")
    return fit


def peak_shift(temperature, peak, unit="nm") -> Fit:
    """Linear shift of the emission peak with temperature. ``peak`` in nm (``unit="nm"``)
    or eV. Values: ``slope`` (meV/K), ``energy0`` (eV, extrapolated to 0 K)."""
    t = np.asarray(temperature, float)
    energy = HC_EV_NM / np.asarray(peak, float) if unit == "nm" else np.asarray(peak, float)
    (slope, intercept), cov = np.polyfit(t, energy * 1e3, 1, cov=True)
    residual = energy * 1e3 - (slope * t + intercept)
    return Fit({"slope": float(slope), "energy0": float(intercept) * 1e-3},
               {"slope": float(np.sqrt(cov[0, 0])), "energy0": float(np.sqrt(cov[1, 1])) * 1e-3},
               float(np.sum(residual ** 2)), t.size - 2, t.size)


def broadening(temperature, fwhm, sigma=None, e_lo=None, acoustic=True) -> Fit:
    """Emission linewidth (meV) versus temperature: Γ0 + γ_ac·T + Γ_LO/(e^{E_LO/k_B T} − 1).
    ``e_lo`` (meV) fixes the LO-phonon energy if known; ``acoustic=False`` leaves out the
    acoustic term, which at high temperature is hard to tell from the LO term. Values:
    ``gamma0``, ``gamma_ac`` (meV/K), ``gamma_lo``, ``e_lo`` (meV)."""
    t, w = np.asarray(temperature, float), np.asarray(fwhm, float)
    spec = {"gamma0": (float(w.min()), 0, np.inf),
            # not at the bound: a bounded lmfit parameter cannot leave a bound it starts on
            "gamma_ac": (0.01 * float(np.ptp(w)) / t.max(), 0, np.inf) if acoustic else (0.0, None),
            "gamma_lo": (float(np.ptp(w)) * 2, 0, np.inf),
            "e_lo": (e_lo, None) if e_lo is not None else (20.0, 1.0, 200.0)}
    _, fit = fit_model(lambda x, gamma0, gamma_ac, gamma_lo, e_lo:
                       models.phonon_broadening(x, gamma0, gamma_ac, gamma_lo, e_lo * 1e-3),
                       t, w, spec, sigma)
    return fit

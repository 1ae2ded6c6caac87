"""Polarization: Malus's law per spectral peak, degree of linear polarization, and the
fine-structure splitting between two orthogonally polarized peaks.

I(θ) = I_min + I_max·cos²(θ − θ0) = a + b·cos 2θ + c·sin 2θ is linear in (a, b, c), so
the fit is an exact weighted linear least-squares problem; I_max = 2√(b² + c²),
I_min = a − √(b² + c²), θ0 = ½·atan2(c, b), DOLP = √(b² + c²)/a, with errors propagated
through the covariance. Angles in degrees, θ0 in [0, 180).
"""

import math

import numpy as np
from . import spectra
from .fitting import Fit

HC_EV_NM = 1239.84193


def malus(angle, intensity, sigma=None) -> Fit:
    """Fit Malus's law to intensities behind an analyzer at ``angle`` (deg).

    Values: ``i_min``, ``i_max``, ``theta0`` (deg), ``dolp``. Without ``sigma`` the noise
    is taken as constant and estimated from the scatter.
    """
    angle, intensity = np.asarray(angle, float), np.asarray(intensity, float)
    if angle.size < 4:
        raise ValueError(f"Malus fit needs at least 4 angles, got {angle.size}")
    two = np.radians(2 * angle)
    design = np.column_stack([np.ones_like(two), np.cos(two), np.sin(two)])
    known = sigma is not None
    weight = 1 / np.broadcast_to(np.asarray(sigma if known else 1.0, float), intensity.shape) ** 2
    normal = design.T @ (design * weight[:, None])
    coef = np.linalg.solve(normal, design.T @ (weight * intensity))
    residual = intensity - design @ coef
    chi2 = float(np.sum(weight * residual ** 2))
    dof = angle.size - 3
    cov = np.linalg.inv(normal) * (1.0 if known else chi2 / max(dof, 1))

    a, b, c = coef
    r = math.hypot(b, c)
    values = {"i_min": a - r, "i_max": 2 * r, "theta0": math.degrees(0.5 * math.atan2(c, b)) % 180,
              "dolp": r / a if a != 0 else math.nan}
    # Gradients of each quantity with respect to (a, b, c).
    ub, uc = (b / r, c / r) if r > 0 else (0.0, 0.0)
    gradients = {"i_min": (1, -ub, -uc), "i_max": (0, 2 * ub, 2 * uc),
                 "theta0": (0, math.degrees(-0.5 * c / r ** 2) if r > 0 else 0.0,
                            math.degrees(0.5 * b / r ** 2) if r > 0 else 0.0),
                 "dolp": (-r / a ** 2, ub / a, uc / a) if a != 0 else (0, 0, 0)}
    errors = {k: float(math.sqrt(max(np.asarray(g) @ cov @ np.asarray(g), 0.0))) for k, g in gradients.items()}
    return Fit({k: float(v) for k, v in values.items()}, errors, chi2, dof, int(angle.size))


def malus_per_peak(angle, wavelength, spectra_by_angle, windows) -> list[Fit]:
    """Malus fits of the emission integrated over each spectral window (one per peak).
    ``spectra_by_angle`` has one spectrum per angle (rows)."""
    spectra_by_angle = np.asarray(spectra_by_angle, float)
    return [malus(angle, [spectra.integrate(wavelength, s, window) for s in spectra_by_angle])
            for window in windows]


def fine_structure_splitting(wavelength, parallel, perpendicular, window=None, resolution=0.0) -> Fit:
    """Energy splitting between the peaks of two orthogonally polarized spectra (analyzer
    along each dipole), each located by a Lorentzian fit (a Voigt with the spectrometer's
    ``resolution``, see ``spectra.q_factor``). Values: ``e_parallel``, ``e_perpendicular``
    (eV), ``splitting`` (meV, parallel minus perpendicular)."""
    peaks = [spectra.q_factor(wavelength, s, window, resolution) for s in (parallel, perpendicular)]
    energies = [(HC_EV_NM / p["center"], HC_EV_NM / p["center"] ** 2 * p.error("center")) for p in peaks]
    return Fit({"e_parallel": energies[0][0], "e_perpendicular": energies[1][0],
                "splitting": 1e3 * (energies[0][0] - energies[1][0])},
               {"e_parallel": energies[0][1], "e_perpendicular": energies[1][1],
                "splitting": 1e3 * math.hypot(energies[0][1], energies[1][1])},
               dof=min(p.dof for p in peaks), points=sum(p.points for p in peaks))

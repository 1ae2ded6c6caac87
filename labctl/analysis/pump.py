"""The pump: fluence, photon fluence, average excitons per dot ⟨N⟩, and the absorption
cross-section σ fitted from long-delay PL.

⟨N⟩ = σ·j with j = F/(hν) the photon fluence. Fluences in µJ/cm², wavelengths in nm,
cross-sections in cm², photon fluences in photons/cm².
"""

import numpy as np

from labctl import units

from . import models
from .fitting import Fit, fit_model

HC_EV_NM = 1239.84193          # h·c in eV·nm
EV_J = 1.602176634e-19         # J per eV


def photon_energy(wavelength):
    """hν in J for a wavelength in nm."""
    return HC_EV_NM / np.asarray(wavelength, float) * EV_J


def photon_fluence(fluence, wavelength):
    """Photons per cm² per pulse for a fluence in µJ/cm²."""
    return np.asarray(fluence, float) * 1e-6 / photon_energy(wavelength)


def occupancy(fluence, wavelength, cross_section):
    """Average excitons per dot ⟨N⟩ = σ·j."""
    return cross_section * photon_fluence(fluence, wavelength)


def fluence_from_occupancy(n, wavelength, cross_section):
    """Fluence (µJ/cm²) that gives ⟨N⟩ = ``n``."""
    return np.asarray(n, float) / cross_section * photon_energy(wavelength) * 1e6


def fluence_from_power(power, rep_rate, area):
    """Fluence (µJ/cm²) of a pulse train of average ``power`` (W) at ``rep_rate`` (Hz)
    on ``area`` (cm²)."""
    return np.asarray(power, float) / rep_rate / area * 1e6


OCCUPANCY_UNITS = ("<N>", "⟨N⟩", "N")


def _kind(unit: str) -> str:
    """fluence, power, photons, occupancy or current density."""
    if unit.strip() in OCCUPANCY_UNITS:
        return "occupancy"
    u = units.unit(unit.replace("photons", "1").replace("photon", "1"))
    for kind, reference in (("fluence", "uJ/cm^2"), ("power", "W"), ("photons", "1/cm^2"),
                            ("current density", "A/cm^2")):
        if u.is_compatible_with(units.unit(reference)):
            return kind
    raise units.UnitError(f"{unit!r} is not a pump unit (fluence, power, photon fluence, ⟨N⟩, A/cm²)")


def convert(values, from_unit: str, to_unit: str, *, wavelength=None, cross_section=None,
            rep_rate=None, area=None):
    """Convert pump values between units of fluence (µJ/cm², mJ/cm²...), average power
    (µW... needs ``rep_rate`` in Hz and ``area`` in cm²), photon fluence (photons/cm²,
    needs ``wavelength`` in nm) and ⟨N⟩ (``<N>``, needs ``wavelength`` and
    ``cross_section`` in cm²). Current densities convert only among themselves."""
    values = np.asarray(values, float)
    source, target = _kind(from_unit), _kind(to_unit)
    if source == target:
        if source == "occupancy":
            return values
        clean = [u.replace("photons", "1").replace("photon", "1") for u in (from_unit, to_unit)]
        return values * units.convert(1.0, *clean)
    if "current density" in (source, target):
        raise units.UnitError(f"cannot convert {from_unit} to {to_unit}: an electrical pump has no fluence")

    def need(**given):
        missing = [name for name, value in given.items() if value is None]
        if missing:
            raise ValueError(f"converting {from_unit} to {to_unit} needs {', '.join(missing)}")

    def to_fluence(v, unit, kind):          # -> µJ/cm²
        if kind == "fluence":
            return v * units.convert(1.0, unit, "uJ/cm^2")
        if kind == "power":
            need(rep_rate=rep_rate, area=area)
            return fluence_from_power(v * units.convert(1.0, unit, "W"), rep_rate, area)
        need(wavelength=wavelength)
        if kind == "photons":
            return v * units.convert(1.0, unit.replace("photons", "1").replace("photon", "1"), "1/cm^2") \
                * photon_energy(wavelength) * 1e6
        need(cross_section=cross_section)
        return fluence_from_occupancy(v, wavelength, cross_section)

    fluence = to_fluence(values, from_unit, source)
    if target == "fluence":
        return fluence * units.convert(1.0, "uJ/cm^2", to_unit)
    # The inverse of to_fluence, by linearity: every conversion is a proportionality.
    return fluence / to_fluence(np.ones(1), to_unit, target)[0]


def fit_cross_section(photon_fluence, intensity, sigma=None) -> Fit:
    """Absorption cross-section σ (cm²) from long-delay PL versus photon fluence j
    (photons/cm²): PL ∝ 1 − e^{−σj}, the fraction of dots excited at least once.
    Values: ``cross_section``, ``amplitude``."""
    j, intensity = np.asarray(photon_fluence, float), np.asarray(intensity, float)
    start = 1 / np.median(j)
    result, fit = fit_model(lambda x, amplitude, scaled: models.saturation(x * start, amplitude, scaled),
                            j, intensity, {"amplitude": (float(intensity.max()), 0, np.inf),
                                           "scaled": (1.0, 1e-6, 1e6)}, sigma)
    fit.values["cross_section"] = fit.values.pop("scaled") * start
    fit.errors["cross_section"] = fit.errors.pop("scaled") * start
    return fit

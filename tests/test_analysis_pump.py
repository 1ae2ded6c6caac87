"""Pump units, photon fluence, ⟨N⟩ and the cross-section fit."""

import numpy as np
import pytest

from labctl.analysis import models, pump
from labctl.units import UnitError


def test_occupancy_of_the_cspbbr3_film():
    # 22 µJ/cm² at 400 nm, σ = 2.5e-14 cm²: ⟨N⟩ ≈ 1.1 at the ASE threshold (physics.md).
    assert pump.occupancy(22.0, 400.0, 2.5e-14) == pytest.approx(1.107, rel=1e-3)
    assert pump.fluence_from_occupancy(1.107, 400.0, 2.5e-14) == pytest.approx(22.0, rel=1e-3)
    assert pump.photon_fluence(22.0, 400.0) == pytest.approx(4.43e13, rel=1e-2)


@pytest.mark.parametrize("unit, value", [("uJ/cm^2", 22.0), ("mJ/cm²", 0.022), ("J/m^2", 0.22),
                                         ("photons/cm^2", 4.4296e13), ("<N>", 1.1074)])
def test_convert_between_fluence_photons_and_occupancy(unit, value):
    kw = {"wavelength": 400.0, "cross_section": 2.5e-14}
    assert pump.convert(22.0, "uJ/cm^2", unit, **kw) == pytest.approx(value, rel=1e-3)
    assert pump.convert(value, unit, "uJ/cm^2", **kw) == pytest.approx(22.0, rel=1e-3)


def test_convert_average_power():
    # 15 µW at 78 MHz on a 20 µm spot.
    area = np.pi * (10e-4) ** 2
    fluence = pump.convert(15.0, "uW", "uJ/cm^2", rep_rate=78e6, area=area)
    assert fluence == pytest.approx(15e-6 / 78e6 / area * 1e6)
    assert pump.convert(fluence, "uJ/cm^2", "mW", rep_rate=78e6, area=area) == pytest.approx(0.015)
    assert pump.convert(np.array([1.0, 2.0]), "A/cm^2", "mA/cm^2") == pytest.approx([1e3, 2e3])


def test_convert_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="needs cross_section"):
        pump.convert(1.0, "<N>", "uJ/cm^2", wavelength=400.0)
    with pytest.raises(ValueError, match="needs rep_rate, area"):
        pump.convert(1.0, "uW", "uJ/cm^2")
    with pytest.raises(UnitError, match="electrical pump"):
        pump.convert(1.0, "A/cm^2", "uJ/cm^2")
    with pytest.raises(UnitError, match="not a pump unit"):
        pump.convert(1.0, "nm", "uJ/cm^2")


def test_cross_section_from_long_delay_pl():
    rng = np.random.default_rng(1)
    j = np.geomspace(1e12, 4e14, 25)
    pl = models.saturation(j, 250.0, 2.5e-14) * (1 + 0.02 * rng.standard_normal(j.size))
    fit = pump.fit_cross_section(j, pl)
    assert fit["cross_section"] == pytest.approx(2.5e-14, rel=0.05)
    assert abs(fit["cross_section"] - 2.5e-14) < 4 * fit.error("cross_section")
    assert fit["amplitude"] == pytest.approx(250.0, rel=0.03)

"""Common part of the micro-PL procedures on the tunable pump line.

A supercontinuum source with a tunable filter (role ``TunablePumpLaser``) is focused to a
sub-µm spot; the pulse energy reaching the sample is set with the source's power level
and measured with the main power meter, which sees every pump reaching the sample; the
emission goes to a high-resolution spectrograph (role ``Spectrograph``).

The power level is calibrated, not computed: a first reading at a low level gives the
pulse energy per percent; every setting is then measured and corrected once if it is
off by more than ``energy_tolerance`` (the supercontinuum's spectrum is not flat). Every
measured pulse energy is checked against the bench's safety envelope of the beam line.
"""

import numpy as np

from labctl.analysis import pump
from labctl.beam import Beam
from labctl.errors import LabctlError
from labctl.parameters import Float, Int, Text
from labctl.procedure import PlannedStep, Procedure, Setpoint

PROBE_LEVEL = 2.0          # % power level of the calibration reading
SETTLE = 1.0               # s per step for filter, meter and bookkeeping (plan estimate)


class MicroPL(Procedure):
    """Base class: tunable pump on a spot, main power meter, spectrograph."""

    roles = ("TunablePumpLaser", "PowerMeter", "Spectrograph")

    spot_diameter = Float(0.0326, unit="um", minimum=0.01, maximum=100,
                          doc="top-hat equivalent spot diameter: sets fluence = pulse energy / area "
                              "(0.0326 µm makes 15 µW at 78 MHz the preset's 23 mJ/cm²)")
    shots = Int(10, minimum=1, maximum=1000, doc="power-meter readings averaged per setting")
    energy_tolerance = Float(0.02, minimum=0.001, maximum=0.5,
                             doc="relative pulse-energy error corrected once")
    center_wavelength = Float(531.0, unit="nm", minimum=200, maximum=1400,
                              doc="spectrograph centre wavelength")
    grooves = Int(1200, minimum=50, maximum=3600, doc="groove density (g/mm) of the grating to use")
    slit_width = Float(20.0, unit="um", minimum=10, maximum=3000, doc="entrance slit width")
    integration_time = Float(0.5, unit="s", minimum=1e-3, maximum=60,
                             doc="longest integration time (shortened while saturated)")
    averages = Int(1, minimum=1, maximum=100, doc="spectra averaged per step")
    line = Text("tunable", max_length=20, doc="slot qualifier of the tunable pump's beam line")
    detector = Text("hr", max_length=20, doc="slot qualifier of the spectrograph")

    # -- plan ---------------------------------------------------------------------
    def beam(self) -> Beam:
        return Beam("spot", diameter=self.spot_diameter * 1e-3)

    def beam_line(self) -> str:
        return self.line

    def slots(self):
        return super().slots() | {"PowerMeter": "", "Spectrograph": self.detector}

    def pump_step(self, label, fluence, values, moving=0.0) -> PlannedStep:
        """A step at ``fluence`` mJ/cm² with its setpoints (fluence and pulse energy)."""
        energy_uj = fluence * 1e3 * self.beam().area
        duration = SETTLE + moving + 2 * self.averages * self.integration_time + self.shots * 2e-3
        return PlannedStep(label, (Setpoint("fluence", fluence, "mJ/cm^2"),
                                   Setpoint("pulse_energy", energy_uj, "uJ")), duration, values)

    # -- instruments --------------------------------------------------------------
    def setup_spectrograph(self, run) -> None:
        spectrograph = run.role("Spectrograph")
        numbers = [i for i, g in enumerate(spectrograph.gratings, 1) if _grooves(g) == self.grooves]
        if not numbers:
            raise LabctlError(f"the spectrograph has no {self.grooves} g/mm grating "
                              f"(installed: {', '.join(spectrograph.gratings)})")
        spectrograph.set_grating(numbers[0])
        spectrograph.set_center_wavelength(self.center_wavelength)
        spectrograph.set_slit_width(self.slit_width)
        spectrograph.set_integration_time(self.integration_time)
        run.set_axis("wavelength", spectrograph.wavelengths, "nm")

    def tune(self, run, wavelength) -> None:
        """Tune the pump (the meter's wavelength correction follows)."""
        run.role("TunablePumpLaser").set_wavelength(wavelength)
        run.role("PowerMeter").set_wavelength(wavelength)
        self.pump_wavelength = wavelength

    def start_pump(self, run) -> None:
        """Emission on at a low power level; the first reading calibrates the level."""
        laser = run.role("TunablePumpLaser")
        self.rep_rate = laser.rep_rate
        self.per_percent = None
        laser.set_power_level(PROBE_LEVEL)
        run.open_beam()
        energy = self._measure_energy(run)
        if energy <= 0:
            raise LabctlError(f"no pulse energy measured at {PROBE_LEVEL:g} % power level "
                              f"({energy:g} J): is the beam reaching the power meter?")
        self.per_percent = energy / PROBE_LEVEL

    def _measure_energy(self, run) -> float:
        energy = run.role("PowerMeter").pulse_energy(self.rep_rate, self.shots)
        run.bench.check_setpoint("pulse_energy", energy, "J", line=self.beam_line())
        return energy

    def set_fluence(self, run, fluence) -> dict:
        """Set ``fluence`` mJ/cm² at the current pump wavelength: power level from the
        calibration, measured, corrected once. Returns the measured values."""
        laser = run.role("TunablePumpLaser")
        area = self.beam().area
        target = fluence * 1e-3 * area                       # J
        level = self._level(target)
        laser.set_power_level(level)
        energy = self._measure_energy(run)
        if energy > 0 and abs(energy / target - 1) > self.energy_tolerance:
            self.per_percent = energy / level
            level = self._level(target)
            laser.set_power_level(level)
            energy = self._measure_energy(run)
        if target > 100.0 * self.per_percent:
            run.event("warning", f"{fluence:g} mJ/cm² needs more than the full power level at "
                                 f"{self.pump_wavelength:g} nm")
        fluence_measured = energy / area * 1e3               # mJ/cm²
        return {"fluence": fluence_measured, "pulse_energy": energy * 1e12,
                "power": energy * self.rep_rate * 1e6, "power_level": level,
                "photon_fluence": float(pump.photon_fluence(fluence_measured * 1e3, self.pump_wavelength))}

    def _level(self, energy) -> float:
        """Power level (%, in the source's 0.1 % steps) for a pulse energy in J."""
        return float(np.clip(round(energy / self.per_percent, 1), 0.1, 100.0))

    def acquire(self, run, averages=None):
        """Spectrum averaged over ``averages`` (default: the parameter) in counts/s, the
        integration shortened while saturated: (spectrum, integration time, saturated)."""
        averages = averages or self.averages
        spectrograph = run.role("Spectrograph")
        shortest = spectrograph.integration_limits[0]
        t = self.integration_time
        spectrograph.set_integration_time(t)
        while True:
            shots = [spectrograph.acquire() for _ in range(averages)]
            saturated = spectrograph.saturated
            if not (saturated and t > shortest):
                return np.mean(shots, axis=0) / t, t, saturated
            t = max(shortest, t / 3)
            spectrograph.set_integration_time(t)

    def on_pause(self, run):
        run.close_beam()

    def on_resume(self, run):
        run.open_beam()

    def teardown(self, run):
        run.close_beam()


def _grooves(grating: str) -> float | None:
    """Groove density of a grating description such as ``1200 g/mm BLZ=500NM``."""
    try:
        return float(grating.split()[0])
    except (ValueError, IndexError):
        return None

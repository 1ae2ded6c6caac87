"""Variable attenuator: a half-wave plate on a motorized rotation stage before a fixed
polarizer, calibrated in pulse energy at the sample.

Transmission through the polarizer follows Malus's law for a half-wave plate,
T(θ) = T_min + (1 − T_min)·sin²(2(θ − θ0)) relative to its maximum, so that the
``sin2`` calibration needs three numbers measured at the bench (pulse energy at the
sample at maximum and minimum transmission, and the plate angle of the minimum).
A ``table`` calibration uses measured (angle, pulse energy) pairs instead, interpolated
on one monotonic branch. The rotation stage is a Newport SMC100/CONEX-AGP.
"""

import math

import numpy as np

from .newport_smc100 import SMC100Rotation
from .roles import Attenuator


class HalfWaveAttenuator(Attenuator):
    """Options (from the bench config ``options``)::

        calibration:
          law: sin2                   # or: table
          max_pulse_energy: 1.85e-6   # J at the sample, at maximum transmission
          min_pulse_energy: 4.0e-10   # J at the sample, at minimum transmission
          zero_angle: 1.0             # deg, plate angle of minimum transmission
          # table: {angles: [...], pulse_energies: [...]}   (law: table)
        limits: [-170, 170]           # stage travel, deg
    """

    def __init__(self, stage: SMC100Rotation, calibration: dict):
        self.stage = stage
        self.law = calibration.get("law", "sin2")
        if self.law == "sin2":
            self._max = float(calibration["max_pulse_energy"])
            self._min_fraction = float(calibration.get("min_pulse_energy", 0.0)) / self._max
            self.zero_angle = float(calibration.get("zero_angle", 0.0))
        elif self.law == "table":
            angles = np.asarray(calibration["angles"], float)
            energies = np.asarray(calibration["pulse_energies"], float)
            by_angle = np.diff(energies[np.argsort(angles)])
            if not (np.all(by_angle > 0) or np.all(by_angle < 0)):
                raise ValueError("attenuator calibration table must cover one monotonic branch: "
                                 "pulse energy must rise (or fall) steadily with angle")
            order = np.argsort(energies)
            self._angles, self._energies = angles[order], energies[order]
            self._max = float(self._energies[-1])
        else:
            raise ValueError(f"unknown attenuator calibration law {self.law!r} (sin2 or table)")

    @classmethod
    def open(cls, resource, *, visa_library, connection, options):
        stage = SMC100Rotation(resource, visa_library=visa_library,
                               limits=options.get("limits", (-170.0, 170.0)), **connection)
        return cls(stage, options["calibration"])

    @property
    def max_pulse_energy(self) -> float:
        return self._max

    @property
    def min_pulse_energy(self) -> float:
        return self.transmission_at(self.angle_for(0.0)) * self._max

    def angle_for(self, transmission: float) -> float:
        """Plate angle (deg) giving ``transmission`` of the maximum."""
        if self.law == "table":
            return float(np.interp(transmission * self._max, self._energies, self._angles))
        s = (transmission - self._min_fraction) / (1 - self._min_fraction)
        return self.zero_angle + math.degrees(math.asin(math.sqrt(min(max(s, 0.0), 1.0)))) / 2

    def transmission_at(self, angle: float) -> float:
        if self.law == "table":
            return float(np.interp(angle, self._angles, self._energies)) / self._max
        s = math.sin(math.radians(2 * (angle - self.zero_angle))) ** 2
        return self._min_fraction + (1 - self._min_fraction) * s

    @property
    def transmission(self) -> float:
        return self.transmission_at(self.stage.angle)

    def set_transmission(self, transmission: float) -> None:
        if not 0.0 <= transmission <= 1.0:
            raise ValueError(f"transmission {transmission:g} is outside [0, 1]")
        self.stage.move_to(self.angle_for(transmission))

    def safe_state(self) -> None:
        """Stop any motion, then go to minimum transmission."""
        self.stage.stop()
        self.stage.wait_until_stopped()
        self.set_transmission(0.0)

    @property
    def identity(self) -> str:
        return f"half-wave plate attenuator on {self.stage.identity}"

    def settings(self) -> dict:
        return {"angle_deg": self.stage.angle, "transmission": self.transmission,
                "max_pulse_energy_J": self._max, "law": self.law}

    def check_fault(self) -> None:
        self.stage.check_fault()

    def close(self) -> None:
        self.stage.adapter.close()

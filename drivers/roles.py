"""Role interfaces: what procedures may ask of the bench.

A procedure never talks to a Keithley or an Ocean spectrometer; it asks the bench for a
``SourceMeter`` or a ``Spectrometer`` and uses only the methods declared here. A driver
model fulfils a role by subclassing its interface (and usually a pymeasure
``Instrument``). The bench hands procedures a view that exposes *only* these members.

Units are those a bench physicist uses and are part of every name's docstring:
wavelength in nm, angle in degrees, stage position in mm, temperature in K, time in s,
energy in J, power in W, voltage in V, current in A.

Methods that send a setpoint carry ``@setpoint(quantity, unit)``: the bench checks the
argument against its safety envelope before the call reaches the driver.
"""

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np


def setpoint(quantity: str, unit: str, argument: int = 0):
    """Declare that a method's ``argument``-th argument is a setpoint of ``quantity``."""
    def mark(method):
        method._setpoint = (quantity, unit, argument)
        return method
    return mark


class Role(ABC):
    """Common part of every role: identity, snapshot, safe state, opening and closing."""

    role: ClassVar[str] = ""
    #: Names procedures may use (collected from the interface classes).
    interface: ClassVar[frozenset] = frozenset()
    _COMMON = ("identity", "settings", "safe_state", "check_fault", "role")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        names = set(Role._COMMON)
        for klass in cls.__mro__:
            if issubclass(klass, Role) and klass.__dict__.get("role"):
                names |= {n for n in vars(klass) if not n.startswith("_")}
        cls.interface = frozenset(names - {"open", "interface"})

    @classmethod
    def open(cls, resource: str, *, visa_library, connection: dict, options: dict):
        """Open the instrument at ``resource``. ``connection`` holds VISA options
        (terminations, baud rate, timeout); ``options`` the model's own settings."""
        return cls(resource, visa_library=visa_library, **connection, **options)

    @property
    @abstractmethod
    def identity(self) -> str:
        """Maker, model, serial number and firmware as the instrument reports them."""

    def settings(self) -> dict:
        """Key settings, for the bench snapshot stored with every run."""
        return {}

    @abstractmethod
    def safe_state(self) -> None:
        """Put the instrument where it can harm neither sample, device nor people."""

    def check_fault(self) -> None:
        """Raise if the instrument reports a fault (read its error queue/status)."""

    def close(self) -> None:
        adapter = getattr(self, "adapter", None)
        if adapter is not None:
            adapter.close()


class PumpLaser(Role):
    """A pulsed pump laser: shutter, repetition rate, wavelength, status."""

    role = "PumpLaser"

    @property
    @abstractmethod
    def wavelength(self) -> float:
        """Output wavelength in nm."""

    @property
    @abstractmethod
    def rep_rate(self) -> float:
        """Pulse repetition rate in Hz."""

    @property
    @abstractmethod
    def pulse_width(self) -> float:
        """Pulse duration (FWHM) in s."""

    @property
    @abstractmethod
    def shutter_open(self) -> bool:
        """Whether pulses leave the laser."""

    @abstractmethod
    def open_shutter(self) -> None:
        """Let the pulses out (refused if the laser is not ready)."""

    @abstractmethod
    def close_shutter(self) -> None:
        """Block the beam."""

    @property
    def interlock_ok(self) -> bool:
        """False while the laser's safety interlock is open."""
        return True

    def safe_state(self) -> None:
        self.close_shutter()


class TunablePumpLaser(PumpLaser):
    """A pump whose wavelength can be set."""

    role = "TunablePumpLaser"

    @abstractmethod
    def set_wavelength(self, wavelength: float) -> None:
        """Tune the output to ``wavelength`` nm."""


class Shutter(Role):
    """A beam shutter for lasers without computer control of their own."""

    role = "Shutter"

    @property
    @abstractmethod
    def is_open(self) -> bool:
        """Whether the shutter is open."""

    @abstractmethod
    def open(self) -> None:
        """Open the shutter."""

    @abstractmethod
    def close(self) -> None:
        """Close the shutter."""

    def safe_state(self) -> None:
        self.close()


class Attenuator(Role):
    """Variable attenuation of a pump beam, calibrated in pulse energy at the sample."""

    role = "Attenuator"

    @property
    @abstractmethod
    def transmission(self) -> float:
        """Current transmission, 0...1, from the calibration."""

    @abstractmethod
    def set_transmission(self, transmission: float) -> None:
        """Set the transmission (0...1)."""

    @property
    @abstractmethod
    def max_pulse_energy(self) -> float:
        """Calibrated pulse energy at the sample at full transmission, in J."""

    @setpoint("pulse_energy", "J")
    def set_pulse_energy(self, energy: float) -> None:
        """Attenuate so that ``energy`` J per pulse reach the sample."""
        if not 0 <= energy <= self.max_pulse_energy:
            raise ValueError(f"pulse energy {energy:g} J is outside what the attenuator can "
                             f"deliver (0 to {self.max_pulse_energy:g} J at full transmission)")
        self.set_transmission(energy / self.max_pulse_energy)

    def safe_state(self) -> None:
        self.set_transmission(0.0)


class PowerMeter(Role):
    """Power or pulse-energy meter (possibly on a calibrated pick-off)."""

    role = "PowerMeter"

    @abstractmethod
    def set_wavelength(self, wavelength: float) -> None:
        """Wavelength correction, nm."""

    @abstractmethod
    def pulse_energy(self, rep_rate: float, readings: int = 1) -> float:
        """Pulse energy at the sample in J, averaged over ``readings`` (a power sensor
        divides the average power by ``rep_rate`` Hz)."""

    def safe_state(self) -> None:
        """A meter cannot harm anything."""


class Spectrometer(Role):
    """A spectrometer or spectrograph with its detector."""

    role = "Spectrometer"

    @property
    @abstractmethod
    def wavelengths(self) -> np.ndarray:
        """Wavelength of every pixel, nm."""

    @property
    @abstractmethod
    def integration_time(self) -> float:
        """Integration (exposure) time, s."""

    @abstractmethod
    def set_integration_time(self, seconds: float) -> None:
        """Set the integration time in s."""

    @property
    @abstractmethod
    def integration_limits(self) -> tuple[float, float]:
        """Shortest and longest integration time, s."""

    @property
    @abstractmethod
    def max_counts(self) -> int:
        """Full-scale count of the detector (saturation level)."""

    @abstractmethod
    def acquire(self) -> np.ndarray:
        """One spectrum, dark level removed, in counts per pixel (float array)."""

    @property
    @abstractmethod
    def saturated(self) -> bool:
        """Whether any pixel of the last spectrum reached full scale."""

    def safe_state(self) -> None:
        """A spectrometer cannot harm anything."""


class RotationStage(Role):
    """A motorized rotation stage (analyzer, wave plate)."""

    role = "RotationStage"

    @property
    @abstractmethod
    def angle(self) -> float:
        """Current angle, degrees."""

    @abstractmethod
    def move_to(self, angle: float, wait: bool = True) -> None:
        """Rotate to ``angle`` degrees (and wait until it stops)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop any motion."""

    def safe_state(self) -> None:
        self.stop()


class LinearStage(Role):
    """A motorized linear stage (knife edge for the variable stripe length)."""

    role = "LinearStage"

    @property
    @abstractmethod
    def position(self) -> float:
        """Current position, mm."""

    @abstractmethod
    def move_to(self, position: float, wait: bool = True) -> None:
        """Move to ``position`` mm (and wait until it stops)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop any motion."""

    def safe_state(self) -> None:
        self.stop()


#: Every role interface by name (the bench config's role keys).
ROLES = {cls.role: cls for cls in (PumpLaser, TunablePumpLaser, Shutter, Attenuator,
                                   PowerMeter, Spectrometer, RotationStage, LinearStage)}

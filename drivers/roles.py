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


def setpoint(quantity: str, unit: str, value=0):
    """Declare that a method sends a setpoint of ``quantity`` (an envelope quantity).

    ``value`` says where the setpoint is: the index or name of an argument, or a
    function of the call's arguments returning the value or a list of values (e.g.
    ``lambda amplitude, width, period, **_: width / period`` for a duty cycle).
    Stack several decorators for several quantities.
    """
    def mark(method):
        method._setpoints = getattr(method, "_setpoints", ()) + ((quantity, unit, value),)
        return method
    return mark


def setpoint_values(method, args, kwargs):
    """The (quantity, value, unit) triples a call of ``method`` would send."""
    found = []
    for quantity, unit, where in getattr(method, "_setpoints", ()):
        if callable(where):
            value = where(*args, **kwargs)
        elif isinstance(where, int):
            value = args[where] if len(args) > where else next(iter(kwargs.values()))
        else:
            value = kwargs[where] if where in kwargs else args[list(
                method.__code__.co_varnames[1:]).index(where)]
        values = value if isinstance(value, (list, tuple)) else [value]
        found.extend((quantity, float(v), unit) for v in values)
    return found


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

    def discard_replies(self) -> None:
        """Throw away whatever the instrument(s) queued for reading (before a retry)."""
        from pymeasure.instruments import Instrument

        for part in [self] + [v for v in vars(self).values() if isinstance(v, Instrument)]:
            adapter = getattr(part, "adapter", None)
            if adapter is not None:
                try:
                    adapter.flush_read_buffer()
                except Exception:
                    pass


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

    @abstractmethod
    def set_power_level(self, percent: float) -> None:
        """Output power level, % of maximum (how a supercontinuum source attenuates)."""


class Shutter(Role):
    """A beam shutter for lasers without computer control of their own."""

    role = "Shutter"

    @property
    @abstractmethod
    def is_open(self) -> bool:
        """Whether the shutter is open."""

    @abstractmethod
    def open_shutter(self) -> None:
        """Open the shutter."""

    @abstractmethod
    def close_shutter(self) -> None:
        """Close the shutter."""

    def safe_state(self) -> None:
        self.close_shutter()


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

    @property
    @abstractmethod
    def min_pulse_energy(self) -> float:
        """Calibrated pulse energy at the sample at minimum transmission, in J."""

    @setpoint("pulse_energy", "J")
    def set_pulse_energy(self, energy: float) -> None:
        """Attenuate so that ``energy`` J per pulse reach the sample. Energies the
        attenuator cannot make are refused -- in particular below its minimum, where it
        would deliver more than asked."""
        if not self.min_pulse_energy <= energy <= self.max_pulse_energy:
            raise ValueError(f"pulse energy {energy:g} J is outside what the attenuator can "
                             f"deliver ({self.min_pulse_energy:g} to {self.max_pulse_energy:g} J)")
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


class Spectrograph(Spectrometer):
    """A spectrometer with a grating turret, a tunable centre wavelength and a slit."""

    role = "Spectrograph"

    @property
    @abstractmethod
    def center_wavelength(self) -> float:
        """Centre wavelength on the detector, nm."""

    @abstractmethod
    def set_center_wavelength(self, wavelength: float) -> None:
        """Move the grating so that ``wavelength`` nm falls on the detector centre."""

    @property
    @abstractmethod
    def gratings(self) -> list[str]:
        """Installed gratings, e.g. ``["300 g/mm BLZ=500NM", ...]`` (position 1 first)."""

    @abstractmethod
    def set_grating(self, number: int) -> None:
        """Select grating ``number`` (1-based)."""

    @abstractmethod
    def set_slit_width(self, micrometres: float) -> None:
        """Entrance slit width, µm."""


class StreakCamera(Role):
    """A streak camera: images of intensity versus time (rows) and wavelength (columns)."""

    role = "StreakCamera"

    @property
    @abstractmethod
    def time_ranges(self) -> list[float]:
        """Allowed sweep time ranges, s (1-2-5 steps)."""

    @property
    @abstractmethod
    def time_range(self) -> float:
        """Current sweep time range, s."""

    @abstractmethod
    def set_time_range(self, seconds: float) -> None:
        """Select a sweep time range (one of ``time_ranges``)."""

    @abstractmethod
    def set_mcp_gain(self, gain: int) -> None:
        """MCP gain setting (0 = off)."""

    @abstractmethod
    def set_delay(self, seconds: float) -> None:
        """Trigger delay of the sweep, s."""

    @abstractmethod
    def set_exposure(self, seconds: float) -> None:
        """Camera exposure time, s."""

    @abstractmethod
    def open_shutter(self) -> None:
        """Open the streak tube's shutter."""

    @abstractmethod
    def close_shutter(self) -> None:
        """Close the streak tube's shutter."""

    @abstractmethod
    def acquire(self) -> np.ndarray:
        """One image, counts, shape (time, wavelength), dark level removed."""

    @property
    @abstractmethod
    def time_axis(self) -> np.ndarray:
        """Time of every image row, s (0 at the trigger plus the delay)."""

    @property
    @abstractmethod
    def wavelength_axis(self) -> np.ndarray:
        """Wavelength of every image column, nm."""

    @property
    @abstractmethod
    def saturated(self) -> bool:
        """Whether any pixel of the last image reached full scale."""

    def safe_state(self) -> None:
        self.close_shutter()
        self.set_mcp_gain(0)


class SourceMeter(Role):
    """A source-measure unit biasing the sample or device."""

    role = "SourceMeter"

    @setpoint("source_voltage", "V")
    @abstractmethod
    def set_voltage(self, volts: float) -> None:
        """Source a voltage (switches to voltage sourcing), V."""

    @setpoint("source_current", "A")
    @abstractmethod
    def set_current(self, amps: float) -> None:
        """Source a current (switches to current sourcing), A."""

    @setpoint("source_current", "A")
    @abstractmethod
    def set_current_compliance(self, amps: float) -> None:
        """Current limit while sourcing voltage, A."""

    @setpoint("source_voltage", "V")
    @abstractmethod
    def set_voltage_compliance(self, volts: float) -> None:
        """Voltage limit while sourcing current, V."""

    @abstractmethod
    def enable_output(self) -> None:
        """Connect the source to the terminals."""

    @abstractmethod
    def disable_output(self) -> None:
        """Disconnect the source."""

    @property
    @abstractmethod
    def output_enabled(self) -> bool:
        """Whether the output is on."""

    @abstractmethod
    def measure(self) -> tuple[float, float]:
        """(voltage V, current A) at the terminals."""

    @property
    @abstractmethod
    def in_compliance(self) -> bool:
        """Whether the last measurement hit the compliance limit."""

    @setpoint("source_voltage", "V")
    @abstractmethod
    def hold_voltage(self, volts: float, duration: float) -> None:
        """Source ``volts`` for ``duration`` s timed by the instrument itself, which then
        takes the bias off on its own: a lost link cannot prolong it. Returns at once."""

    @abstractmethod
    def held_reading(self) -> tuple[float, float]:
        """(voltage V, current A) measured at the end of the last hold (waits for it)."""

    @abstractmethod
    def end_hold(self) -> None:
        """Take the bias of a hold off now."""

    def safe_state(self) -> None:
        self.end_hold()
        self.disable_output()
        self.set_voltage(0.0)


class PulsedSourceMeter(SourceMeter):
    """A source-meter that can run pulsed sweeps (short pulses, measure during each)."""

    role = "PulsedSourceMeter"

    @setpoint("source_voltage", "V", lambda levels, *a, **k: list(levels))
    @setpoint("duty_cycle", "", lambda levels, width, period, *a, **k: width / period)
    @setpoint("source_current", "A", lambda levels, width, period, compliance, **k: compliance)
    @abstractmethod
    def pulsed_sweep(self, levels, width: float, period: float, compliance: float):
        """Voltage pulses of ``width`` s every ``period`` s at each level (V), current
        limited to ``compliance`` A; returns (voltages V, currents A) measured per pulse."""


class PulseGenerator(Role):
    """A pulse/function generator driving a device with voltage pulses."""

    role = "PulseGenerator"

    @setpoint("pulse_amplitude", "V", lambda amplitude, *a, **k: amplitude)
    @setpoint("duty_cycle", "", lambda amplitude, width, period, **k: width / period)
    @abstractmethod
    def set_pulse(self, amplitude: float, width: float, period: float) -> None:
        """Square pulses of ``amplitude`` V (from 0 V), ``width`` s, every ``period`` s."""

    @abstractmethod
    def set_burst(self, count: int | None) -> None:
        """Emit ``count`` pulses per trigger (None: continuous)."""

    @abstractmethod
    def trigger(self) -> None:
        """Software trigger (burst mode)."""

    @abstractmethod
    def enable_output(self) -> None:
        """Switch the output on."""

    @abstractmethod
    def disable_output(self) -> None:
        """Switch the output off."""

    @property
    @abstractmethod
    def output_enabled(self) -> bool:
        """Whether the output is on."""

    def safe_state(self) -> None:
        self.disable_output()


class Oscilloscope(Role):
    """A digital oscilloscope (pulse current through a sense resistor)."""

    role = "Oscilloscope"

    @abstractmethod
    def configure(self, channel: int, volts_per_division: float, seconds_per_division: float,
                  trigger_level: float = 0.0) -> None:
        """Vertical and horizontal scale of ``channel``; edge trigger at ``trigger_level`` V."""

    @abstractmethod
    def waveform(self, channel: int) -> tuple[np.ndarray, np.ndarray]:
        """Acquire a single shot and return (time s, voltage V) of ``channel``."""

    def safe_state(self) -> None:
        """An oscilloscope cannot harm anything."""


class TemperatureController(Role):
    """A cryostat temperature controller."""

    role = "TemperatureController"

    @property
    @abstractmethod
    def temperature(self) -> float:
        """Sample temperature, K."""

    @property
    @abstractmethod
    def temperature_setpoint(self) -> float:
        """Current setpoint, K."""

    @setpoint("temperature", "K")
    @abstractmethod
    def set_setpoint(self, kelvin: float) -> None:
        """Go to ``kelvin`` (at the ramp rate, if one is set)."""

    @setpoint("ramp_rate", "K/min")
    @abstractmethod
    def set_ramp_rate(self, kelvin_per_minute: float) -> None:
        """Setpoint ramp rate, K/min (0: jump)."""

    @property
    @abstractmethod
    def heater_output(self) -> float:
        """Heater output, % of its range."""

    @abstractmethod
    def wait_until_stable(self, tolerance: float, duration: float, timeout: float) -> None:
        """Block until the temperature stays within ±``tolerance`` K of the setpoint for
        ``duration`` s; raise after ``timeout`` s."""

    def safe_state(self) -> None:
        """Hold the current setpoint (a cryostat is safest left regulating)."""


#: Every role interface by name (the bench config's role keys).
ROLES = {cls.role: cls for cls in (
    PumpLaser, TunablePumpLaser, Shutter, Attenuator, PowerMeter, Spectrometer, Spectrograph,
    StreakCamera, SourceMeter, PulsedSourceMeter, PulseGenerator, Oscilloscope,
    TemperatureController, RotationStage, LinearStage)}

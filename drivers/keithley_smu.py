"""What the Keithley source-meter drivers share.

pymeasure's ``Keithley2400`` and ``Keithley2450``, and the SMU channels of its
``Keithley2600``, name their source controls alike (``source_mode``, ``source_voltage``,
``source_current``, ``compliance_current``, ``compliance_voltage``), so the SourceMeter
role is written once here on top of them; each model adds its limits, how it switches
the output, how it reads (``measure``) and how it reports compliance (``in_compliance``).
"""

import math

from .base import DeviceError, PlainAttributes, ReplyError, now
from .roles import SourceMeter

#: The value an overflowed or unmeasured reading reports (9.9e37 / 9.91e37).
OVERFLOW = 9.9e37


def within(value: float, limits: tuple[float, float], what: str, unit: str, model: str) -> float:
    """Refuse ``value`` outside ``limits`` before anything is sent to the instrument."""
    low, high = limits
    if not low <= value <= high:
        raise ValueError(f"{what} {value:g} {unit} is outside the {model}'s range "
                         f"[{low:g}, {high:g}] {unit}")
    return value


def finite(value: float) -> float:
    """A reading, NaN where the instrument reports an overflow."""
    return math.nan if abs(value) >= OVERFLOW else value


class KeithleySourceMeter(PlainAttributes, SourceMeter):
    """The SourceMeter role, mixed in before pymeasure's driver."""

    model = ""
    voltage_limits = (-210.0, 210.0)            # V, source level
    current_limits = (-1.05, 1.05)              # A, source level
    current_compliance_limits = (1e-9, 1.05)    # A
    voltage_compliance_limits = (0.02, 210.0)   # V

    @property
    def controls(self):
        """The object carrying pymeasure's source controls (the instrument or a channel)."""
        return self

    def raise_errors(self) -> None:
        """Read the whole error queue; raise on the first entry."""
        try:
            errors = self.check_errors()
        except (ValueError, TypeError, IndexError) as exc:     # pymeasure could not parse the reply
            raise ReplyError(f"{self.model} error queue reply is garbled: {exc}") from None
        if errors:
            code, message = errors[0][0], str(errors[0][1]).strip('"').partition(";")[0]
            if not isinstance(code, (int, float)) or not math.isfinite(code):
                raise ReplyError(f"{self.model} error queue reply {errors[0]!r:.40} is garbled")
            raise DeviceError(f"{self.model} error {int(code)}: {message}")

    def sense(self, function: str) -> None:
        """Select what a reading measures once the source is ``function``."""

    def switch_output(self, on: bool) -> None:
        """Connect (True) or disconnect the output."""
        self.enable_source() if on else self.disable_source()

    def set_voltage(self, volts: float) -> None:
        within(volts, self.voltage_limits, "source voltage", "V", self.model)
        self.controls.source_mode = "voltage"
        self.controls.source_voltage = volts
        self.sense("voltage")
        self.raise_errors()

    def set_current(self, amps: float) -> None:
        within(amps, self.current_limits, "source current", "A", self.model)
        self.controls.source_mode = "current"
        self.controls.source_current = amps
        self.sense("current")
        self.raise_errors()

    def set_current_compliance(self, amps: float) -> None:
        within(amps, self.current_compliance_limits, "current compliance", "A", self.model)
        self.controls.compliance_current = amps
        self.raise_errors()

    def set_voltage_compliance(self, volts: float) -> None:
        within(volts, self.voltage_compliance_limits, "voltage compliance", "V", self.model)
        self.controls.compliance_voltage = volts
        self.raise_errors()

    def enable_output(self) -> None:
        self.switch_output(True)
        self.raise_errors()

    def disable_output(self) -> None:
        self.switch_output(False)

    @property
    def output_enabled(self) -> bool:
        return bool(self.source_enabled)

    @property
    def identity(self) -> str:
        return self.id

    def settings(self) -> dict:
        c = self.controls
        return {"source": c.source_mode, "source_voltage_V": c.source_voltage,
                "source_current_A": c.source_current,
                "current_compliance_A": c.compliance_current,
                "voltage_compliance_V": c.compliance_voltage,
                "output_enabled": self.output_enabled}

    def start_hold(self, volts: float, duration: float, program) -> None:
        """Source ``volts`` from an off output, load the trigger ``program`` (SCPI
        commands), check the error queue, ``:INIT``: the hold ends ``duration`` s from now."""
        self.switch_output(False)
        self.set_voltage(volts)
        for command in program:
            self.write(command)
        self.raise_errors()
        self.write(":INIT")
        self._hold_end = now(self) + duration

    def reading_time(self) -> float:
        """How long one reading integrates: NPLC / line frequency, s (SCPI models)."""
        replies = self.ask(":SENS:CURR:NPLC?"), self.ask(":SYST:LFR?")
        try:
            nplc, hertz = (float(reply) for reply in replies)
        except ValueError:
            nplc = hertz = math.nan
        if not (0.01 <= nplc <= 10 and hertz in (50.0, 60.0)):
            raise ReplyError(f"{self.model} NPLC / line frequency replies {replies!r:.60} are garbled")
        return nplc / hertz

    def check_fault(self) -> None:
        self.raise_errors()

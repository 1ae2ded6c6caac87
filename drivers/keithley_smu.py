"""What the Keithley source-meter drivers share.

pymeasure's ``Keithley2400`` and ``Keithley2450`` name their controls alike
(``source_mode``, ``source_voltage``, ``compliance_current``, ``enable_source()`` ...),
so the SourceMeter role is written once here on top of them; each model adds its limits
and its way of reading (``measure``) and of reporting compliance (``in_compliance``).
"""

import math

from .base import DeviceError
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


class ScpiSourceMeter(SourceMeter):
    """The SourceMeter role for the SCPI Keithleys (mixed in before pymeasure's driver)."""

    model = ""
    voltage_limits = (-210.0, 210.0)            # V, source level
    current_limits = (-1.05, 1.05)              # A, source level
    current_compliance_limits = (1e-9, 1.05)    # A
    voltage_compliance_limits = (0.02, 210.0)   # V

    def raise_errors(self) -> None:
        """Read the whole SCPI error queue; raise on the first entry."""
        errors = self.check_errors()
        if errors:
            code, message = errors[0][0], str(errors[0][1]).strip('"').partition(";")[0]
            raise DeviceError(f"{self.model} error {int(code)}: {message}")

    def sense(self, function: str) -> None:
        """Select what a reading measures once the source is ``function``."""

    def set_voltage(self, volts: float) -> None:
        within(volts, self.voltage_limits, "source voltage", "V", self.model)
        self.source_mode = "voltage"
        self.source_voltage = volts
        self.sense("voltage")
        self.raise_errors()

    def set_current(self, amps: float) -> None:
        within(amps, self.current_limits, "source current", "A", self.model)
        self.source_mode = "current"
        self.source_current = amps
        self.sense("current")
        self.raise_errors()

    def set_current_compliance(self, amps: float) -> None:
        within(amps, self.current_compliance_limits, "current compliance", "A", self.model)
        self.compliance_current = amps
        self.raise_errors()

    def set_voltage_compliance(self, volts: float) -> None:
        within(volts, self.voltage_compliance_limits, "voltage compliance", "V", self.model)
        self.compliance_voltage = volts
        self.raise_errors()

    def enable_output(self) -> None:
        self.enable_source()
        self.raise_errors()

    def disable_output(self) -> None:
        self.disable_source()

    @property
    def output_enabled(self) -> bool:
        return bool(self.source_enabled)

    @property
    def identity(self) -> str:
        return self.id

    def settings(self) -> dict:
        return {"source": self.source_mode, "source_voltage_V": self.source_voltage,
                "source_current_A": self.source_current,
                "current_compliance_A": self.compliance_current,
                "voltage_compliance_V": self.compliance_voltage,
                "output_enabled": self.output_enabled}

    def check_fault(self) -> None:
        self.raise_errors()

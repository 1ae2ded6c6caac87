"""What the Keithley source-meter twins share: the sample between the terminals, the
compliance limit, measurement ranges and reading noise (and, for the two SCPI models,
their common command behaviour).

The device under test is the bench's sample: ``sample.current(V, environment)`` (a bare
film only leaks; a device preset is a diode with series resistance). A voltage source
whose current would exceed the limit becomes a current source at the limit, and the
terminal voltage drops to what the sample lets through; a current source whose voltage
would exceed the limit stops at that voltage. With the output off the terminals are
open for the rest of the bench (``terminal_voltage()`` is None).
"""

import math
from dataclasses import dataclass, replace

from scipy import optimize

from .twin import SILENT, Twin, command, computed, scpi_short_form


@dataclass(frozen=True)
class OperatingPoint:
    voltage: float        # V across the sample
    current: float        # A through it
    compliance: bool      # the limit holds the source back


OFF = OperatingPoint(0.0, 0.0, False)


class SourceMeasureTwin(Twin):
    """Options: ``noise`` (rms reading noise as a fraction of the measurement range,
    default 2e-5), ``line_frequency`` (Hz, default 50: sets the integration time of NPLC)."""

    #: Measurement ranges of the model, A and V (ascending).
    CURRENT_RANGES: tuple = ()
    VOLTAGE_RANGES: tuple = ()
    #: A reading beyond OVERRANGE × range is reported as OVERFLOW.
    OVERRANGE = 1.05
    OVERFLOW = 9.9e37

    def attach(self, name, device):
        super().attach(name, device)
        self.noise = float(self.options.get("noise", 2e-5))
        self.line_frequency = float(self.options.get("line_frequency", 50.0))
        self._solving = False

    def source(self) -> tuple[bool, str, float, float]:
        """(output on, "VOLT" or "CURR", level in V or A, limit in A or V)."""
        raise NotImplementedError

    # -- physics ------------------------------------------------------------------
    def operating_point(self, function: str, level: float, limit: float) -> OperatingPoint:
        """Where a source of ``function`` at ``level`` with ``limit`` settles on the sample."""
        limit = abs(limit)
        sample = self.sim.sample
        if sample is None:                           # nothing connected: open terminals
            if function == "VOLT" or level == 0:
                return OperatingPoint(level if function == "VOLT" else 0.0, 0.0, False)
            return OperatingPoint(math.copysign(limit, level), 0.0, True)
        self._solving = True                         # the optics ask us for the bias
        try:
            env = self.sim.optics.environment()
        finally:
            self._solving = False

        def current(volts):
            return sample.current(volts, replace(env, bias_voltage=volts))

        if function == "VOLT":
            amps = current(level)
            if abs(amps) <= limit:
                return OperatingPoint(level, amps, False)
            target = math.copysign(limit, amps)
            volts = optimize.brentq(lambda v: current(v) - target, *sorted((0.0, level)))
            return OperatingPoint(volts, target, True)
        for edge in (limit, -limit):
            amps = current(edge)
            if (edge > 0 and amps < level) or (edge < 0 and amps > level):
                return OperatingPoint(edge, amps, True)
        volts = optimize.brentq(lambda v: current(v) - level, -limit, limit)
        return OperatingPoint(volts, level, False)

    def present(self) -> OperatingPoint:
        """The operating point now (output off: nothing flows, 0 V)."""
        on, function, level, limit = self.source()
        return self.operating_point(function, level, limit) if on else OFF

    def terminal_voltage(self) -> float | None:
        """Voltage across the sample, V; None while the output is off."""
        if self._solving or not self.source()[0]:
            return None
        return self.present().voltage

    def reading(self, value: float, ranges, fixed: float | None = None) -> tuple[float, float]:
        """A noisy reading of ``value`` on the ``fixed`` range (None: autorange) and the
        range used; beyond the range the instrument reports an overflow."""
        span = fixed if fixed is not None else self.range_for(value, ranges)
        if abs(value) > self.OVERRANGE * span:
            return self.OVERFLOW, span
        return value + self.noise * span * self.rng.standard_normal(), span

    @staticmethod
    def range_for(value: float, ranges) -> float:
        """The range a programmed range value selects (the lowest that holds it)."""
        return next((r for r in ranges if abs(value) <= r), ranges[-1])

    def integrate(self, nplc: float) -> None:
        """The instrument is busy for one integration period."""
        self.sleep(nplc / self.line_frequency)

    def safe_state_reached(self) -> bool:
        on, function, level, _ = self.source()
        return not on and function == "VOLT" and level == 0


#: Long forms and ON/OFF of the SCPI settings, as the instruments report them.
_WORDS = {"VOLTAGE": "VOLT", "CURRENT": "CURR", "ON": "1", "OFF": "0"}


def short_word(text: str) -> str:
    """``'VOLTage:DC'`` -> ``VOLT:DC``: an SCPI parameter word in its short form."""
    return scpi_short_form(text.strip().strip("'\"").encode()).decode()


def sense_function(text: str) -> str:
    """``"VOLTage"`` -> ``VOLT:DC``: a sense function as the instruments report it."""
    word = short_word(text)
    return word if word == "RES" or ":" in word else word + ":DC"


class ScpiSourceMeterTwin(SourceMeasureTwin):
    """The 2400 and 2450 twins. Their YAMLs name the properties alike: ``output``,
    ``source_function``, ``source_voltage``, ``source_current``, ``current_limit``,
    ``voltage_limit``, ``current_range``/``current_autorange``, ``voltage_range``/
    ``voltage_autorange``, ``nplc``, ``current_limit_tripped``, ``voltage_limit_tripped``."""

    scpi = True
    #: SCPI error code and message of a value outside a setting's range.
    OUT_OF_RANGE = (-222, "Data out of range")
    UNDEFINED_HEADER = (-113, "Undefined header")

    def attach(self, name, device):
        super().attach(name, device)
        self._defaults = {n: p._value for n, p in device._properties.items()}
        self._pending = None

    def error_entry(self, code: int, message: str) -> str:
        """One entry of the SYST:ERR? queue as the model words it."""
        return f'{code:+d},"{message}"'

    # -- state --------------------------------------------------------------------
    def source(self):
        function = self.get("source_function")
        if function == "VOLT":
            return self.output_on(), "VOLT", self.get("source_voltage"), self.get("current_limit")
        return self.output_on(), "CURR", self.get("source_current"), self.get("voltage_limit")

    def output_on(self) -> bool:
        return self.get("output") == "1"

    def fixed_range(self, quantity: str) -> float | None:
        """The programmed measurement range of "current" or "voltage", None on autorange."""
        return None if self.get(f"{quantity}_autorange") == "1" else self.get(f"{quantity}_range")

    def measured(self, point: OperatingPoint) -> tuple[float, float]:
        """Readings of voltage and current at ``point`` (autorange follows the values)."""
        out = []
        for quantity, value, ranges in (("voltage", point.voltage, self.VOLTAGE_RANGES),
                                        ("current", point.current, self.CURRENT_RANGES)):
            fixed = self.fixed_range(quantity)
            reading, span = self.reading(value, ranges, fixed)
            if fixed is None:
                self.put(f"{quantity}_range", span)
            out.append(reading)
        return out[0], out[1]

    @computed("current_limit_tripped")
    def current_limit_tripped(self):
        on, function, *_ = self.source()
        return int(on and function == "VOLT" and self.present().compliance)

    @computed("voltage_limit_tripped")
    def voltage_limit_tripped(self):
        on, function, *_ = self.source()
        return int(on and function == "CURR" and self.present().compliance)

    # -- commands -----------------------------------------------------------------
    @command(r"\*RST")
    def reset(self, match):
        for name, value in self._defaults.items():
            self.put(name, value)
        return SILENT

    @command(r"SOUR:(VOLT|CURR)(?::LEV(?::IMM(?::AMPL)?)?)? (.+)")
    def source_level(self, match):
        """Every form of the level command (``:SOUR:VOLT[:LEV[:IMM[:AMPL]]] <n>``)."""
        name = "source_voltage" if match[1] == b"VOLT" else "source_current"
        try:
            self.device._properties[name].set_value(match[2].decode())
        except ValueError:
            self.device.error_response("command_error")
        return SILENT

    @command(r"\*CLS")
    def clear_status(self, match):
        for queue in self.device._error_queues.values():
            queue.clear()
        return SILENT

    def after_setting(self, name, value):
        if isinstance(value, str) and value in _WORDS:
            self.put(name, _WORDS[value])
        if name in ("current_range", "voltage_range"):
            ranges = self.CURRENT_RANGES if name == "current_range" else self.VOLTAGE_RANGES
            self.put(name, self.range_for(value, ranges))
            self.put(name.replace("range", "autorange"), "0")

    def refused(self, name, value, error):
        if self.device._properties[name].specs.type is str:
            self._pending = (-141, "Invalid character data")
            return
        try:
            float(value)
        except ValueError:
            self._pending = (-104, "Data type error")
        else:
            self._pending = self.OUT_OF_RANGE

    def on_command_error(self, error_key):
        """Word the entry the YAML queued as the instrument does."""
        for queue in self.device._error_queues.values():
            if queue._queue:
                queue._queue.pop()
        self.push_error(self.error_entry(*(self._pending or self.UNDEFINED_HEADER)))
        self._pending = None

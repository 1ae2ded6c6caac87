"""Twin of the Keithley 2400 SourceMeter: SCPI readings computed from the sample.

The trigger model is timed, not stepped: ``:INIT`` (or ``:READ?``) starts ``arm count ×
trigger count`` source-delay-measure cycles, each the source delay plus NPLC / line
frequency long; ``:FETC?`` answers when they are over with one reading per cycle
(taken at the setting then, the same for every cycle); ``:ABOR`` returns to idle. With
auto output-off (``:SOUR:CLE:AUTO ON``) the output is on from ``:INIT`` to the end of
the last cycle (mode ALWays switches it off for microseconds between cycles; not
modelled), then off by itself. Other commands are taken at once, also during a sweep.
"""

from dataclasses import dataclass

from .keithley_smu import ScpiSourceMeterTwin, sense_function, short_word
from .twin import SILENT, command, computed

NOT_MEASURED = 9.91e37          # an element whose function is off (NAN)
FUNCTIONS = {"VOLT:DC", "CURR:DC", "RES"}
ELEMENTS = {"VOLT", "CURR", "RES", "TIME", "STAT"}
#: Status word bits of the 2400 (User's Manual, ":FORMat:ELEMents", STATus element).
OVERFLOW_BIT, FRONT_TERMINALS_BIT, COMPLIANCE_BIT = 1, 4, 8


@dataclass(frozen=True)
class Sweep:
    """A run of the trigger model out of idle."""
    end: float          # simulated time the last source-delay-measure cycle ends
    count: int          # readings it takes
    auto_off: bool      # auto output-off: the output is on until ``end`` only


class Keithley2400Twin(ScpiSourceMeterTwin):
    """A 2400 with the bench's sample on its front terminals (options: see
    ``SourceMeasureTwin``)."""

    definition = "keithley_2400.yaml"
    CURRENT_RANGES = (1.05e-6, 1.05e-5, 1.05e-4, 1.05e-3, 1.05e-2, 1.05e-1, 1.05)
    VOLTAGE_RANGES = (0.21, 2.1, 21.0, 210.0)
    OVERRANGE = 1.0

    def check_setting(self, name, value):
        if name == "sense_functions":
            if not {sense_function(f) for f in value.split(",")} <= FUNCTIONS:
                raise ValueError(f"unknown sense function in {value}")
        elif name == "elements":
            if not {short_word(e) for e in value.split(",")} <= ELEMENTS:
                raise ValueError(f"unknown element in {value}")

    def attach(self, name, device):
        super().attach(name, device)
        self.sweep = None

    @computed("line_frequency")
    def line_frequency_setting(self):
        return int(self.line_frequency)

    def after_setting(self, name, value):
        super().after_setting(name, value)
        if name == "output" and self.get("output") == "0":
            self.sweep = None                   # switched off: the trigger model stops
        elif name == "source_delay":
            self.put("source_delay_auto", "0")  # a manual delay replaces the auto delay
        elif name == "auto_off_mode":
            self.put(name, short_word(value))
        elif name == "sense_functions":
            self.put(name, ",".join(f'"{sense_function(f)}"' for f in value.split(",")))
        elif name == "elements":
            self.put(name, ",".join(short_word(e) for e in value.split(",")))

    # -- trigger model ------------------------------------------------------------
    def output_on(self) -> bool:
        """On while programmed on, or while a sweep with auto output-off runs."""
        sweep = self.sweep
        return super().output_on() or (sweep is not None and sweep.auto_off
                                       and self.clock.now() < sweep.end)

    def initiate(self) -> bool:
        """Leave idle for ``arm count × trigger count`` source-delay-measure cycles;
        refused (+803) with the output off unless auto output-off turns it on."""
        auto_off = self.get("auto_off") == "1"
        if not (auto_off or super().output_on()):
            self.push_error(self.error_entry(803, "Not permitted with OUTPUT off"))
            return False
        delay = 0.0 if self.get("source_delay_auto") == "1" else self.get("source_delay")
        cycles = self.get("arm_count") * self.get("trigger_count")
        cycle = delay + self.get("nplc") / self.line_frequency
        self.sweep = Sweep(self.clock.now() + cycles * cycle, cycles, auto_off)
        if auto_off:
            self.put("output", "0")       # the trigger model switches it from now on
        return True

    @command(r"INIT(?::IMM)?")
    def initiate_command(self, match):
        self.initiate()
        return SILENT

    @command(r"ABOR")
    def abort(self, match):
        """Back to idle at once: no readings, the output off if auto output-off had it on."""
        self.sweep = None
        return SILENT

    @command(r"FETC\?")
    def fetch(self, match):
        """The readings of the last sweep, once it is done (-230 if there are none)."""
        if self.sweep is None:
            self.push_error(self.error_entry(-230, "Data corrupt or stale"))
            return SILENT
        self.sleep(self.sweep.end - self.clock.now())
        return ",".join(self.reading_elements() for _ in range(self.sweep.count))

    @command(r"READ\?")
    def read(self, match):
        """:INIT then :FETC? (no reply, +803, with the output off)."""
        return self.fetch(match) if self.initiate() else SILENT

    @command(r"OUTP\?")
    def output_query(self, match):
        return "1" if self.output_on() else "0"

    def reading_elements(self) -> str:
        """One reading of the :FORM:ELEM elements, with the source on."""
        on, function, level, limit = self.source()
        point = self.operating_point(function, level, limit)
        volts, amps = self.measured(point)
        functions = self.get("sense_functions")
        if "VOLT" not in functions:
            volts = level if function == "VOLT" else NOT_MEASURED
        if "CURR" not in functions:
            amps = level if function == "CURR" else NOT_MEASURED
        status = FRONT_TERMINALS_BIT
        if self.OVERFLOW in (volts, amps):
            status |= OVERFLOW_BIT
        if point.compliance:
            status |= COMPLIANCE_BIT
        ohms = volts / amps if "RES" in functions and amps not in (0, NOT_MEASURED) else NOT_MEASURED
        values = {"VOLT": volts, "CURR": amps, "RES": ohms, "TIME": self.clock.now(),
                  "STAT": status}
        return ",".join(f"{values[e]:+.6E}" for e in self.get("elements").split(","))

"""Twin of the Keithley 2450 SourceMeter (SCPI command set): readings from the sample."""

import datetime
import re

from .keithley_smu import ScpiSourceMeterTwin, sense_function, short_word
from .twin import SILENT, command

_READ = re.compile(r"""\s*(?:["'](\w+)["']\s*(?:,(.*))?)?""", re.DOTALL)
BUFFERS = ("defbuffer1", "defbuffer2")
UNITS = {"VOLT": "Volt DC", "CURR": "Amp DC"}
#: The instrument clock at simulated time 0 (time stamps of the event log).
EPOCH = datetime.datetime(2026, 1, 1)


class Keithley2450Twin(ScpiSourceMeterTwin):
    """A 2450 in SCPI mode with the bench's sample on its terminals (options: see
    ``SourceMeasureTwin``). With the output off it measures the normal off-state (0 V)."""

    definition = "keithley_2450.yaml"
    CURRENT_RANGES = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    VOLTAGE_RANGES = (0.02, 0.2, 2.0, 20.0, 200.0)
    OUT_OF_RANGE = (-222, "Parameter data out of range")

    def error_entry(self, code, message):
        when = EPOCH + datetime.timedelta(seconds=self.clock.now())
        stamp = when.strftime("%Y/%m/%d %H:%M:%S.") + f"{when.microsecond // 1000:03d}"
        return f'{code},"{message};1;{stamp}"'

    def check_setting(self, name, value):
        if name == "sense_function" and sense_function(value) not in ("VOLT:DC", "CURR:DC"):
            raise ValueError(f"unknown sense function {value}")

    def after_setting(self, name, value):
        super().after_setting(name, value)
        if name == "sense_function":
            self.put(name, sense_function(value))

    @command(r"READ\?(.*)")
    def read(self, match):
        """``:READ? ["<buffer>"[, <element>...]]``: measure, answer the chosen elements."""
        parsed = _READ.fullmatch(match[1].decode())
        names = [short_word(e) for e in parsed[2].split(",")] if parsed and parsed[2] else ["READ"]
        if not parsed or parsed[1] not in (None, *BUFFERS) \
                or not set(names) <= {"READ", "SOUR", "UNIT", "SOURUNIT"}:
            self.push_error(self.error_entry(-224, "Illegal parameter value"))
            return SILENT
        self.integrate(self.get("nplc"))
        volts, amps = self.measured(self.present())
        measuring = self.get("sense_function").partition(":")[0]
        sourcing = self.get("source_function")
        value = {"VOLT": volts, "CURR": amps}
        fields = {"READ": f"{value[measuring]:.6E}", "SOUR": f"{value[sourcing]:.6E}",
                  "UNIT": UNITS[measuring], "SOURUNIT": UNITS[sourcing]}
        return ",".join(fields[n] for n in names)

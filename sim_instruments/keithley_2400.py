"""Twin of the Keithley 2400 SourceMeter: SCPI readings computed from the sample."""

from .keithley_smu import ScpiSourceMeterTwin, sense_function, short_word
from .twin import SILENT, command

NOT_MEASURED = 9.91e37          # an element whose function is off (NAN)
FUNCTIONS = {"VOLT:DC", "CURR:DC", "RES"}
ELEMENTS = {"VOLT", "CURR", "RES", "TIME", "STAT"}
#: Status word bits of the 2400 (User's Manual, ":FORMat:ELEMents", STATus element).
OVERFLOW_BIT, FRONT_TERMINALS_BIT, COMPLIANCE_BIT = 1, 4, 8


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

    def after_setting(self, name, value):
        super().after_setting(name, value)
        if name == "sense_functions":
            self.put(name, ",".join(f'"{sense_function(f)}"' for f in value.split(",")))
        elif name == "elements":
            self.put(name, ",".join(short_word(e) for e in value.split(",")))

    @command(r"READ\?")
    def read(self, match):
        """One source-measure cycle; refused (+803, no reply) with the output off."""
        if not self.output_on():
            self.push_error(self.error_entry(803, "Not permitted with OUTPUT off"))
            return SILENT
        volts, amps, point = self.measured()
        functions = self.get("sense_functions")
        sourcing = self.get("source_function")
        if "VOLT" not in functions:
            volts = self.get("source_voltage") if sourcing == "VOLT" else NOT_MEASURED
        if "CURR" not in functions:
            amps = self.get("source_current") if sourcing == "CURR" else NOT_MEASURED
        status = FRONT_TERMINALS_BIT
        if self.OVERFLOW in (volts, amps):
            status |= OVERFLOW_BIT
        if point.compliance:
            status |= COMPLIANCE_BIT
        ohms = volts / amps if "RES" in functions and amps not in (0, NOT_MEASURED) else NOT_MEASURED
        values = {"VOLT": volts, "CURR": amps, "RES": ohms, "TIME": self.clock.now(),
                  "STAT": status}
        return ",".join(f"{values[e]:+.6E}" for e in self.get("elements").split(","))

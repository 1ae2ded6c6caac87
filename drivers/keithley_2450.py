"""Keithley 2450 SourceMeter (SCPI command set) as a SourceMeter.

Subclasses pymeasure's ``Keithley2450`` (*Model 2450 Reference Manual*, 2450-901-01,
§6 "SCPI command reference"; the instrument must be in the SCPI command set,
``*LANG SCPI``). USB-TMC or LAN, LF terminated. The source limits are the 2450's own
``:SOUR:VOLT:ILIM`` / ``:SOUR:CURR:VLIM``; a reading is ``:READ? "defbuffer1", READ,
SOUR`` (the measured quantity and the source read back); whether the source is held at
its limit is ``:SOUR:VOLT:ILIM:TRIP?`` / ``:SOUR:CURR:VLIM:TRIP?``. Errors come from
the event log, ``:SYST:ERR?`` (``-222,"Parameter data out of range;1;<time>"``).
"""

from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley.keithley2450 import Keithley2450 as PymeasureKeithley2450
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .base import flag
from .keithley_smu import KeithleySourceMeter, finite

#: What a reading measures while sourcing voltage or current.
SENSE = {"voltage": "CURR", "current": "VOLT"}


class Keithley2450(KeithleySourceMeter, PymeasureKeithley2450):
    """Keithley 2450: ±210 V, ±1.05 A; current limit 1 nA–1.05 A, voltage limit 20 mV–210 V."""

    model = "Keithley 2450"

    def __init__(self, adapter, name="Keithley 2450 SourceMeter", **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        super().__init__(adapter, name, **kwargs)

    # pymeasure truncates out-of-range limits silently; the 2450's own ranges, strictly:
    compliance_current = Instrument.control(
        ":SOUR:VOLT:ILIM?", ":SOUR:VOLT:ILIM %g", "Control the current limit in A.",
        validator=strict_range, values=KeithleySourceMeter.current_compliance_limits)
    compliance_voltage = Instrument.control(
        ":SOUR:CURR:VLIM?", ":SOUR:CURR:VLIM %g", "Control the voltage limit in V.",
        validator=strict_range, values=KeithleySourceMeter.voltage_compliance_limits)
    sense_function = Instrument.control(
        ":SENS:FUNC?", ':SENS:FUNC "%s"', "Control the measured quantity: CURR or VOLT.",
        validator=strict_discrete_set, values=("CURR", "VOLT"),
        preprocess_reply=lambda reply: reply.strip('"').partition(":")[0], cast=str)

    def sense(self, function: str) -> None:
        self.sense_function = SENSE[function]

    def measure(self) -> tuple[float, float]:
        sourcing = self.source_mode
        reading, source = self.values(':READ? "defbuffer1", READ, SOUR')
        volts, amps = (source, reading) if sourcing == "voltage" else (reading, source)
        return finite(volts), finite(amps)

    @property
    def in_compliance(self) -> bool:
        limit = "VOLT:ILIM" if self.source_mode == "voltage" else "CURR:VLIM"
        return flag(self.ask(f":SOUR:{limit}:TRIP?"))

    def settings(self) -> dict:
        return super().settings() | {"sense": self.sense_function}

"""Keithley 2400 SourceMeter as a SourceMeter.

Subclasses pymeasure's ``Keithley2400`` (SCPI command set of the *Series 2400
SourceMeter User's Manual*, 2400S-900-01, §18). GPIB or RS-232, LF terminated.
Readings: ``:READ?`` returns the ``:FORM:ELEM`` list ``VOLT,CURR,RES,TIME,STAT`` (set by
pymeasure at connection); voltage and current are measured concurrently
(``:SENS:FUNC "VOLT","CURR"``). Compliance is bit 3 of the STATus word of the reading.
Errors are read from ``:SYST:ERR?`` after every setting (``-222,"Data out of range"``);
with the output off the 2400 refuses ``:READ?`` (``+803``), so the driver asks first.
"""

from pymeasure.instruments.keithley.keithley2400 import Keithley2400 as PymeasureKeithley2400

from .base import DeviceError, ReplyError
from .keithley_smu import KeithleySourceMeter, finite

COMPLIANCE_BIT = 8


class Keithley2400(KeithleySourceMeter, PymeasureKeithley2400):
    """Keithley 2400: ±210 V, ±1.05 A."""

    model = "Keithley 2400"
    current_compliance_limits = (1e-9, 1.05)
    voltage_compliance_limits = (2e-4, 210.0)

    def __init__(self, adapter, name="Keithley 2400 SourceMeter", **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        super().__init__(adapter, name, **kwargs)
        self.write(":SENS:FUNC:CONC ON")
        self.write(':SENS:FUNC "VOLT","CURR"')
        self._status = None

    def measure(self) -> tuple[float, float]:
        if not self.source_enabled:
            raise DeviceError(f"{self.model}: the output is off, it takes no reading")
        volts, amps, _, _, status = self.values(":READ?")
        try:
            self._status = int(status)
        except (TypeError, ValueError):
            raise ReplyError(f"{self.model} status word {status!r:.40} is garbled") from None
        return finite(volts), finite(amps)

    @property
    def in_compliance(self) -> bool:
        """Compliance bit of the last reading's status word (takes one if there is none)."""
        if self._status is None:
            self.measure()
        return bool(self._status & COMPLIANCE_BIT)

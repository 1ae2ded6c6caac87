"""Keithley 2400 SourceMeter as a SourceMeter.

Subclasses pymeasure's ``Keithley2400`` (SCPI command set of the *Series 2400
SourceMeter User's Manual*, 2400S-900-01, §18). GPIB or RS-232, LF terminated.
Readings: ``:READ?`` returns the ``:FORM:ELEM`` list ``VOLT,CURR,RES,TIME,STAT`` (set by
pymeasure at connection); voltage and current are measured concurrently
(``:SENS:FUNC "VOLT","CURR"``). Compliance is bit 3 of the STATus word of the reading.
Errors are read from ``:SYST:ERR?`` after every setting (``-222,"Data out of range"``);
with the output off the 2400 refuses ``:READ?`` (``+803``), so the driver asks first.

A hold (``hold_voltage``) runs on the trigger model (§11 "Triggering", §18
``:SOURce:CLEar:AUTO``): auto output-off in mode TCOunt turns the output on at
``:INIT`` and off once the trigger count of source-delay-measure cycles has run, by the
instrument's own timing. ``n`` cycles of source delay ``duration / n − NPLC / line
frequency`` (pymeasure's delay limit, 999.9999 s, sets ``n``) cover the hold; ``:FETC?``
returns their readings, ``:ABOR`` ends it early.
"""

import math

from pymeasure.instruments.keithley.keithley2400 import Keithley2400 as PymeasureKeithley2400

from .base import DeviceError, ReplyError, flag, now, wait
from .keithley_smu import KeithleySourceMeter, finite, within

COMPLIANCE_BIT = 8
ELEMENTS = 5            # VOLT, CURR, RES, TIME, STAT per reading
MAX_DELAY = 999.9999    # s, source delay of one cycle


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
        self._hold_end = None

    def measure(self) -> tuple[float, float]:
        if not self.source_enabled:
            raise DeviceError(f"{self.model}: the output is off, it takes no reading")
        return self._reading(self.values(":READ?"))

    def _reading(self, values) -> tuple[float, float]:
        """(V, A) of the last reading in a reply, keeping its status word."""
        volts, amps, _, _, status = values[-ELEMENTS:]
        try:
            self._status = int(status)
        except (TypeError, ValueError):
            raise ReplyError(f"{self.model} status word {status!r:.40} is garbled") from None
        return finite(volts), finite(amps)

    def hold_voltage(self, volts: float, duration: float) -> None:
        within(volts, self.voltage_limits, "source voltage", "V", self.model)
        if not duration > 0:
            raise ValueError(f"hold of {duration:g} s: it must last longer than 0 s")
        reading_time = self.reading_time()
        cycles = math.ceil(duration / MAX_DELAY)
        delay = duration / cycles - reading_time
        if delay < 0:
            raise ValueError(f"hold of {duration:g} s is shorter than one reading ({reading_time:g} s)")
        self.start_hold(volts, duration, (":SOUR:CLE:AUTO ON", ":SOUR:CLE:AUTO:MODE TCO",
                                          f":SOUR:DEL {delay:.4f}", ":ARM:COUN 1", f":TRIG:COUN {cycles}"))

    def held_reading(self) -> tuple[float, float]:
        if self._hold_end is None:
            raise DeviceError(f"{self.model}: no hold to read")
        wait(self, max(0.0, self._hold_end - now(self)))
        reading = self._reading(self.values(":FETC?"))
        self._idle()
        return reading

    def end_hold(self) -> None:
        self.write(":ABOR")
        self._idle()

    def _idle(self) -> None:
        """Back to plain d.c. operation: auto output-off disabled, one cycle per reading."""
        for command in (":SOUR:CLE:AUTO OFF", ":TRIG:COUN 1", ":SOUR:DEL:AUTO ON"):
            self.write(command)
        self._hold_end = None

    @property
    def in_compliance(self) -> bool:
        """Compliance bit of the last reading's status word (takes one if there is none);
        during a hold, which a reading would end, the compliance trip flag."""
        if self._hold_end is not None:
            return flag(self.ask(":SENS:CURR:PROT:TRIP?"))
        if self._status is None:
            self.measure()
        return bool(self._status & COMPLIANCE_BIT)

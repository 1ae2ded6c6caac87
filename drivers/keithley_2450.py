"""Keithley 2450 SourceMeter (SCPI command set) as a SourceMeter.

Subclasses pymeasure's ``Keithley2450`` (*Model 2450 Reference Manual*, 2450-901-01,
§6 "SCPI command reference"; the instrument must be in the SCPI command set,
``*LANG SCPI``). USB-TMC or LAN, LF terminated. The source limits are the 2450's own
``:SOUR:VOLT:ILIM`` / ``:SOUR:CURR:VLIM``; a reading is ``:READ? "defbuffer1", READ,
SOUR`` (the measured quantity and the source read back); whether the source is held at
its limit is ``:SOUR:VOLT:ILIM:TRIP?`` / ``:SOUR:CURR:VLIM:TRIP?``. Errors come from
the event log, ``:SYST:ERR?`` (``-222,"Parameter data out of range;1;<time>"``).

A hold (``hold_voltage``) is a trigger model of blocks (§3 "Trigger model", §6
``:TRIGger:BLOCk:...``) loaded on the empty model and started with ``:INIT``: clear
``defbuffer1``, source output on, constant delays, one measurement, source output off.
The instrument times the blocks and switches the output off itself at the end;
``:TRIG:STAT?`` tells when it is idle again and ``:FETC?`` returns the reading.
``:ABOR`` stops it, leaving the output as the blocks left it (``end_hold`` switches it
off). A constant delay block lasts at most 10 ks, so a longer hold takes several.
"""

import math

from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley.keithley2450 import Keithley2450 as PymeasureKeithley2450
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .base import DeviceError, flag, now, poll
from .keithley_smu import KeithleySourceMeter, finite, within

#: What a reading measures while sourcing voltage or current.
SENSE = {"voltage": "CURR", "current": "VOLT"}
DELAY_LIMITS = (167e-9, 10e3)     # s, one constant delay block
MAX_DELAY_BLOCKS = 10             # a hold of up to 100 ks, like the 2636B's


class Keithley2450(KeithleySourceMeter, PymeasureKeithley2450):
    """Keithley 2450: ±210 V, ±1.05 A; current limit 1 nA–1.05 A, voltage limit 20 mV–210 V."""

    model = "Keithley 2450"

    def __init__(self, adapter, name="Keithley 2450 SourceMeter", **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        super().__init__(adapter, name, **kwargs)
        self._hold_end = None

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
        return self._reading(":READ?")

    def _reading(self, command: str) -> tuple[float, float]:
        """(V, A) of ``:READ?`` or ``:FETC?`` asking for the reading and the source."""
        sourcing = self.source_mode
        reading, source = self.values(f'{command} "defbuffer1", READ, SOUR')
        volts, amps = (source, reading) if sourcing == "voltage" else (reading, source)
        return finite(volts), finite(amps)

    # -- a hold timed by the instrument -------------------------------------------------
    def hold_voltage(self, volts: float, duration: float) -> None:
        within(volts, self.voltage_limits, "source voltage", "V", self.model)
        longest = MAX_DELAY_BLOCKS * DELAY_LIMITS[1]
        if not 0 < duration <= longest:
            raise ValueError(f"hold of {duration:g} s is outside the {self.model}'s range "
                             f"(0, {longest:g}] s ({MAX_DELAY_BLOCKS} delay blocks of "
                             f"{DELAY_LIMITS[1]:g} s)")
        reading_time = self.reading_time()
        blocks = max(1, math.ceil((duration - reading_time) / DELAY_LIMITS[1]))
        delay = (duration - reading_time) / blocks
        if delay < DELAY_LIMITS[0]:
            raise ValueError(f"hold of {duration:g} s is shorter than one reading "
                             f"({reading_time:g} s) and the shortest delay")
        commands = [':TRIG:LOAD "Empty"', ":TRIG:BLOC:BUFF:CLE 1", ":TRIG:BLOC:SOUR:STAT 2, ON"]
        commands += [f":TRIG:BLOC:DEL:CONS {3 + k}, {delay:.9g}" for k in range(blocks)]
        commands += [f":TRIG:BLOC:MEAS {3 + blocks}", f":TRIG:BLOC:SOUR:STAT {4 + blocks}, OFF"]
        self.start_hold(volts, duration, commands)

    def held_reading(self) -> tuple[float, float]:
        if self._hold_end is None:
            raise DeviceError(f"{self.model}: no hold to read")
        states = []

        def stopped():
            states.append(self.ask(":TRIG:STAT?").partition(";")[0].strip())
            return states[-1] != "RUNNING"

        try:
            poll(self, stopped, timeout=max(0.0, self._hold_end - now(self)) + 1.0,
                 what=f"{self.model} hold", expected=self._hold_end - now(self))
        finally:
            self._hold_end = None
        if states[-1] != "IDLE":
            raise DeviceError(f"{self.model}: the hold's trigger model ended {states[-1]}")
        return self._reading(":FETC?")

    def end_hold(self) -> None:
        self.write(":ABOR")
        self.switch_output(False)
        self._hold_end = None

    @property
    def in_compliance(self) -> bool:
        limit = "VOLT:ILIM" if self.source_mode == "voltage" else "CURR:VLIM"
        return flag(self.ask(f":SOUR:{limit}:TRIP?"))

    def settings(self) -> dict:
        return super().settings() | {"sense": self.sense_function}

"""Keithley 2636B System SourceMeter (TSP) as a PulsedSourceMeter, on SMU channel A.

Subclasses pymeasure's ``Keithley2600`` (TSP: the host writes Lua statements and reads
what ``print`` prints; *Series 2600B Reference Manual*, 2600BS-901-01, §7 "TSP command
reference"). GPIB or LAN, LF terminated. Errors come from ``errorqueue.next()``
(``1101 Parameter too big``, ``-285`` syntax) and are read after every setting.

Pulsed sweeps use the trigger model (Reference Manual, "Triggering"; Keithley's
pulsed-sweep examples): timer 1, started by ``ARMED`` and passed through, paces the
points every ``period``; timer 2, started by each ``SOURCE_COMPLETE``, ends each pulse
after ``width`` (``endpulse.action = SOURCE_IDLE`` returns to 0 V); the current is
limited by ``smua.trigger.source.limiti`` (pulse ranges up to 10 A) and measured during
the pulse, integrating over half of it, into ``nvbuffer1`` (I) and ``nvbuffer2`` (V).
Afterwards the output is off and the source and current ranges are automatic again.

A hold (``hold_voltage``) is one such pulse of width ``duration`` from the idle level
0 V: timer 2, started by ``SOURCE_COMPLETE``, ends it after ``duration`` and
``endpulse.action = SOURCE_IDLE`` returns the SMU to 0 V by itself; timer 1, started by
the same event, starts the one measurement ``duration`` − integration time later, so it
ends with the hold. The host does not wait (no ``waitcomplete()``): ``held_reading``
waits on its own clock, then reads the buffers; ``smua.abort()`` ends a hold early. The
2600B has no automatic output-off: after a hold the output stays on at 0 V. Timer delays
reach 100 ks (``trigger.timer[N].delay``), which bounds a hold.
"""

import warnings

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley.keithley2600 import Channel
from pymeasure.instruments.keithley.keithley2600 import Keithley2600 as PymeasureKeithley2600
from pymeasure.instruments.validators import strict_range

from .base import DeviceError, ReplyError, now, poll
from .keithley_smu import KeithleySourceMeter, finite, within
from .roles import PulsedSourceMeter


class SMUChannel(Channel):
    """One SMU with the 2636B's ranges enforced and levels sent at full precision
    (pymeasure's channel formats them with ``%f``, which turns 1e-7 A into 0)."""

    source_voltage = Instrument.control(
        "source.levelv", "source.levelv=%g", "Control the source voltage in V.",
        validator=strict_range, values=(-200.0, 200.0))
    source_current = Instrument.control(
        "source.leveli", "source.leveli=%g", "Control the source current in A.",
        validator=strict_range, values=(-1.5, 1.5))
    compliance_current = Instrument.control(
        "source.limiti", "source.limiti=%g", "Control the current limit in A.",
        validator=strict_range, values=(1e-11, 1.5))
    compliance_voltage = Instrument.control(
        "source.limitv", "source.limitv=%g", "Control the voltage limit in V.",
        validator=strict_range, values=(0.02, 200.0))
    compliance = Instrument.measurement(
        "source.compliance", "Get whether the source is held at its limit.",
        cast=str, get_process=lambda reply: reply == "true")


def mains(reply) -> float:
    """A mains frequency reply, 50 or 60 Hz; anything else (garbled) raises ReplyError."""
    if not isinstance(reply, str) and reply in (50, 60):
        return float(reply)
    raise ReplyError(f"line frequency reply {reply!r:.40} is garbled")


class Keithley2636B(KeithleySourceMeter, PymeasureKeithley2600, PulsedSourceMeter):
    """Keithley 2636B: ±200 V, ±1.5 A DC, pulses up to 10 A; ``channel`` "a" or "b"."""

    model = "Keithley 2636B"
    voltage_limits = (-200.0, 200.0)
    current_limits = (-1.5, 1.5)
    current_compliance_limits = (1e-11, 1.5)
    voltage_compliance_limits = (0.02, 200.0)
    pulse_current_limits = (1e-11, 10.0)
    min_pulse_width = 100e-6
    max_timer_delay = 100e3         # s, trigger.timer[N].delay
    line_frequency = Instrument.measurement(
        "print(localnode.linefreq)", "Get the mains frequency in Hz (50 or 60).", get_process=mains)

    def __init__(self, adapter, name="Keithley 2636B SourceMeter", channel="a", **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        with warnings.catch_warnings():
            # pymeasure marks the 2600 "SCPI unknown": it is a TSP instrument that also
            # takes the IEEE-488.2 common commands (*IDN?), which is all that is used.
            warnings.filterwarnings("ignore", "It is not known whether this device support SCPI",
                                    FutureWarning)
            super().__init__(adapter, name, **kwargs)
        self.smu = SMUChannel(self, channel)
        self.prefix = f"smu{channel}"
        self._hold_end = None

    # -- SourceMeter (on top of KeithleySourceMeter) --------------------------------
    @property
    def controls(self) -> SMUChannel:
        return self.smu

    def switch_output(self, on: bool) -> None:
        self.smu.source_output = "ON" if on else "OFF"

    @property
    def output_enabled(self) -> bool:
        return self.smu.source_output == "ON"

    def measure(self) -> tuple[float, float]:
        amps, volts = self.values(f"print({self.prefix}.measure.iv())", separator="\t")
        return finite(volts), finite(amps)

    @property
    def in_compliance(self) -> bool:
        return self.smu.compliance

    # -- PulsedSourceMeter ------------------------------------------------------------
    def pulsed_sweep(self, levels, width: float, period: float, compliance: float):
        levels = [float(v) for v in levels]
        if not levels:
            raise ValueError("a pulsed sweep needs at least one level")
        for volts in levels:
            within(volts, self.voltage_limits, "pulse level", "V", self.model)
        within(compliance, self.pulse_current_limits, "pulse current limit", "A", self.model)
        if width < self.min_pulse_width:
            raise ValueError(f"pulse width {width:g} s is shorter than the {self.model}'s "
                             f"minimum of {self.min_pulse_width:g} s")
        if period <= width:
            raise ValueError(f"pulse period {period:g} s must exceed the pulse width {width:g} s")
        n, smu = len(levels), self.prefix
        nplc = min(25.0, max(0.001, 0.5 * width * self.line_frequency))
        self._start_pulses(
            [f"{v:g}" for v in levels], f"{compliance:g}", nplc,
            timers=[(f"{period:g}", max(n - 1, 1), "true", "ARMED"),
                    (f"{width:g}", 1, "false", "SOURCE_COMPLETE")],
            stimuli=("trigger.timer[1].EVENT_ID", "0"), count=n,
            ranges=[f"{smu}.source.rangev = {max(abs(v) for v in levels):g}",
                    f"{smu}.measure.rangei = {compliance:g}"])
        self.write("waitcomplete()")
        connection = self.adapter.connection
        timeout = connection.timeout
        connection.timeout = timeout + 1000 * n * period     # the reply waits for the sweep
        try:
            taken = int(float(self.ask(f"print({smu}.nvbuffer1.n)")))
        finally:
            connection.timeout = timeout
        for statement in (f"{smu}.source.output = {smu}.OUTPUT_OFF",
                          f"{smu}.source.autorangev = {smu}.AUTORANGE_ON",
                          f"{smu}.measure.autorangei = {smu}.AUTORANGE_ON"):
            self.write(statement)
        if taken != n:
            self.raise_errors()
            raise DeviceError(f"{self.model}: the pulsed sweep took {taken} of {n} readings")
        amps = self.values(f"printbuffer(1, {n}, {smu}.nvbuffer1.readings)")
        volts = self.values(f"printbuffer(1, {n}, {smu}.nvbuffer2.readings)")
        self.raise_errors()
        return (np.array([finite(v) for v in volts]), np.array([finite(a) for a in amps]))

    def _start_pulses(self, levels, limit, nplc, timers, stimuli, count, ranges=()):
        """Load and start a trigger-model run that pulses from 0 V to each of ``levels``
        (TSP numbers) at current limit ``limit``, measuring I and V into the buffers:
        ``timers`` 1 and 2 as (delay, count, passthrough, stimulus event of the SMU),
        ``stimuli`` of the source and measure events, ``count`` pulses, ``ranges``
        statements after the idle level. The pulse ends at timer 2 (endpulse)."""
        smu = self.prefix
        statements = [f"{smu}.source.func = {smu}.OUTPUT_DCVOLTS", f"{smu}.source.levelv = 0",
                      *ranges, f"{smu}.measure.nplc = {nplc:g}",
                      f"{smu}.trigger.source.listv({{{', '.join(levels)}}})",
                      f"{smu}.trigger.source.limiti = {limit}",
                      f"{smu}.trigger.source.action = {smu}.ENABLE",
                      f"{smu}.trigger.measure.action = {smu}.ENABLE",
                      f"{smu}.trigger.measure.iv({smu}.nvbuffer1, {smu}.nvbuffer2)",
                      f"{smu}.trigger.endpulse.action = {smu}.SOURCE_IDLE"]
        for timer, (delay, repeats, passthrough, event) in enumerate(timers, start=1):
            statements += [f"trigger.timer[{timer}].delay = {delay}",
                           f"trigger.timer[{timer}].count = {repeats}",
                           f"trigger.timer[{timer}].passthrough = {passthrough}",
                           f"trigger.timer[{timer}].stimulus = {smu}.trigger.{event}_EVENT_ID"]
        source, measure = stimuli
        statements += [f"{smu}.trigger.source.stimulus = {source}",
                       f"{smu}.trigger.measure.stimulus = {measure}",
                       f"{smu}.trigger.endpulse.stimulus = trigger.timer[2].EVENT_ID",
                       f"{smu}.trigger.count = {count}", f"{smu}.trigger.arm.count = 1",
                       f"{smu}.nvbuffer1.clear()", f"{smu}.nvbuffer2.clear()"]
        for statement in statements:
            self.write(statement)
        self.raise_errors()
        self.write(f"{smu}.source.output = {smu}.OUTPUT_ON")
        self.write(f"{smu}.trigger.initiate()")

    # -- SourceMeter: a hold timed by the instrument -----------------------------------
    def hold_voltage(self, volts: float, duration: float) -> None:
        within(volts, self.voltage_limits, "source voltage", "V", self.model)
        if not self.min_pulse_width <= duration <= self.max_timer_delay:
            raise ValueError(f"hold of {duration:g} s is outside the {self.model}'s range "
                             f"[{self.min_pulse_width:g}, {self.max_timer_delay:g}] s "
                             f"(its pulse width and longest timer delay)")
        smu = self.prefix
        line_frequency = self.line_frequency
        nplc = min(1.0, max(0.001, 0.5 * duration * line_frequency))
        self._start_pulses(
            [f"{volts:.9g}"], f"{smu}.LIMIT_AUTO", nplc,
            timers=[(f"{duration - nplc / line_frequency:.9g}", 1, "false", "SOURCE_COMPLETE"),
                    (f"{duration:.9g}", 1, "false", "SOURCE_COMPLETE")],
            stimuli=("0", "trigger.timer[1].EVENT_ID"), count=1)
        self._hold_end = now(self) + duration

    def held_reading(self) -> tuple[float, float]:
        if self._hold_end is None:
            raise DeviceError(f"{self.model}: no hold to read")
        smu = self.prefix

        def taken():
            return float(self.ask(f"print({smu}.nvbuffer1.n)")) >= 1

        try:
            poll(self, taken, timeout=max(0.0, self._hold_end - now(self)) + 1.0,
                 what=f"{self.model} hold", expected=self._hold_end - now(self))
        finally:
            self._hold_end = None
        amps = self.values(f"printbuffer(1, 1, {smu}.nvbuffer1.readings)")[0]
        volts = self.values(f"printbuffer(1, 1, {smu}.nvbuffer2.readings)")[0]
        self.raise_errors()
        return finite(volts), finite(amps)

    def end_hold(self) -> None:
        self.write(f"{self.prefix}.abort()")
        self.write(f"{self.prefix}.source.levelv = 0")
        self._hold_end = None

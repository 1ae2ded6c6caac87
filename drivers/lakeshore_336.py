"""Lake Shore Model 336 and 335 cryogenic temperature controllers.

Command set: *Model 336 Temperature Controller User's Manual*, chapter 6 "Computer
interface operation", §6.6 command list (``KRDG?``, ``RDGST?``, ``SETP``, ``RAMP``,
``RAMPST?``, ``RANGE``, ``HTR?``, ``HTRST?``, ``PID``, ``OUTMODE``); the Model 335 manual
has the same chapter with inputs A-B and outputs 1-2. Every interface terminates with
CR LF; the USB port is a virtual serial port at 57 600 baud, 7 data bits, odd parity,
1 stop bit (§6.3), the 336 also speaks IEEE-488 and TCP port 7777.

The controllers have no error queue: a command they cannot interpret sets CME (bit 5), a
value they cannot execute EXE (bit 4) of the standard event status register, which
``*ESR?`` reads and clears (§6.2.5.1). The driver reads it after every setting.

Wraps pymeasure's ``LakeShore3xx`` (its input and heater channels, extended with the
loop commands pymeasure lacks).
"""

from pymeasure.instruments import Channel, Instrument
from pymeasure.instruments.lakeshore.lakeshore3xx import LakeShore3xx
from pymeasure.instruments.lakeshore.lakeshore_base import (LakeShoreHeaterChannel,
                                                            LakeShoreTemperatureChannel)
from pyvisa.constants import Parity

from .base import DeviceError, PlainAttributes, flag, integer
from .cryostat import Settling
from .roles import TemperatureController

#: Standard event status register bits that report a refused command (§6.2.5.1).
ESR_ERRORS = {32: "command error (not understood)",
              16: "execution error (value out of range or not allowed now)",
              4: "query error (output lost)"}
#: ``RDGST?`` bits (§6.6.1).
READING_ERRORS = {1: "invalid reading", 16: "temperature under range",
                  32: "temperature over range", 64: "sensor units zero",
                  128: "sensor units over range"}
HEATER_ERRORS = {1: "heater open load", 2: "heater short"}
OUTPUT_MODES = {0: "off", 1: "closed loop", 2: "zone", 3: "open loop", 4: "monitor out",
                5: "warm-up supply"}
CLOSED_LOOP, OPEN_LOOP = 1, 3
RAMP_LIMITS = (0.1, 100.0)         # K/min; 0 switches ramping off


def _ramp_values(value, values):
    on, rate = value
    low, high = RAMP_LIMITS
    if on not in (0, 1) or not (rate == 0 or low <= rate <= high):
        raise ValueError(f"ramp rate {rate:g} K/min is outside {low:g} to {high:g} K/min "
                         f"(or 0 for no ramp)")
    return value


def _pid_values(value, values):
    p, i, d = value
    if not (0.1 <= p <= 1000 and 0.1 <= i <= 1000 and 0 <= d <= 200):
        raise ValueError(f"PID ({p:g}, {i:g}, {d:g}) outside P 0.1-1000, I 0.1-1000, "
                         f"D 0-200 %")
    return value


def _mode_values(value, values):
    mode, control_input, powerup = value
    if mode not in OUTPUT_MODES or not 0 <= control_input <= 8 or powerup not in (0, 1):
        raise ValueError(f"output mode {value} is not (mode 0-5, input 0-8, power-up 0/1)")
    return value


class HeaterLoop(LakeShoreHeaterChannel):
    """One output and its control loop (pymeasure's heater channel plus the loop commands)."""

    ramp = Channel.control(
        "RAMP? {ch}", "RAMP {ch},%d,%g",
        """Control setpoint ramping as (on, rate in K/min); rate 0.1-100 K/min, 0 = none.""",
        validator=_ramp_values, get_process_list=lambda v: (int(v[0]), v[1]),
        check_set_errors=True)
    ramping = Channel.measurement(
        "RAMPST? {ch}", """Get whether the setpoint is ramping.""", get_process=flag)
    pid = Channel.control(
        "PID? {ch}", "PID {ch},%g,%g,%g",
        """Control the loop's (P, I, D): P, I 0.1-1000, D 0-200 %.""",
        validator=_pid_values, get_process_list=tuple, check_set_errors=True)
    mode = Channel.control(
        "OUTMODE? {ch}", "OUTMODE {ch},%d,%d,%d",
        """Control (mode, control input, power-up enable): mode 0 off, 1 closed loop,
        2 zone, 3 open loop; input 0 none, 1 A, 2 B, 3 C, 4 D.""",
        validator=_mode_values, cast=int, get_process_list=tuple, check_set_errors=True)
    heater_status = Channel.measurement(
        "HTRST? {ch}", """Get the heater error code: 0 none, 1 open load, 2 short.""", cast=int,
        get_process=integer)


class SensorInput(LakeShoreTemperatureChannel):
    """One sensor input (pymeasure's temperature channel plus its reading status)."""

    reading_status = Channel.measurement(
        "RDGST? {ch}", """Get the reading status bits (0: valid reading).""", cast=int,
        get_process=integer)


class LakeShore336(PlainAttributes, Settling, LakeShore3xx, TemperatureController):
    """Lake Shore 336 regulating the sample stage with one output and one input.

    Options: ``output`` (the heater output of the loop, 1 or 2), ``sensor`` (the input
    reading the sample, A-D), ``heater_range`` (``"low"``, ``"medium"`` or ``"high"``:
    switched on when a setpoint is requested while the heater is off; None leaves the
    range to the operator) and ``setpoint_limit`` (K, the sensor curve's upper limit).
    """

    model = "336"
    inputs = "ABCD"

    output_1 = Instrument.ChannelCreator(HeaterLoop, 1)
    output_2 = Instrument.ChannelCreator(HeaterLoop, 2)
    input_A = Instrument.ChannelCreator(SensorInput, "A")
    input_B = Instrument.ChannelCreator(SensorInput, "B")
    input_C = Instrument.ChannelCreator(SensorInput, "C")
    input_D = Instrument.ChannelCreator(SensorInput, "D")

    def __init__(self, adapter, name=None, output=1, sensor="A", heater_range=None,
                 setpoint_limit=500.0, **kwargs):
        if output not in (1, 2):
            raise ValueError(f"output {output!r}: the heater outputs are 1 and 2")
        if sensor not in self.inputs:
            raise ValueError(f"sensor input {sensor!r}: the Model {self.model} has inputs "
                             f"{', '.join(self.inputs)}")
        if heater_range not in (None, "low", "medium", "high"):
            raise ValueError(f"heater range {heater_range!r}: low, medium, high or None")
        kwargs.setdefault("write_termination", "\r\n")
        kwargs.setdefault("asrl", {"baud_rate": 57600, "data_bits": 7, "parity": Parity.odd})
        super().__init__(adapter, name or f"Lake Shore {self.model}", **kwargs)
        self.loop = getattr(self, f"output_{output}")
        self.sensor = getattr(self, f"input_{sensor}")
        self.heater_range = heater_range
        self.setpoint_limit = float(setpoint_limit)

    # -- errors ---------------------------------------------------------------------
    def check_errors(self) -> list:
        """Read and clear ``*ESR?``; the refusals it reports."""
        esr = int(self.ask("*ESR?"))
        return [text for bit, text in ESR_ERRORS.items() if esr & bit]

    def check_set_errors(self) -> list:
        errors = self.check_errors()
        if errors:
            raise DeviceError(f"Lake Shore {self.model} refused the command: {'; '.join(errors)}")
        return []

    def check_fault(self) -> None:
        status = self.sensor.reading_status
        if status:
            problems = [text for bit, text in READING_ERRORS.items() if status & bit]
            raise DeviceError(f"input {self.sensor.id}: {', '.join(problems)} (RDGST {status})")
        heater = self.loop.heater_status
        if heater:
            raise DeviceError(f"output {self.loop.id}: {HEATER_ERRORS.get(heater, heater)}")

    # -- role -----------------------------------------------------------------------
    @property
    def identity(self) -> str:
        return self.id

    @property
    def temperature(self) -> float:
        return self.sensor.kelvin

    @property
    def temperature_setpoint(self) -> float:
        """The present setpoint (while ramping, the ramp's current value), K."""
        return self.loop.setpoint

    @property
    def setpoint_ramping(self) -> bool:
        return self.loop.ramping

    @property
    def heater_output(self) -> float:
        return self.loop.output

    def set_setpoint(self, kelvin: float) -> None:
        if not 0 <= kelvin <= self.setpoint_limit:
            raise ValueError(f"setpoint {kelvin:g} K is outside the controller's range "
                             f"0 to {self.setpoint_limit:g} K")
        self._write_setpoint(kelvin)
        if self.heater_range is not None and self.loop.range == "off":
            self.loop.range = self.heater_range
            self.check_set_errors()

    def _write_setpoint(self, kelvin: float) -> None:
        self.loop.setpoint = kelvin
        self.check_set_errors()

    def set_ramp_rate(self, kelvin_per_minute: float) -> None:
        self.loop.ramp = (1, kelvin_per_minute) if kelvin_per_minute else (0, 0)

    def safe_state(self) -> None:
        """Hold: a ramp stops where it is; an open-loop output is replaced by closed-loop
        regulation at the present temperature (ramping off)."""
        mode, control_input, powerup = self.loop.mode
        if mode == OPEN_LOOP:
            on, rate = self.loop.ramp
            if on:                   # the new setpoint must not start a ramp
                self.loop.ramp = (0, rate)
            self._write_setpoint(self.temperature)
            self.loop.mode = (CLOSED_LOOP, control_input, powerup)
        elif self.loop.ramping:      # re-targeting the ramp to where it is ends it
            self._write_setpoint(self.loop.setpoint)

    def settings(self) -> dict:
        mode, control_input, _ = self.loop.mode
        on, rate = self.loop.ramp
        return {"setpoint_K": self.loop.setpoint, "ramp_K_per_min": rate if on else 0.0,
                "heater_range": self.loop.range, "heater_percent": self.loop.output,
                "output_mode": OUTPUT_MODES.get(mode, mode),
                "control_input": " ABCD"[control_input], "pid": self.loop.pid}


class LakeShore335(LakeShore336):
    """Lake Shore 335: the 336's commands on inputs A-B and outputs 1-2."""

    model = "335"
    inputs = "AB"

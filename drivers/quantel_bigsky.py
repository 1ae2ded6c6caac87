"""Quantel Big Sky Laser "Ultra" (CFR) flashlamp-pumped, Q-switched Nd:YAG as a pump laser.

Command set: *Ultra* operator's manual rev. M, "Serial Command Reference" (pp. 36-48),
and the SrFDeMilleGroup ``Big-Sky-YAG`` driver (``big_sky_yag/device.py``,
``attributes.py``): RS-232 9600 8N1; every command starts with ``>`` and ends CR LF; the
laser answers each with one fixed-width line (15 characters + CR LF). A set answers the
value in force, which this driver compares with the value sent (a refused value leaves
the old one). The flashlamp commands ``A`` (fire, internal sync), ``E`` (external
sync), ``M`` (simmer), ``S`` (standby) answer the state string, which tells whether
they worked. ``IQ`` reports what holds the Q-switch off (8-s forced delay after the
flashlamp starts, coolant too cold, Q-switch timeout, shutter closed); ``IF`` the
interlock that shut the laser down; ``WOR`` the status word (interlock, flashlamp,
simmer, Q-switch: 0 stop, 1 single, 2 run, +4 external trigger).

Pulses leave the laser when the flashlamp fires, the Q-switch runs and the shutter is
open. The laser does not report its wavelength or pulse width: they are options.
"""

import re

from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .base import DeviceError, PlainAttributes, ReplyError, poll
from .roles import PumpLaser

#: ``IQ`` flags, in the order the laser prints them.
QSWITCH_HOLDS = ("flashlamp start delay", "coolant too cold", "Q-switch timeout",
                 "shutter closed")
#: Scale of the integer written by a set command (``F1000`` = 10.00 Hz).
SCALES = {"F": 100, "ENE": 10}


def _number(reply: str) -> str:
    """The value in a fixed-width reply: ``freq.  10.00 Hz`` -> ``10.00``."""
    found = re.findall(r"\d+(?:\.\d+)?", reply)
    if not found:
        raise ReplyError(f"no value in Big Sky reply {reply!r}")
    return found[-1]


def _flags(reply: str) -> list:
    """``IQS 10 01 00 00`` -> [True, False, False, True, False, False, False, False]."""
    digits = "".join(reply.split()[1:])
    return [d == "1" for d in digits]


class BigSkyUltra(PlainAttributes, Instrument, PumpLaser):
    """Big Sky Ultra; ``wavelength`` (nm) and ``pulse_width`` (s) of its output (1064 nm,
    or the harmonic generator's wavelength)."""

    qswitch_delay_timeout = 10.0      # s: the laser holds the Q-switch 8 s after lamp start

    def __init__(self, adapter, name="Quantel Big Sky Ultra", wavelength=1064.0,
                 pulse_width=8e-9, **kwargs):
        kwargs.setdefault("read_termination", "\r\n")
        kwargs.setdefault("write_termination", "\r\n")
        kwargs.setdefault("asrl", {"baud_rate": 9600})
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self._wavelength, self._pulse_width = float(wavelength), float(pulse_width)
        self._sent = ""

    # -- protocol -------------------------------------------------------------------
    def write(self, command, **kwargs):
        self._sent = command
        super().write(command, **kwargs)

    def read(self, **kwargs) -> str:
        reply = super().read(**kwargs).strip()
        if reply == "unknown command":
            raise DeviceError(f"Big Sky does not know {self._sent!r}")
        return reply

    def check_set_errors(self):
        """Compare the value the laser reports with the value sent."""
        reply = self.read()
        key, digits = re.fullmatch(r">([A-Z]+?)(\d+)", self._sent).groups()
        if round(float(_number(reply)) * SCALES.get(key, 1)) != int(digits):
            raise DeviceError(f"Big Sky refused {self._sent!r}: it keeps {reply!r}")
        return []

    def _action(self, command: str, expected) -> str:
        """Send a flashlamp/Q-switch/shutter command; raise unless the reply is expected."""
        reply = self.ask(command)
        if reply not in expected:
            cause = self.first_interlock
            raise DeviceError(f"Big Sky answered {command!r} with {reply!r} (first interlock "
                              f"{cause!r})")
        return reply

    serial_number = Instrument.measurement(
        ">SN", "Get the serial number.", cast=str,
        preprocess_reply=lambda r: r.replace("s/number", "").strip())
    state = Instrument.measurement(
        ">ST", "Get the flashlamp state: standby, simmer, fire auto or fire ext.", cast=str)
    lamp_frequency = Instrument.control(
        ">F", ">F%d", "Control the flashlamp repetition rate in Hz (1-99.99).",
        validator=strict_range, values=(1, 99.99), set_process=lambda f: round(f * 100),
        preprocess_reply=_number, check_set_errors=True)
    lamp_voltage = Instrument.control(
        ">V", ">V%d", "Control the flashlamp voltage in V.", validator=strict_range,
        values=(500, 1800), preprocess_reply=_number, cast=int, check_set_errors=True)
    lamp_energy = Instrument.control(
        ">ENE", ">ENE%d", "Control the flashlamp energy in J (7-23).", validator=strict_range,
        values=(7, 23), set_process=lambda e: round(e * 10), preprocess_reply=_number,
        check_set_errors=True)
    lamp_sync = Instrument.control(
        ">LPM", ">LPM%d", "Control the flashlamp trigger: internal or external.",
        validator=strict_discrete_set, values={"internal": 0, "external": 1},
        map_values=True, preprocess_reply=_number, cast=int, check_set_errors=True)
    qswitch_mode = Instrument.control(
        ">QSM", ">QSM%d", "Control the Q-switch mode: auto, burst or external.",
        validator=strict_discrete_set, values={"auto": 0, "burst": 1, "external": 2},
        map_values=True, preprocess_reply=_number, cast=int, check_set_errors=True)
    qswitch_divider = Instrument.control(
        ">QSF", ">QSF%d", "Control the divider: the Q-switch fires every n-th flashlamp "
        "shot (1-99).", validator=strict_range, values=(1, 99), preprocess_reply=_number,
        cast=int, check_set_errors=True)
    burst_pulses = Instrument.control(
        ">QSP", ">QSP%d", "Control the pulses per burst (1-999).", validator=strict_range,
        values=(1, 999), preprocess_reply=_number, cast=int, check_set_errors=True)
    qswitch_delay = Instrument.control(
        ">W", ">W%d", "Control the Q-switch delay after the flashlamp in µs (100-999).",
        validator=strict_range, values=(100, 999), preprocess_reply=_number, cast=int,
        check_set_errors=True)
    coolant_temperature = Instrument.measurement(
        ">CG", "Get the cooling-group temperature in °C.", preprocess_reply=_number)
    lamp_shots = Instrument.measurement(
        ">C", "Get the flashlamp shot counter.", preprocess_reply=_number, cast=int)
    qswitch_shots = Instrument.measurement(
        ">CQ", "Get the Q-switch shot counter.", preprocess_reply=_number, cast=int)
    first_interlock = Instrument.measurement(
        ">IF", "Get the interlock that caused the last shutdown (``IF1 ab cd ef gh``).",
        cast=str)

    @property
    def shutter(self) -> bool:
        """Whether the laser's shutter is open."""
        return self.ask(">R") == "shutter open"

    @property
    def status(self) -> dict:
        """``WOR``: interlock open, flashlamp and Q-switch codes (0 stop, 1 single, 2 run,
        +4 external), simmer."""
        values = [int(v) for v in self.ask(">WOR").split()[1::2]]
        return dict(zip(("interlock", "flashlamp", "simmer", "qswitch"), values))

    @property
    def qswitch_holds(self) -> list:
        """What holds the Q-switch off now (``IQ``), e.g. ``["shutter closed"]``."""
        return [name for name, on in zip(QSWITCH_HOLDS, _flags(self.ask(">IQ"))) if on]

    # -- flashlamp ------------------------------------------------------------------
    def start_lamp(self, sync: str = "auto") -> None:
        """Simmer, then fire the flashlamp with internal (``auto``) or external sync."""
        if self.state == "standby":
            self._action(">M", ("simmer",))
        command, state = {"auto": (">A", "fire auto"), "external": (">E", "fire ext")}[sync]
        self._action(command, (state,))

    def stop_lamp(self) -> None:
        """Stop the flashlamp and the simmer."""
        self._action(">S", ("standby",))

    # -- PumpLaser ------------------------------------------------------------------
    @property
    def identity(self) -> str:
        return f"Quantel,Big Sky Ultra,{self.serial_number}"

    @property
    def wavelength(self) -> float:
        return self._wavelength

    @property
    def pulse_width(self) -> float:
        return self._pulse_width

    @property
    def rep_rate(self) -> float:
        """Pulse rate in Hz: the flashlamp rate divided by the Q-switch divider."""
        return self.lamp_frequency / self.qswitch_divider

    @property
    def shutter_open(self) -> bool:
        status = self.status
        return status["flashlamp"] % 4 == 2 and status["qswitch"] % 4 == 2 and self.shutter

    @property
    def interlock_ok(self) -> bool:
        return self.status["interlock"] == 0

    def open_shutter(self) -> None:
        """Open the shutter and start the Q-switch; refused unless the flashlamp fires and
        the interlock is closed. Waits out the 8-s delay after the flashlamp started."""
        status = self.status
        if status["interlock"]:
            raise DeviceError(f"Big Sky interlock is open ({self.first_interlock}): "
                              "shutter stays closed")
        if status["flashlamp"] % 4 != 2:
            raise DeviceError(f"Big Sky flashlamp is not firing ({self.state!r}): "
                              "start it first")
        self._action(">R1", ("shutter open",))
        poll(self, lambda: "flashlamp start delay" not in self.qswitch_holds,
             self.qswitch_delay_timeout, interval=0.5, what="Big Sky Q-switch delay")
        self.ask(">PQ")
        if self.status["qswitch"] % 4 != 2:
            holds = self.qswitch_holds
            self.close_shutter()
            raise DeviceError(f"Big Sky Q-switch did not start (held by: "
                              f"{', '.join(holds) or 'nothing reported'}); shutter closed")

    def close_shutter(self) -> None:
        """Stop the Q-switch, then close the shutter."""
        self.ask(">SQ")
        self._action(">R0", ("shutter closed",))

    def check_fault(self) -> None:
        """The Big Sky reports no faults but interlock shutdowns, which ``interlock_ok``
        reports (a run pauses until the interlock closes)."""

    def settings(self) -> dict:
        return {"state": self.state, "lamp_frequency_Hz": self.lamp_frequency,
                "lamp_voltage_V": self.lamp_voltage, "lamp_energy_J": self.lamp_energy,
                "qswitch_mode": self.qswitch_mode, "qswitch_divider": self.qswitch_divider,
                "qswitch_delay_us": self.qswitch_delay, "rep_rate_Hz": self.rep_rate,
                "wavelength_nm": self.wavelength, "pulse_width_s": self.pulse_width,
                "shutter_open": self.shutter, "coolant_temperature_C": self.coolant_temperature,
                "lamp_shots": self.lamp_shots, "qswitch_shots": self.qswitch_shots}

"""Lumibird (Quantel) Q-smart flashlamp-pumped, Q-switched Nd:YAG as a pump laser.

Command set: the Q-smart LAN remote control as used by QSmartControl (J. Smits,
``LaserSettings.py`` and ``LaserCommunication.py``) and by the MATLAB ``QSmart`` class of
A. L. Klein (University of Twente): telnet on TCP port 10001 (factory address
169.254.0.1), commands terminated LF. A query ``NAME`` answers ``NAME = value`` and then
a status line starting ``OK``; a set (``NAME value``) or an action (``RUN``, ``STOP``,
``QSW 1``) answers the status line alone; a refused command answers one line containing
``ERROR``. Reply lines end CR LF; they are read up to the LF and stripped.

``STATE`` (see ``STATES``) runs 1 warm-up -> 2 ready -> ``RUN`` -> 3 flashlamp flashing
-> ``QSW 1`` -> 4 waiting for the internal shutter -> 5 pulses leave the laser -> 6-9
harmonic module warming up to ready. The Q-switch fires QSPAR3 of every QSPAR2 flashlamp
shots, for QSPAR1 cycles (0: continuously). The laser does not report its wavelength or
pulse width: they are options (they depend on the harmonic module installed).

On a real unit, note that the MATLAB driver re-sends ``STATE`` every few seconds while
the flashlamp runs "to circumvent safety shut off": the Q-smart may stop its flashlamp
when the link stays quiet. This driver sends no keep-alive.
"""

from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .base import DeviceError, PlainAttributes, ReplyError, integer, poll
from .roles import PumpLaser

#: ``STATE`` codes (QSmartControl ``state_dict``).
STATES = {
    0: "boot fault", 1: "warm-up", 2: "ready for RUN", 3: "flashing, Q-switch off",
    4: "flashing, awaiting the shutter", 5: "flashing, pulses enabled",
    6: "pulsed laser on, harmonic module warm-up", 7: "harmonic generator stabilised",
    8: "harmonic module optimisation", 9: "harmonic module ready",
}
EMITTING = range(5, 10)


def _value(reply: str) -> str:
    """``STATE = 2`` -> ``2``."""
    name, equals, value = reply.partition("=")
    if not equals:
        raise ReplyError(f"unexpected Q-smart reply {reply!r}")
    return value.strip()


class QSmart(PlainAttributes, Instrument, PumpLaser):
    """Q-smart with its harmonic module: ``wavelength`` (nm) and ``pulse_width`` (s) of
    the output, ``lamp_rate`` (Hz) the flashlamp repetition rate of the model."""

    shutter_timeout = 10.0      # s for the internal shutter to open after QSW 1

    def __init__(self, adapter, name="Lumibird Q-smart", wavelength=355.0, pulse_width=5e-9,
                 lamp_rate=10.0, **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self._wavelength, self._pulse_width = float(wavelength), float(pulse_width)
        self.lamp_rate = float(lamp_rate)
        self._sent = ""

    # -- protocol -------------------------------------------------------------------
    def write(self, command, **kwargs):
        self._sent = command
        super().write(command, **kwargs)

    def read(self, **kwargs) -> str:
        """One answer: the value line of a query (its status line is read and checked
        too) or the status line of a set or action; raise on ``ERROR``."""
        line = super().read(**kwargs).strip()
        if line.startswith("OK"):
            return line
        if "ERROR" in line or not line:
            raise DeviceError(f"Q-smart refused {self._sent!r}: {line!r}")
        status = super().read(**kwargs).strip()
        if not status.startswith("OK"):
            raise ReplyError(f"Q-smart answered {self._sent!r} with {line!r}, {status!r}")
        return line

    def check_set_errors(self):
        self.read()
        return []

    state = Instrument.measurement(
        "STATE", "Get the laser state code, 0-9 (see ``STATES``).", preprocess_reply=_value,
        cast=int, get_process=integer)
    model = Instrument.measurement("MODEL", "Get the laser model.", preprocess_reply=_value,
                                   cast=str)
    power_supply_version = Instrument.measurement(
        "PSVERS", "Get the power-supply firmware version.", preprocess_reply=_value, cast=str)
    laser_version = Instrument.measurement(
        "LVERS", "Get the laser-brain firmware version.", preprocess_reply=_value, cast=str)
    cooling_temperature = Instrument.measurement(
        "CGTEMP", "Get the cooling-group water temperature in °C.", preprocess_reply=_value)
    lamp_voltage = Instrument.measurement(
        "CAPVSET", "Get the flashlamp voltage in V.", preprocess_reply=_value, cast=int)
    system_shots = Instrument.measurement(
        "SSHOT", "Get the flashlamp shots since manufacture.", preprocess_reply=_value, cast=int)
    user_shots = Instrument.measurement(
        "USHOT", "Get the user flashlamp shot counter.", preprocess_reply=_value, cast=int)
    trigger_mode = Instrument.control(
        "TRIG", "TRIG %s", "Control the flashlamp and Q-switch triggers: II, IE, EI or EE "
        "(I internal, E external; flashlamp first). Only in STATE 1-2.",
        validator=strict_discrete_set, values=("II", "IE", "EI", "EE"),
        preprocess_reply=_value, cast=str, check_set_errors=True)
    burst_cycles = Instrument.control(
        "QSPAR1", "QSPAR1 %d", "Control the number of Q-switch cycles (0: continuous). "
        "Only in STATE 1-2.", validator=strict_range, values=(0, 65535),
        preprocess_reply=_value, cast=int, check_set_errors=True)
    cycle_length = Instrument.control(
        "QSPAR2", "QSPAR2 %d", "Control the flashlamp shots per Q-switch cycle. "
        "Only in STATE 1-2.", validator=strict_range, values=(1, 65535),
        preprocess_reply=_value, cast=int, check_set_errors=True)
    cycle_shots = Instrument.control(
        "QSPAR3", "QSPAR3 %d", "Control the Q-switched shots per cycle (at most "
        "``cycle_length``). Only in STATE 1-2.", validator=strict_range, values=(1, 65535),
        preprocess_reply=_value, cast=int, check_set_errors=True)
    qswitch_delay = Instrument.control(
        "QDLY", "QDLY %d", "Control the flashlamp to Q-switch delay (0-255, laser units; "
        "longer delays give less energy).", validator=strict_range, values=(0, 255),
        preprocess_reply=_value, cast=int, check_set_errors=True)
    sync_delay = Instrument.control(
        "QDLYO", "QDLYO %d", "Control the Q-switch sync output delay in ns.",
        validator=strict_range, values=(-500, 500), preprocess_reply=_value, cast=int,
        check_set_errors=True)

    # -- flashlamp ------------------------------------------------------------------
    def start_lamp(self) -> None:
        """Start the flashlamp (the laser accepts it in STATE 2 only)."""
        self.ask("RUN")

    def stop_lamp(self) -> None:
        """Stop the flashlamp and the Q-switch."""
        self.ask("STOP")

    def reset_user_shots(self) -> None:
        self.ask("USHOT 0")

    def set_divider(self, divider: int) -> None:
        """Continuous pulses on every ``divider``-th flashlamp shot (F/N mode)."""
        self.burst_cycles = 0
        self.cycle_length = divider
        self.cycle_shots = 1

    # -- PumpLaser ------------------------------------------------------------------
    @property
    def identity(self) -> str:
        return (f"Lumibird,{self.model},PSVERS {self.power_supply_version},"
                f"LVERS {self.laser_version}")

    @property
    def wavelength(self) -> float:
        return self._wavelength

    @property
    def pulse_width(self) -> float:
        return self._pulse_width

    @property
    def rep_rate(self) -> float:
        """Mean pulse rate in Hz: the flashlamp rate × QSPAR3 / QSPAR2."""
        length = self.cycle_length
        return self.lamp_rate * self.cycle_shots / length if length else 0.0

    @property
    def shutter_open(self) -> bool:
        return self.state in EMITTING

    @property
    def interlock_ok(self) -> bool:
        """False while the Q-switch waits for a shutter the interlock holds shut (STATE 4;
        also briefly during the shutter's normal opening)."""
        return self.state != 4

    def open_shutter(self) -> None:
        """Fire the Q-switch (QSW 1) and wait for the pulses to leave the laser; refused
        unless the flashlamp runs, and undone if the shutter stays shut (interlock)."""
        state = self.state
        if state in EMITTING:
            return
        if state < 3:
            raise DeviceError(f"Q-smart flashlamp is not running (STATE {state}: "
                              f"{STATES.get(state, 'unknown')}): start it (RUN) first")
        if state == 3:
            self.ask("QSW 1")
        try:
            poll(self, lambda: self.state in EMITTING, self.shutter_timeout, interval=0.5,
                 what="Q-smart shutter opening")
        except DeviceError:
            self.ask("QSW 0")
            raise DeviceError(f"Q-smart shutter did not open within {self.shutter_timeout:g} s "
                              "(STATE 4): safety interlock open? Q-switch stopped") from None

    def close_shutter(self) -> None:
        """Stop the Q-switch (the flashlamp keeps flashing)."""
        if self.state >= 4:
            self.ask("QSW 0")

    def check_fault(self) -> None:
        if self.state == 0:
            raise DeviceError("Q-smart boot fault (STATE 0)")

    def settings(self) -> dict:
        state = self.state
        return {"state": state, "state_text": STATES.get(state, "unknown"),
                "trigger_mode": self.trigger_mode, "burst_cycles": self.burst_cycles,
                "cycle_length": self.cycle_length, "cycle_shots": self.cycle_shots,
                "rep_rate_Hz": self.rep_rate, "qswitch_delay": self.qswitch_delay,
                "wavelength_nm": self.wavelength, "pulse_width_s": self.pulse_width,
                "lamp_voltage_V": self.lamp_voltage,
                "cooling_temperature_C": self.cooling_temperature,
                "system_shots": self.system_shots, "user_shots": self.user_shots}

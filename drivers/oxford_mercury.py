"""Oxford Instruments Mercury iTC temperature controller.

Command set: *Mercury iTC Operator's Manual*, "Command reference guide" (SCPI-style
commands: ``READ``/``SET`` verbs on nouns such as ``DEV:MB1.T1:TEMP:LOOP:TSET``, every
command answered with a ``STAT`` line; "Invalid responses": ``INVALID``, ``NOT_FOUND``,
``N/A``, ``DENIED``). LF terminated; Ethernet socket port 7020. A ``SET`` reply echoes
the value and ends in ``VALID`` or ``INVALID``; the driver reads it after every setting
and raises on anything but ``VALID``, and on any reply that is a refusal.

Wraps pymeasure's ``MercuryiTC`` (its motherboard sensor MB1.T1 with the control loop, and
heater MB0.H1), adding the refusal checks its channels leave out.
"""

from pymeasure.instruments import Instrument
from pymeasure.instruments.oxfordinstruments.mercuryitc import (Heater, MercuryiTC,
                                                                TemperatureSensor)

from .base import DeviceError, PlainAttributes
from .cryostat import Settling
from .roles import TemperatureController

REFUSALS = ("INVALID", "NOT_FOUND", "N/A", "DENIED")
SETPOINT_LIMITS = (0.0, 2000.0)        # K, TSET
RAMP_LIMIT = 100000.0                  # K/min, RSET


class LoopSensor(TemperatureSensor):
    """Temperature sensor and its control loop; settings checked by the instrument."""

    def check_set_errors(self):
        return self.parent.check_set_errors()


class HeaterBoard(Heater):
    """Heater output; settings checked by the instrument."""

    def check_set_errors(self):
        return self.parent.check_set_errors()


class MercuryITC(PlainAttributes, Settling, MercuryiTC, TemperatureController):
    """Mercury iTC regulating the sample stage with sensor MB1.T1 and heater MB0.H1."""

    TS_MB = Instrument.ChannelCreator(LoopSensor, "MB1.T1", prefix="TS", collection="TS")
    HTR_MB = Instrument.ChannelCreator(HeaterBoard, "MB0.H1", prefix="HTR", collection="HTR")

    def __init__(self, adapter, name="Oxford Instruments Mercury iTC", **kwargs):
        for key in ("read_termination", "write_termination"):
            if kwargs.pop(key, "\n") != "\n":
                raise ValueError(f"{key}: the Mercury iTC terminates every line with LF")
        super().__init__(adapter, name, **kwargs)

    # -- errors ---------------------------------------------------------------------
    def read(self, **kwargs) -> str:
        """Every reply, channels' included, passes here: raise on a refusal (the reply
        echoes the command up to what the iTC could not accept)."""
        reply = super().read(**kwargs)
        if reply.strip().rpartition(":")[2] in REFUSALS:
            raise DeviceError(f"Mercury iTC refused: {reply.strip()}")
        return reply

    def check_set_errors(self):
        reply = self.read().strip()
        if not reply.endswith(":VALID"):
            raise DeviceError(f"Mercury iTC did not confirm the setting: {reply}")
        return []

    @property
    def alarms(self) -> str:
        """Active alarms (``<UID>\\t<message>;`` each), empty if none."""
        return self.ask("READ:SYS:ALRM").strip().removeprefix("STAT:SYS:ALRM:")

    def check_fault(self) -> None:
        alarms = self.alarms
        if alarms:
            raise DeviceError(f"Mercury iTC alarm: {alarms}")

    # -- role -----------------------------------------------------------------------
    @property
    def identity(self) -> str:
        return self.ask("*IDN?").strip().removeprefix("IDN:")

    @property
    def temperature(self) -> float:
        return self.TS_MB.temperature

    @property
    def temperature_setpoint(self) -> float:
        """The setpoint the loop goes to (a ramp's target), K."""
        return self.TS_MB.control_loop_temperature_setpoint

    @property
    def heater_output(self) -> float:
        return self.TS_MB.control_loop_heater_percent

    def set_setpoint(self, kelvin: float) -> None:
        """Go to ``kelvin`` under PID control (switched on if the heater was manual)."""
        low, high = SETPOINT_LIMITS
        if not low <= kelvin <= high:
            raise ValueError(f"setpoint {kelvin:g} K is outside the controller's range "
                             f"{low:g} to {high:g} K")
        self.TS_MB.control_loop_temperature_setpoint = kelvin
        self.TS_MB.control_loop_PID_enabled = True

    def set_ramp_rate(self, kelvin_per_minute: float) -> None:
        if not 0 <= kelvin_per_minute <= RAMP_LIMIT:
            raise ValueError(f"ramp rate {kelvin_per_minute:g} K/min is outside 0 to "
                             f"{RAMP_LIMIT:g} K/min")
        if kelvin_per_minute:
            self.TS_MB.control_loop_ramp_rate = kelvin_per_minute
        self.TS_MB.control_loop_ramp_enabled = bool(kelvin_per_minute)

    def safe_state(self) -> None:
        """Hold: with a ramp enabled or the heater in manual, regulate at the present
        temperature with ramping off (the Mercury cannot report the ramp's current
        setpoint); a loop regulating at a fixed setpoint is left alone."""
        loop = self.TS_MB
        enabled, ramping = loop.control_loop_PID_enabled, loop.control_loop_ramp_enabled
        if enabled and not ramping:
            return
        loop.control_loop_temperature_setpoint = loop.temperature
        if ramping:
            loop.control_loop_ramp_enabled = False
        if not enabled:
            loop.control_loop_PID_enabled = True

    def settings(self) -> dict:
        loop = self.TS_MB
        return {"setpoint_K": loop.control_loop_temperature_setpoint,
                "ramp_K_per_min": (loop.control_loop_ramp_rate
                                   if loop.control_loop_ramp_enabled else 0.0),
                "pid_enabled": loop.control_loop_PID_enabled,
                "heater_percent": loop.control_loop_heater_percent,
                "pid": (loop.control_loop_P, loop.control_loop_I, loop.control_loop_D),
                "heater_max_power_W": self.HTR_MB.max_power}

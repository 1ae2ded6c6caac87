"""Newport SMC100CC/PP and CONEX-AGP motion controllers (rotation or linear stage).

Command set: *SMC100CC & SMC100PP Single-Axis Motion Controller/Driver, User's Manual*,
§2.2 "Command set" (two-letter commands prefixed by the controller address, CR LF
terminated; replies repeat address and command, e.g. ``1TP45.000000``) and §2.3
"Controller states" (the ``TS`` state byte). RS-232 57 600 baud 8N1 with XON/XOFF;
the CONEX USB virtual port runs at 921 600 baud.
"""

from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_range

from .base import DeviceError, PlainAttributes, ReplyError, now, poll, remembered
from .roles import LinearStage, RotationStage

#: ``TE`` error characters (manual §2.2, command TE).
ERRORS = {
    "@": "no error", "A": "unknown message code", "B": "incorrect address",
    "C": "parameter missing or out of range", "D": "command not allowed",
    "E": "home sequence already started", "G": "displacement out of limits",
    "H": "not allowed in NOT REFERENCED state", "I": "not allowed in CONFIGURATION state",
    "J": "not allowed in DISABLE state", "K": "not allowed in READY state",
    "L": "not allowed in HOMING state", "M": "not allowed in MOVING state",
    "N": "current position out of software limit", "S": "communication time out",
    "U": "error during EEPROM access", "V": "error during command execution",
}

#: ``TS`` controller states (manual §2.3).
STATES = {
    0x0A: "NOT REFERENCED from reset", 0x0B: "NOT REFERENCED from HOMING",
    0x0C: "NOT REFERENCED from CONFIGURATION", 0x0D: "NOT REFERENCED from DISABLE",
    0x0E: "NOT REFERENCED from READY", 0x0F: "NOT REFERENCED from MOVING",
    0x10: "NOT REFERENCED ESP stage error", 0x11: "NOT REFERENCED from JOGGING",
    0x14: "CONFIGURATION", 0x1E: "HOMING commanded from RS-232",
    0x1F: "HOMING commanded by SMC-RC", 0x28: "MOVING",
    0x32: "READY from HOMING", 0x33: "READY from MOVING", 0x34: "READY from DISABLE",
    0x35: "READY from JOGGING", 0x3C: "DISABLE from READY", 0x3D: "DISABLE from MOVING",
    0x3E: "DISABLE from JOGGING", 0x46: "JOGGING from READY", 0x47: "JOGGING from DISABLE",
}
READY = range(0x32, 0x36)
IN_MOTION = (0x1E, 0x1F, 0x28, 0x46, 0x47)       # homing, moving, jogging
RESOLUTION = 1e-6     # stage units: the last digit of a ``TP`` reply


class SMC100Error(DeviceError):
    """A command the controller refused, with its ``TE`` error character ``code``."""

    def __init__(self, code: str):
        super().__init__(f"SMC100 error {code}: {ERRORS.get(code, 'unknown')}")
        self.code = code


def _strip(prefix):
    """Reply post-processor: ``1TP45.0`` -> ``45.0``."""
    return lambda reply: reply[len(prefix):] if reply.startswith(prefix) else reply


class SMC100(PlainAttributes, Instrument):
    """One SMC100 controller at RS-232 address 1, driving one stage.

    ``unit`` is the stage's unit (deg for rotation stages, mm for linear ones);
    ``limits`` are its travel limits in that unit.
    """

    unit = ""
    move_timeout = 60.0

    def __init__(self, adapter, name="Newport SMC100", limits=(-170.0, 170.0), **kwargs):
        kwargs.setdefault("read_termination", "\r\n")
        kwargs.setdefault("write_termination", "\r\n")
        kwargs.setdefault("asrl", {"baud_rate": 57600})
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self.limits = tuple(limits)
        self.target_position_values = self.limits
        self.known = {}

    stage_id = Instrument.measurement(
        "1ID?", "Get the stage identifier (model and serial).",
        preprocess_reply=_strip("1ID"), cast=str)

    controller_version = Instrument.measurement(
        "1VE", "Get the controller firmware version.", preprocess_reply=_strip("1VE"), cast=str)

    current_position = Instrument.measurement(
        "1TP", "Get the current position in stage units.", preprocess_reply=_strip("1TP"))

    target_position = Instrument.control(
        "1PA?", "1PA%.6f", "Control the target position (absolute move) in stage units.",
        preprocess_reply=_strip("1PA"), check_set_errors=True,
        validator=strict_range, values=(-170.0, 170.0), dynamic=True)

    _velocity = Instrument.control(
        "1VA?", "1VA%.6f", "Control the velocity in stage units per second.",
        preprocess_reply=_strip("1VA"), check_set_errors=True,
        validator=strict_range, values=(1e-6, 1e12))
    velocity = remembered("_velocity", "Velocity in stage units per second.")

    @property
    def state(self) -> int:
        """Controller state code (``TS``), see ``STATES``; raises on a positioner error."""
        reply = self.ask("1TS")
        if not reply.startswith("1TS") or len(reply) != 9:
            raise ReplyError(f"unexpected reply to 1TS: {reply!r}")
        errors, state = int(reply[3:7], 16), int(reply[7:9], 16)
        if errors:
            raise DeviceError(f"positioner error flags 0x{errors:04X} (state {STATES.get(state, state)})")
        return state

    @property
    def last_error(self) -> str:
        """The last command error character (``TE``); ``@`` means none. A reply that is
        not ``1TE`` and one of the manual's codes is garbled: ReplyError."""
        reply = self.ask("1TE")
        if len(reply) != 4 or not reply.startswith("1TE") or reply[3] not in ERRORS:
            raise ReplyError(f"unexpected reply to 1TE: {reply!r:.40}")
        return reply[3]

    def check_set_errors(self):
        code = self.last_error
        if code != "@":
            raise SMC100Error(code)
        return []

    def home(self, wait: bool = True) -> None:
        """Search the home (reference) position; required after power-up or reset."""
        self.known.pop("position", None)
        self.write("1OR")
        self.check_set_errors()
        if wait:
            self.wait_until_ready()

    def reset(self) -> None:
        """Reset the controller (goes to NOT REFERENCED, its stored velocity restored)."""
        self.write("1RS")
        self.known.clear()

    def stop(self) -> None:
        """Stop the motion."""
        self.known.pop("position", None)
        self.write("1ST")

    def wait_until_ready(self, expected: float = 0.0) -> None:
        """Wait for the end of a move; ``expected``: its duration, s (see ``poll``)."""
        poll(self, lambda: self.state in READY, self.move_timeout, what="SMC100 move",
             expected=expected)

    def wait_until_stopped(self) -> None:
        """Wait while the stage is homing, moving or jogging."""
        poll(self, lambda: self.state not in IN_MOTION, self.move_timeout, what="SMC100 stop")

    def _move(self, position: float, wait: bool) -> None:
        low, high = self.limits
        if not low <= position <= high:
            raise ValueError(f"position {position:g} {self.unit} is outside the stage travel "
                             f"[{low:g}, {high:g}] {self.unit}")
        here = self.known.pop("position", None)         # where the last move this driver
        if here is None:                                 # waited for ended, else asked
            here = self.current_position
        started = now(self)
        try:
            self.target_position = position
        except SMC100Error as exc:
            if exc.code == "H":
                self.home()                 # NOT REFERENCED: after power-up or a reset
            elif exc.code == "M":
                self.wait_until_stopped()   # a move whose reply was lost, sent again
            else:
                raise
            here, started = self.current_position, now(self)
            self.target_position = position
        if wait:
            speed = self.known.get("_velocity") or self.velocity
            travel = (abs(position - here) + RESOLUTION) / speed        # s, at the longest
            self.wait_until_ready(expected=travel - (now(self) - started))
            self.known["position"] = position

    @property
    def identity(self) -> str:
        return f"Newport,{self.controller_version.strip()},{self.stage_id.strip()}"

    def settings(self) -> dict:
        return {"position": self.current_position, "unit": self.unit,
                "velocity": self.velocity, "state": STATES.get(self.state, "unknown")}

    def check_fault(self) -> None:
        self.state


class SMC100Rotation(SMC100, RotationStage):
    """SMC100/CONEX-AGP driving a rotation stage (angle in degrees)."""

    unit = "deg"

    def __init__(self, adapter, name="Newport SMC100 rotation stage", limits=(-170.0, 170.0), **kwargs):
        super().__init__(adapter, name, limits=limits, **kwargs)

    @property
    def angle(self) -> float:
        return self.current_position

    def move_to(self, angle: float, wait: bool = True) -> None:
        self._move(angle, wait)


class SMC100Linear(SMC100, LinearStage):
    """SMC100 driving a linear stage (position in mm)."""

    unit = "mm"

    def __init__(self, adapter, name="Newport SMC100 linear stage", limits=(0.0, 25.0), **kwargs):
        super().__init__(adapter, name, limits=limits, **kwargs)

    @property
    def position(self) -> float:
        return self.current_position

    def move_to(self, position: float, wait: bool = True) -> None:
        self._move(position, wait)

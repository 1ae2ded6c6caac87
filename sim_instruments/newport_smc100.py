"""Twin of a Newport SMC100 controller: motion in simulated time and its state machine."""

import math
from dataclasses import dataclass

from .twin import SILENT, Twin, command, computed


class Refused(ValueError):
    """A command the controller refuses, with its ``TE`` error character."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


@dataclass
class Move:
    start: float
    end: float
    t0: float
    duration: float
    homing: bool = False

    def position(self, now):
        if self.duration <= 0 or now >= self.t0 + self.duration:
            return self.end
        return self.start + (self.end - self.start) * (now - self.t0) / self.duration


class SMC100Twin(Twin):
    """Options: ``stage_id``, ``limits`` [low, high], ``velocity`` (max, units/s),
    ``initial_position`` (where the stage sits at power-up)."""

    definition = "newport_smc100.yaml"

    def attach(self, name, device):
        super().attach(name, device)
        low, high = self.options.get("limits", (-170.0, 170.0))
        self.put("left_limit", float(low))
        self.put("right_limit", float(high))
        if "velocity" in self.options:
            self.put("velocity", float(self.options["velocity"]))
        here = float(self.options.get("initial_position", 0.0))
        self.move = Move(here, here, 0.0, 0.0)
        self.state = 0x0A            # NOT REFERENCED from reset
        self.error = "@"
        self._pending = None         # error of a refused setter, reported as the TE code

    # -- motion -------------------------------------------------------------------
    @computed("position")
    def position(self) -> float:
        return self.move.position(self.clock.now())

    def moving(self) -> bool:
        return self.clock.now() < self.move.t0 + self.move.duration

    def steady_until(self) -> float:
        return self.clock.now() if self.moving() else math.inf

    def _state_now(self) -> int:
        if self.state in (0x28, 0x1E) and not self.moving():
            self.state = 0x32 if self.move.homing else 0x33
        return self.state

    def _start(self, target, homing=False):
        here = self.position()
        speed = self.get("velocity")
        self.move = Move(here, target, self.clock.now(), abs(target - here) / speed, homing)
        self.state = 0x1E if homing else 0x28

    # -- commands -----------------------------------------------------------------
    @command(r"1ID\?", query=True)
    def stage_id(self, match):
        return "1ID" + self.options["stage_id"] if "stage_id" in self.options else None

    @command(r"1TS", query=True)
    def status(self, match):
        return f"1TS0000{self._state_now():02X}"

    @command(r"1TE", query=True)
    def last_error(self, match):
        code, self.error = self.error, "@"
        return f"1TE{code}"

    @command(r"1OR")
    def home(self, match):
        state = self._state_now()
        if state not in range(0x0A, 0x12):
            self.error = "K" if state in range(0x32, 0x36) else "D"
        else:
            self._start(0.0, homing=True)
        return SILENT

    @command(r"1ST")
    def stop(self, match):
        here = self.position()
        self.move = Move(here, here, self.clock.now(), 0.0)
        if self._state_now() in (0x28, 0x1E):
            self.state = 0x0B if self.state == 0x1E else 0x33
        return SILENT

    @command(r"1RS")
    def reset(self, match):
        self.stop(match)
        self.state = 0x0A
        return SILENT

    @command(r"1PR(.+)")
    def relative(self, match):
        try:
            step = float(match[1])
        except ValueError:
            self.error = "C"
            return SILENT
        try:
            self.device._properties["target"].set_value(str(self.get("target") + step))
        except ValueError:
            self.on_command_error("command_error")
        return SILENT

    def check_setting(self, name, value):
        if name == "target":
            state = self._state_now()
            if state in range(0x0A, 0x12):
                raise Refused("H")
            if state in (0x28, 0x1E):
                raise Refused("M")
            if not self.get("left_limit") <= value <= self.get("right_limit"):
                raise Refused("G")

    def after_setting(self, name, value):
        if name == "target":
            self._start(value)

    def refused(self, name, value, error):
        self._pending = getattr(error, "code", "C")

    def on_command_error(self, error_key):
        self.error, self._pending = self._pending or "A", None

    def inject_error(self, device) -> bool:
        self.error = "V"                         # error during command execution
        return True

    def safe_state_reached(self) -> bool:
        return not self.moving()

"""Twin of the Thorlabs SC10 shutter controller: echo and prompt, the shutter in time
(manual, auto, single and repeat modes) and the interlock."""

import math

from pyvisa_sim.devices import Device

from .twin import Twin, command, computed

PROMPT = b"\r> "
SETTINGS = {"mode": "mode", "trig": "trigger", "xto": "out_trigger", "rep": "repeat",
            "open": "open_time", "shut": "shut_time", "baud": "baud"}


class SC10Twin(Twin):
    """No options.

    Where the manual is silent: single and repeat mode disable the output when their
    cycles are done; changing the mode disables the output (the shutter closes); while
    the interlock is tripped ``ens`` leaves the output disabled; external gate mode and
    external triggers never open the shutter (no trigger source on the bench)."""

    definition = "thorlabs_sc10.yaml"

    def attach(self, name, device):
        super().attach(name, device)
        device._response_eom = PROMPT          # the YAML's "\r> " loses its space
        self.output = False                     # "ens" state
        self.since = 0.0                        # when the output was enabled
        self.tripped = False

    # -- shutter in time ------------------------------------------------------------
    def _cycle(self):
        """(seconds open, seconds of one open/shut cycle, cycles or None) of the mode."""
        opened, shut = self.get("open_time") / 1e3, self.get("shut_time") / 1e3
        cycles = {3: 1, 4: self.get("repeat")}.get(self.get("mode"))
        return opened, opened + shut, cycles

    @computed("enabled")
    def enabled(self) -> int:
        if self.output and self.get("mode") in (3, 4) and not self.get("trigger"):
            opened, period, cycles = self._cycle()
            if self.clock.now() - self.since >= (cycles - 1) * period + opened:
                self.output = False               # single/repeat run is over
        return int(self.output)

    def is_open(self) -> bool:
        if not self.enabled():
            return False
        mode = self.get("mode")
        if mode == 1:
            return True
        if mode == 5 or self.get("trigger"):
            return False                          # waits for an external gate/trigger
        opened, period, _ = self._cycle()
        return period > 0 and (self.clock.now() - self.since) % period < opened

    def steady_until(self) -> float:
        """Open or shut for good unless a timed mode runs (auto, single, repeat)."""
        if self.output and self.get("mode") not in (1, 5) and not self.get("trigger"):
            return self.clock.now()
        return math.inf

    @computed("closed")
    def closed(self) -> int:
        return int(not self.is_open())

    @computed("interlock")
    def interlock(self) -> int:
        return int(self.tripped)

    # -- commands -------------------------------------------------------------------
    @command(r"ens")
    def toggle(self, match):
        self.output = not self.enabled() and not self.tripped
        self.since = self.clock.now()
        return "ens"

    @command(r"(mode|trig|xto|rep|open|shut|baud)=(.*)")
    def setting(self, match):
        name = SETTINGS[match[1].decode()]
        before = self.get(name)
        try:
            self.device._properties[name].set_value(match[2].decode())
        except ValueError:
            return match[0] + b"\rCommand error CMD_ARG_INVALID"
        if name == "mode" and self.get("mode") != before:
            self.output = False
        return match[0]

    @command(r".*")
    def echo(self, match):
        """Queries answer from the YAML (their echo included); an empty line gets the
        prompt alone; anything else is unknown."""
        reply = Device._match(self.device, match[0]) if match[0] else b""
        return match[0] + b"\rCommand error CMD_NOT_DEFINED" if reply is None else reply

    # -- the bench --------------------------------------------------------------------
    def open_interlock(self) -> None:
        """The interlock circuit opens: the controller disables and closes the shutter."""
        self.tripped, self.output = True, False
        self.changed()

    def close_interlock(self) -> None:
        self.tripped = False
        self.changed()

    def safe_state_reached(self) -> bool:
        return not self.is_open()

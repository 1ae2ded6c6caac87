"""Twin of the Coherent Astrella: warm-up, interlock and shutter state machine."""

import math

from .optics import LaserOutput
from .twin import Twin, command, computed


class AstrellaTwin(Twin):
    """Options: ``pulse_energy`` (J at the output, default 2 mJ), ``wavelength`` (nm),
    ``warmup`` (s of simulated time from standby to Ready)."""

    definition = "coherent_astrella.yaml"

    def attach(self, name, device):
        super().attach(name, device)
        self.put("wavelength", float(self.options.get("wavelength", 400.0)))
        self.energy = float(self.options.get("pulse_energy", 2e-3))
        self.warmup = float(self.options.get("warmup", 60.0))
        self.ready_at = 0.0
        self._update_power()

    def _update_power(self):
        self.put("power", self.energy * 1000.0 if self.get("emission") else 0.0)

    @computed("status")
    def status(self):
        if self.get("faults") != "0":
            return "Fault"
        if not self.get("emission"):
            return "Off"
        return "Ready" if self.clock.now() >= self.ready_at else "Warming Up"

    @command(r"SHUTTER=1")
    def open_shutter(self, match):
        if not (self.status() == "Ready" and self.get("interlock") and self.get("keyswitch")):
            return "Error: Shutter cannot open, laser not ready"
        return None                      # accepted: the YAML setter stores it

    def after_setting(self, name, value):
        if name == "emission":
            if value:
                self.ready_at = self.clock.now() + self.warmup
            else:
                self.put("shutter", 0)
            self._update_power()

    def open_interlock(self) -> None:
        """Someone opened the lab door: the hardware interlock shuts the beam."""
        self.put("interlock", 0)
        self.put("shutter", 0)

    def close_interlock(self) -> None:
        """The door is closed again (the shutter stays closed until opened)."""
        self.put("interlock", 1)

    def steady_until(self) -> float:
        return self.ready_at if self.clock.now() < self.ready_at else math.inf

    def laser_output(self) -> LaserOutput:
        on = self.status() == "Ready" and bool(self.get("shutter"))
        return LaserOutput(on, self.get("wavelength"), 100e-15, 1000.0, self.energy)

    def safe_state_reached(self) -> bool:
        return not self.get("shutter")

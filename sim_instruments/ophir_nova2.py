"""Twin of an Ophir Nova II with a pyroelectric head: one energy reading per laser pulse."""

import re

from .twin import Twin, command, computed

_PREFIX = {"m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12}


def full_scale(name: str) -> float:
    """``"20.0uJ"`` -> 2e-5 (J)."""
    m = re.fullmatch(r"([0-9.]+)([munp]?)J", name)
    if not m:
        raise ValueError(f"not an energy range: {name!r}")
    return float(m[1]) * _PREFIX.get(m[2], 1.0)


def ophir_number(value: float) -> str:
    """A reading as the console prints it: ``3.260E-7``."""
    mantissa, exponent = f"{value:.3E}".split("E")
    return f"{mantissa}E{int(exponent)}"


class NovaIITwin(Twin):
    """Options: ``ranges`` (energy range names, largest first), ``max_frequency`` (Hz the
    head can follow), ``wavelength_limits`` [nm, nm], ``noise`` (relative rms per pulse,
    1 %), ``floor`` (J rms, the head's noise level).

    The head sees the pulse energy the optics deliver at the sample. A new reading exists
    once a pulse has arrived since the last ``$SE`` (then ``$EF`` answers 1); without pulses
    the flag stays 0 and ``$SE`` repeats the last reading. A pulse above the range's full
    scale reads ``OVER``.
    """

    definition = "ophir_nova2.yaml"

    def attach(self, name, device):
        super().attach(name, device)
        o = self.options
        self.ranges = list(o.get("ranges", ("20.0uJ", "2.00uJ", "200nJ", "20.0nJ")))
        self.full_scales = [full_scale(r) for r in self.ranges]
        self.max_frequency = float(o.get("max_frequency", 10e3))
        self.limits = tuple(float(v) for v in o.get("wavelength_limits", (150, 12000)))
        self.noise = float(o.get("noise", 0.01))
        self.floor = float(o.get("floor", 2e-9))
        self.entries = [355, 532, 1064, None, None, None]
        self.last_read = self.clock.now()
        self.last_energy = 0.0

    # -- pulses ---------------------------------------------------------------------
    def _pulse_rate(self) -> float:
        """Pulses per second the head registers (0 with the beam blocked)."""
        rate = max((p.rep_rate for p in self.sim.optics.pumps()), default=0.0)
        return min(rate, self.max_frequency)

    def _new_pulse(self) -> bool:
        rate = self._pulse_rate()
        return rate > 0 and (self.clock.now() - self.last_read) * rate >= 1.0 - 1e-9

    @computed("energy_flag")
    def energy_flag(self):
        return int(self._new_pulse())

    @computed("energy")
    def energy(self):
        if self._new_pulse():
            self.last_read = self.clock.now()
            energy = self.sim.optics.pulse_energy_at_sample()
            self.last_energy = max(0.0, energy * (1 + self.noise * self.rng.standard_normal())
                                   + self.floor * self.rng.standard_normal())
        if self.last_energy > self.full_scales[self.get("range")]:
            return "OVER"
        return ophir_number(self.last_energy)

    @computed("power")
    def power(self):
        return ophir_number(self.sim.optics.pulse_energy_at_sample() * self._pulse_rate())

    @computed("frequency")
    def frequency(self):
        return ophir_number(self._pulse_rate())

    # -- ranges and wavelengths -------------------------------------------------------
    @command(r"\$AR")
    def all_ranges(self, match):
        return f"*{self.get('range')} " + " ".join(self.ranges)

    @command(r"\$AW")
    def all_wavelengths(self, match):
        entries = " ".join("NONE" if e is None else str(e) for e in self.entries)
        low, high = self.limits
        return f"*CONTINUOUS {low:g} {high:g} {self.get('wavelength_index')} {entries}"

    def check_setting(self, name, value):
        if name == "range" and value >= len(self.ranges):
            raise ValueError(f"range {value} not installed")
        if name == "wavelength_index" and self.entries[value - 1] is None:
            raise ValueError(f"wavelength entry {value} is empty")
        if name == "wavelength" and not self.limits[0] <= value <= self.limits[1]:
            raise ValueError(f"{value} nm outside the head's calibration")

    def after_setting(self, name, value):
        if name == "wavelength":
            self.entries[self.get("wavelength_index") - 1] = value

    def safe_state_reached(self) -> bool:
        return True


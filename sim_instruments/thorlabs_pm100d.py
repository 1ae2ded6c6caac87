"""Twin of the Thorlabs PM100D: readings from the pulse energy the optics deliver."""

from .twin import Twin, command, computed

OVER_RANGE = 9.9e37


class PM100DTwin(Twin):
    """Options: ``noise`` (relative rms per pulse, default 0.5 %), ``floor`` (J, sensor
    noise floor), ``sensor`` (reply to SYST:SENS:IDN?)."""

    definition = "thorlabs_pm100d.yaml"
    scpi = True

    def attach(self, name, device):
        super().attach(name, device)
        self.noise = float(self.options.get("noise", 0.005))
        self.floor = float(self.options.get("floor", 2e-10))

    @command(r"SYST:SENS:IDN\?")
    def sensor(self, match):
        return self.options.get("sensor")

    def _pulse_energies(self):
        """Per-pulse energy averaged over the configured number of pulses (J), and the
        repetition rate; waits for the pulses like the console does."""
        optics = self.sim.optics
        count = self.get("averaging")
        energy = optics.pulse_energy_at_sample()
        rep = max((p.rep_rate for p in optics.pumps()), default=1e3)
        self.sleep(count / rep)
        spread = self.noise / count ** 0.5
        value = energy * (1 + spread * self.rng.standard_normal()) + self.floor * self.rng.standard_normal()
        return value, rep

    def _configure(self, mode):
        """MEAS:<mode>? configures the console for that quantity first."""
        if self.get("mode") != mode:
            self.put("mode", mode)

    @computed("energy")
    def energy(self):
        self._configure("ENER")
        value, _ = self._pulse_energies()
        return OVER_RANGE if value > self.get("energy_range") else value

    @computed("power")
    def power(self):
        self._configure("POW")
        value, rep = self._pulse_energies()
        return value * rep

    @computed("reading")
    def reading(self):
        return self.energy() if self.get("mode") == "ENER" else self.power()

    def safe_state_reached(self) -> bool:
        return True

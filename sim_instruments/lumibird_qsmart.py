"""Twin of the Lumibird Q-smart: the STATE machine (warm-up, flashlamp, Q-switch,
internal shutter, harmonic-module warm-up), the shutter interlock and the shot counters."""

from .optics import LaserOutput
from .shot_counter import ShotCounter
from .twin import Twin, command, computed

AMBIENT = 22.0      # °C, cooling water at power-up
COOLANT = 40.0      # °C, regulated cooling-group temperature


class QSmartTwin(Twin):
    """Options: ``wavelength`` (nm, default 355: third-harmonic module; 1064 means no
    harmonic module), ``pulse_width`` (s, 5 ns), ``lamp_rate`` (flashlamp repetition rate,
    Hz, 10: the pulse rate when every shot is Q-switched), ``pulse_energy`` (J at the
    output, 0.2), ``warmup`` (s of cooling-group warm-up after power-up, 0),
    ``shutter_delay`` (s the internal shutter takes to open after QSW 1, 1),
    ``nlo_warmup`` (s from the first pulse to STATE 9, 60), ``lamp_on`` (the flashlamp
    already runs at power-up, as left from the front panel; False), ``shots`` (SSHOT at
    power-up).

    Where the public sources are silent: RUN is accepted in STATE 2 only, QSW 1 while the
    flashlamp runs (STATE 3 and up); the internal shutter then opens after
    ``shutter_delay`` unless the interlock is open, in which case the laser waits in
    STATE 4; opening the interlock stops the Q-switch (back to STATE 3). QSPAR1-3, TRIG
    and CAPVSET change only in STATE 1-2 (as the public MATLAB driver enforces); STOP and
    QSW 0 are always accepted. Pulses leave in STATE 5-9, at full energy from the start
    (the harmonic module's warm-up shows in STATE only)."""

    definition = "lumibird_qsmart.yaml"

    def attach(self, name, device):
        super().attach(name, device)
        option = self.options.get
        self.wavelength = float(option("wavelength", 355.0))
        self.pulse_width = float(option("pulse_width", 5e-9))
        self.lamp_rate = float(option("lamp_rate", 10.0))
        self.energy = float(option("pulse_energy", 0.2))
        self.warmup = float(option("warmup", 0.0))
        self.shutter_delay = float(option("shutter_delay", 1.0))
        self.nlo_warmup = float(option("nlo_warmup", 60.0))
        self.lamp = ShotCounter(self.clock, int(option("shots", 1_250_000)))
        self.qswitch = ShotCounter(self.clock)
        self.shutter_opens = None        # when the internal shutter opens (None: held shut)
        self.interlock_closed = True
        if option("lamp_on", False):
            self.lamp.run(self.lamp_rate)

    # -- state ----------------------------------------------------------------------
    @computed("state")
    def state(self) -> int:
        now = self.clock.now()
        if not self.lamp.running():
            return 1 if now < self.warmup else 2
        if not self.qswitch.running():           # Q-switch off, or its burst is over
            return 3
        if self.shutter_opens is None or now < self.shutter_opens:
            return 4
        if self.wavelength >= 1064:               # fundamental: no harmonic module
            return 5
        warm = (now - self.shutter_opens) / self.nlo_warmup if self.nlo_warmup > 0 else 1.0
        return 5 + min(int(4 * warm), 4)

    @computed("cooling_temperature")
    def cooling_temperature(self) -> float:
        heated = min(self.clock.now() / self.warmup, 1.0) if self.warmup > 0 else 1.0
        return AMBIENT + (COOLANT - AMBIENT) * heated

    @computed("system_shots")
    def system_shots(self) -> int:
        return self.lamp.total()

    @computed("user_shots")
    def user_shots(self) -> int:
        return self.lamp.user()

    # -- commands -------------------------------------------------------------------
    @command(r"RUN")
    def run(self, match):
        state = self.state()
        if state != 2:
            return f"ERROR : RUN not allowed in STATE {state}"
        self.lamp.run(self.lamp_rate)
        return "OK : RUN"

    @command(r"STOP")
    def stop(self, match):
        self._stop_qswitch()
        self.lamp.stop()
        return "OK : STOP"

    @command(r"QSW 0")
    def qswitch_off(self, match):
        self._stop_qswitch()
        return "OK : QSW"

    @command(r"QSW 1")
    def qswitch_on(self, match):
        state = self.state()
        if state < 3:
            return f"ERROR : QSW 1 not allowed in STATE {state}"
        if state == 3:
            cycles, length, shots = (self.get(n) for n in ("burst_cycles", "cycle_length",
                                                           "cycle_shots"))
            if not 1 <= shots <= length:
                return "ERROR : QSPAR3 must be 1 to QSPAR2"
            self.qswitch.run(self.lamp_rate * shots / length, cycles * shots or None)
            self.shutter_opens = self._shutter_opening()
        return "OK : QSW"

    @command(r"(QSPAR[123]|TRIG|CAPVSET) .*")
    def setting_while_flashing(self, match):
        state = self.state()
        if state not in (1, 2):
            return f"ERROR : {match[1].decode()} not allowed in STATE {state}"
        return None

    def after_setting(self, name, value):
        if name == "user_shots":
            self.lamp.reset_user()

    def _stop_qswitch(self):
        """Q-switch off, internal shutter shut."""
        self.qswitch.stop()
        self.shutter_opens = None

    # -- the bench --------------------------------------------------------------------
    def _shutter_opening(self):
        return self.clock.now() + self.shutter_delay if self.interlock_closed else None

    def open_interlock(self) -> None:
        """The safety interlock opens (a door): the shutter closes, the Q-switch stops."""
        self.interlock_closed = False
        self._stop_qswitch()
        self.changed()

    def close_interlock(self) -> None:
        """The interlock closes; a Q-switch left waiting in STATE 4 then opens the shutter."""
        self.interlock_closed = True
        if self.qswitch.running() and self.shutter_opens is None:
            self.shutter_opens = self._shutter_opening()
        self.changed()

    def laser_output(self) -> LaserOutput:
        return LaserOutput(self.state() >= 5, self.wavelength, self.pulse_width,
                           self.qswitch.rate, self.energy)

    def safe_state_reached(self) -> bool:
        return self.state() < 5

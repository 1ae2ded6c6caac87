"""Twin of the Quantel Big Sky Ultra: flashlamp standby/simmer/fire states, the Q-switch
and its interlock byte (8-s delay after the flashlamp starts, shutter closed), the
external interlock, shutter, cooling pump and the shot counters."""

import math

from pyvisa_sim.devices import Device

from .optics import LaserOutput
from .shot_counter import ShotCounter
from .twin import Twin, command, computed

QSWITCH_DELAY = 8.0     # s the Q-switch is held off after the flashlamp starts (manual, IQ)
FIRING = ("fire auto", "fire ext")
#: Set commands: key -> (property, scale of the written integer).
SETTINGS = {"F": ("lamp_frequency", 0.01), "V": ("lamp_voltage", None),
            "ENE": ("lamp_energy", 0.1), "CAP": ("capacitance", 0.1),
            "LPM": ("lamp_sync", None), "QSM": ("qswitch_mode", None),
            "QOF": ("qswitch_at_run", None), "QSF": ("qswitch_divider", None),
            "QSP": ("burst_pulses", None), "W": ("qswitch_delay", None)}


def _bits(*flags) -> str:
    """Interlock byte as the laser prints it: ``(1, 0, 0, 1)`` -> ``"10 01 00 00"``."""
    digits = "".join(str(int(f)) for f in flags).ljust(8, "0")
    return " ".join(digits[i:i + 2] for i in range(0, 8, 2))


class BigSkyTwin(Twin):
    """Options: ``wavelength`` (nm, default 1064), ``pulse_width`` (s, 8 ns),
    ``pulse_energy`` (J at the output, 0.05), ``lamp_on`` (the flashlamp already fires with
    internal sync and its 8-s delay is over; False), ``shots`` / ``qswitch_shots``
    (counters at power-up).

    Where the manual is silent: the flashlamp fires (A/E) only from simmer (M first); a
    refused A/E/M answers the unchanged state string; PQ/SQ/OQ answer the state string;
    closing the shutter or stopping the flashlamp stops the Q-switch; opening the external
    interlock (``open_interlock``) or stopping the pump shuts the laser down to standby,
    closes the shutter and latches the cause for IF (IF1 bits assumed: a external
    interlock, b cooling pump). Commands are read case-insensitively (the public driver's
    log shows ``cg`` answered). Externally triggered flashlamp or Q-switch pulses are not
    simulated (no trigger source on the bench)."""

    definition = "quantel_bigsky.yaml"

    def attach(self, name, device):
        super().attach(name, device)
        option = self.options.get
        self.wavelength = float(option("wavelength", 1064.0))
        self.pulse_width = float(option("pulse_width", 8e-9))
        self.energy = float(option("pulse_energy", 0.05))
        self.lamp = ShotCounter(self.clock, int(option("shots", 8_400_000)))
        self.qswitch = ShotCounter(self.clock, int(option("qswitch_shots", 5_100_000)))
        self.lamp_state = "standby"
        self.lamp_since = 0.0
        self.qswitch_on = False                 # PQ accepted, not stopped since
        self.interlock_closed = True
        self.shutdown_cause = _bits()
        if option("lamp_on", False):
            self.lamp_state, self.lamp_since = "fire auto", -QSWITCH_DELAY
            self.lamp.run(self.get("lamp_frequency"))

    # -- state ----------------------------------------------------------------------
    @computed("state")
    def state(self) -> str:
        return self.lamp_state

    def _qswitch_held(self) -> tuple:
        """IQ flags: 8-s delay, coolant too cold, Q-switch timeout, shutter closed."""
        delay = self.lamp_state in FIRING and self.clock.now() < self.lamp_since + QSWITCH_DELAY
        return delay, False, False, self.get("shutter") != "open"

    @computed("qswitch_interlock")
    def qswitch_interlock(self) -> str:
        return _bits(*self._qswitch_held())

    @computed("first_interlock")
    def first_interlock(self) -> str:
        return "IF1 " + self.shutdown_cause

    @computed("status_word")
    def status_word(self) -> str:
        lamp = {"fire auto": 2, "fire ext": 6}.get(self.lamp_state, 0)
        simmer = int(self.lamp_state != "standby")
        return (f"i {int(not self.interlock_closed)} f {lamp} s {simmer} "
                f"q {self._qswitch_code()}")

    def _qswitch_code(self) -> int:
        """Q-switch in the status word: 0 stopped, 2 running, +4 on external triggers."""
        if not self.qswitch_on:
            return 0
        if self.get("qswitch_mode") == 2:
            return 6
        burst_over = self.lamp_state == "fire auto" and not self.qswitch.running()
        return 0 if burst_over else 2

    @computed("lamp_shots")
    def lamp_shots(self) -> int:
        return self.lamp.total()

    @computed("user_lamp_shots")
    def user_lamp_shots(self) -> int:
        return self.lamp.user()

    @computed("qswitch_shots")
    def qswitch_shots(self) -> int:
        return self.qswitch.total()

    @computed("user_qswitch_shots")
    def user_qswitch_shots(self) -> int:
        return self.qswitch.user()

    # -- commands -------------------------------------------------------------------
    @command(rb"(?=.*[a-z]).+")
    def any_case(self, match):
        return self.device._match(match[0].upper())

    @command(r">CGT")
    def coolant_temperature(self, match):
        return self._reply(b">CG")

    @command(r">(F|V|ENE|CAP|LPM|QSM|QOF|QSF|QSP|W)(\d+)")
    def setting(self, match):
        key = match[1].decode()
        name, scale = SETTINGS[key]
        value = round(int(match[2]) * scale, 2) if scale else int(match[2])
        try:
            self.device._properties[name].set_value(str(value))
        except ValueError:
            pass                                  # out of range: the old value stays
        if name == "lamp_frequency" and self.lamp_state == "fire auto":
            self.lamp.run(self.get("lamp_frequency"))
            if self.qswitch.running():
                self._start_qswitch()
        return self._reply(b">" + match[1])

    @command(r">M")
    def simmer(self, match):
        if self.lamp_state != "standby":
            self._stop_flashing()
            self.lamp_state = "simmer"
        elif self.interlock_closed and self.get("pump"):
            self.lamp_state = "simmer"
            self.shutdown_cause = _bits()       # a fresh start clears the latched cause
        return self._reply(b">ST")

    @command(r">([AE])")
    def fire(self, match):
        wanted = "fire auto" if match[1] == b"A" else "fire ext"
        if self.lamp_state in ("standby", wanted):
            return self._reply(b">ST")          # standby: refused, simmer first
        if self.lamp_state == "simmer":
            self.lamp_since = self.clock.now()
        self._stop_flashing()
        self.lamp_state = wanted
        if wanted == "fire auto":
            self.lamp.run(self.get("lamp_frequency"))
        return self._reply(b">ST")

    @command(r">S")
    def standby(self, match):
        self._stop_flashing()
        self.lamp_state = "standby"
        return self._reply(b">ST")

    @command(r">PQ")
    def start_qswitch(self, match):
        if self.lamp_state in FIRING and not any(self._qswitch_held()):
            self.qswitch_on = True
            self._start_qswitch()
        return self._reply(b">ST")

    @command(r">SQ")
    def stop_qswitch(self, match):
        self._stop_qswitch()
        return self._reply(b">ST")

    @command(r">OQ")
    def single_shot(self, match):
        if self.lamp_state == "fire auto" and not any(self._qswitch_held()) \
                and not self.qswitch.running():
            self.qswitch.shot()
        return self._reply(b">ST")

    @command(r">R([01])")
    def set_shutter(self, match):
        if match[1] == b"0":
            self._stop_qswitch()
            self.put("shutter", "closed")
        elif self.interlock_closed:
            self.put("shutter", "open")
        return self._reply(b">R")

    @command(r">P([01])")
    def set_pump(self, match):
        self.put("pump", int(match[1]))
        if match[1] == b"0" and self.lamp_state != "standby":
            self._shut_down(_bits(0, 1))
        return self._reply(b">P")

    @command(r">(UC|UCQ)0")
    def reset_counter(self, match):
        (self.lamp if match[1] == b"UC" else self.qswitch).reset_user()
        return self._reply(b">" + match[1])

    @command(rb">.*")
    def fixed_width(self, match):
        """What the YAML answers, padded to the laser's 15 characters (pyvisa-sim strips
        the trailing spaces of YAML replies)."""
        reply = Device._match(self.device, match[0])
        return reply.ljust(15) if isinstance(reply, bytes) else reply

    # -- internals --------------------------------------------------------------------
    def _reply(self, query: bytes) -> bytes:
        """The fixed-width line the laser prints for ``query``."""
        return self.device._match_getters(query).ljust(15)

    def _start_qswitch(self):
        """Count Q-switch pulses at the internal rate (none on external triggers)."""
        mode = self.get("qswitch_mode")
        if mode == 2 or self.lamp_state != "fire auto":
            self.qswitch.stop()
            return
        rate = self.get("lamp_frequency") / self.get("qswitch_divider")
        self.qswitch.run(rate, self.get("burst_pulses") if mode == 1 else None)

    def _stop_qswitch(self):
        self.qswitch_on = False
        self.qswitch.stop()

    def _stop_flashing(self):
        self._stop_qswitch()
        self.lamp.stop()

    def _shut_down(self, cause: str):
        self._stop_flashing()
        self.lamp_state = "standby"
        self.put("shutter", "closed")
        self.shutdown_cause = cause

    # -- the bench --------------------------------------------------------------------
    def open_interlock(self) -> None:
        """The external interlock opens (a door): the laser shuts down."""
        self.interlock_closed = False
        self._shut_down(_bits(1))
        self.changed()

    def close_interlock(self) -> None:
        self.interlock_closed = True
        self.changed()

    def steady_until(self) -> float:
        return math.inf if self.qswitch.steady() else self.clock.now()

    def laser_output(self) -> LaserOutput:
        emitting = (self.qswitch.running() and self.get("shutter") == "open"
                    and self.lamp_state == "fire auto" and self.get("qswitch_mode") != 2)
        return LaserOutput(emitting, self.wavelength, self.pulse_width, self.qswitch.rate,
                           self.energy)

    def safe_state_reached(self) -> bool:
        return not self.laser_output().emitting

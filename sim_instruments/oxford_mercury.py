"""Twin of the Oxford Instruments Mercury iTC: temperature sensor MB1.T1 on the sample
stage, heater MB0.H1, one control loop.

Every command is answered, as the instrument does: ``READ`` with ``STAT:<noun>:<value>``,
``SET`` with ``STAT:SET:<noun>:<value>:VALID`` or ``...:INVALID`` when the value is refused
(nothing changes). A noun the firmware cannot interpret is answered with the reply cut
after that term plus ``INVALID`` (a ``SET`` of a read-only noun included), an unknown board
with ``NOT_FOUND`` and an unknown verb with ``<VERB>:INVALID`` (manual, "Invalid responses").

The heater output is a voltage: ``HSET`` is a percentage of ``VLIM``, so the power is
``PMAX (HSET/100)²`` with ``PMAX = VLIM²/RES``. With the loop enabled (``ENAB:ON``) the PID
drives the heater (``HSET`` reads its present output); disabled, ``HSET`` is the manual
output. ``RENA``/``RSET`` ramp the setpoint towards ``TSET`` (which reads the target).
An open sensor raises an alarm listed by ``READ:SYS:ALRM``.
"""

import math

from .cryostat import CryostatTwin, Loop
from .twin import command, computed

SENSOR = "MB1.T1"


class MercuryITCTwin(CryostatTwin):
    """Options: those of ``CryostatTwin``."""

    definition = "oxford_mercury.yaml"

    def attach(self, name, device):
        super().attach(name, device)
        self.loop = Loop(self.initial_setpoint)
        self.stage.loops = [self.loop]
        self.manual_percent = 0.0
        self.put("setpoint", self.initial_setpoint)
        self.put("loop_enabled", "ON" if self.options.get("regulating") else "OFF")
        if "ramp_rate" in self.options:
            self.put("ramp_rate", float(self.options["ramp_rate"]))
            self.put("ramp_enabled", "ON")
        for prop in ("setpoint", "loop_enabled", "ramp_enabled", "voltage_limit"):
            self._apply(prop, self.get(prop))
        # Nouns the firmware knows: the getters' paths (READ:<noun>).
        self.nouns = [query.decode().split(":")[1:] for query in device._getters]
        self.boards = {noun[1] for noun in self.nouns if noun[0] == "DEV"}

    @property
    def heater_loop(self) -> Loop:
        return self.loop

    # -- settings -------------------------------------------------------------------
    def after_setting(self, name, value):
        self.stage.advance()
        self._apply(name, value)

    def _apply(self, name, value):
        loop = self.loop
        if name == "setpoint":
            loop.set_target(value)
        elif name in ("ramp_rate", "ramp_enabled"):
            loop.set_ramp(self.get("ramp_enabled") == "ON", self.get("ramp_rate"))
        elif name == "loop_enabled":
            loop.mode = "closed" if value == "ON" else "open"
        elif name == "heater_percent":
            self.manual_percent = value
            loop.manual = (value / 100.0) ** 2
        elif name in ("voltage_limit", "resistance"):
            loop.max_power = self.max_power()

    # -- readings -------------------------------------------------------------------
    @computed("temperature")
    def temperature(self):
        value = self.measured("stage")
        return 0.0 if value is None else value

    @computed("heater_percent")
    def heater_percent(self):
        self.stage.advance()
        if self.loop.mode == "open":
            return self.manual_percent
        return 100.0 * math.sqrt(self.loop.output)

    @computed("max_power")
    def max_power(self):
        return self.get("voltage_limit") ** 2 / self.get("resistance")

    @computed("heater_power")
    def heater_power(self):
        self.stage.advance()
        return self.loop.power

    @computed("heater_voltage")
    def heater_voltage(self):
        return math.sqrt(self.heater_power() * self.get("resistance"))

    @computed("heater_current")
    def heater_current(self):
        return math.sqrt(self.heater_power() / self.get("resistance"))

    @computed("alarms")
    def alarms(self):
        return "" if self.stage.sensor_ok else f"{SENSOR}\tOpen circuit;"

    # -- replies --------------------------------------------------------------------
    @command(r"SET:(.+)")
    def set_noun(self, match):
        query = match[0].decode()
        for name, parser, _, _ in self.device._setters:
            try:
                value = parser(query)
            except ValueError:
                continue
            try:
                self.device._properties[name].set_value(value)
            except ValueError:
                return f"STAT:{query}:INVALID"
            return f"STAT:{query}:VALID"
        return self._not_understood("STAT:SET:", match[1].decode().split(":"))

    @command(r"READ:(.+)")
    def read_noun(self, match):
        if match[0] in self.device._getters:
            return None                      # the YAML answers
        return self._not_understood("STAT:", match[1].decode().split(":"))

    @command(r"(?!READ:|SET:|\*IDN\?$)([^:]*).*")
    def unknown_verb(self, match):
        return f"{match[1].decode()}:INVALID"

    def _not_understood(self, prefix: str, terms: list) -> str:
        """The reply cut after the first term no known noun continues with."""
        for k in range(len(terms)):
            if not any(noun[:k + 1] == terms[:k + 1] for noun in self.nouns):
                if k == 1 and terms[0] == "DEV" and terms[1] not in self.boards:
                    return f"{prefix}{':'.join(terms)}:NOT_FOUND"
                return f"{prefix}{':'.join(terms[:k + 1])}:INVALID"
        return f"{prefix}{':'.join(terms)}:INVALID"

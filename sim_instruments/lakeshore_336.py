"""Twin of the Lake Shore 336/335 temperature controllers on the cryostat's sample stage.

One twin class for both models (the model registered for the slot picks the YAML device:
four inputs and outputs on the 336, two on the 335). Input A reads the stage, input B the
cold plate; output 1 heats the stage (its range sets the power: low 1 %, medium 10 %,
high 100 % of ``heater_power``); the other outputs have no heater wired but keep their own
setpoints and ramps. Heater output (``HTR?``) is the percentage of the range's power.
The PID values are kept and validated, the regulation itself is the stage's ideal loop
(see ``cryostat.py``). The status registers follow the manual: PON at power-up, CME for a
command the controller cannot interpret, EXE for a value it refuses, ``*ESR?`` reads and
clears, ``*STB?`` carries ESB when an event enabled by ``*ESE`` is set.
"""

from .cryostat import CryostatTwin, Loop
from .twin import SILENT, command

PON, CME, EXE = 128, 32, 16
ESB = 32
RANGE_POWER = {0: 0.0, 1: 0.01, 2: 0.1, 3: 1.0}   # fraction of full power per RANGE
MODES = {0: "off", 1: "closed", 2: "closed", 3: "open"}  # zone mode: closed loop, own PIDs
SENSORS = {"A": "stage", "B": "plate"}             # C, D: disabled inputs
SENSOR_LIMIT = 500.0                               # K, DT-670 curve on input A
DEVICES = {"lakeshore-336": "ls336", "lakeshore-335": "ls335"}
FULL_POWER = {"lakeshore-336": 100.0, "lakeshore-335": 50.0}   # W, output 1 into 25 ohm


def number(value: float) -> str:
    """The controller's numeric format: sign and six significant digits (``+295.000``)."""
    return f"{value:+#.6g}"


def _values(text: str, count: int, what: str) -> list:
    parts = str(text).split(",")
    if len(parts) != count:
        raise ValueError(f"{what} takes {count} values, got {text!r}")
    return [float(part) for part in parts]


def _integers(values: list, what: str) -> list:
    if any(v != int(v) for v in values):
        raise ValueError(f"{what} takes integers, got {values}")
    return [int(v) for v in values]


class LakeShore336Twin(CryostatTwin):
    """Options: those of ``CryostatTwin``, and ``heater_power`` (W, full scale of output 1:
    100 W on a 336, 50 W on a 335)."""

    definition = "lakeshore_336.yaml"

    def resources(self, resource):
        return {DEVICES[self.model]: resource}

    def attach(self, name, device):
        super().attach(name, device)
        self.inputs = [x for x in "ABCD" if self._has(f"kelvin_{x}")]
        self.loops = {n: Loop(self.get(f"setpoint_{n}")) for n in range(1, 5)
                      if self._has(f"setpoint_{n}")}
        self.stage.loops = list(self.loops.values())
        self.full_power = {1: float(self.options.get("heater_power", FULL_POWER[self.model]))}
        self.esr = PON
        self._refused = False
        self.put("setpoint_1", self.initial_setpoint)
        if "ramp_rate" in self.options:
            self.put("ramp_1", f"1,{number(float(self.options['ramp_rate']))}")
        self.put("range_1", 3 if self.options.get("regulating") else 0)
        for prop in device._properties:
            self._apply(prop, self.get(prop))

    @property
    def heater_loop(self) -> Loop:
        return self.loops[1]

    def _has(self, name) -> bool:
        return name in self.device._properties

    # -- settings -------------------------------------------------------------------
    def _max_mode(self, output: int) -> int:
        """Outputs with a current heater close loops (modes 0-3); the others can also be
        monitor out (4) and warm-up supply (5)."""
        heaters = (1, 2) if self.model == "lakeshore-336" else (1,)
        return 3 if output in heaters else 5

    def check_setting(self, name, value):
        kind, _, channel = name.rpartition("_")
        if kind == "ramp":
            on, rate = _values(value, 2, "RAMP")
            if on not in (0, 1) or not (rate == 0 or 0.1 <= rate <= 100):
                raise ValueError(f"ramp {value!r}: off/on 0 or 1, rate 0.1-100 K/min or 0")
        elif kind == "pid":
            p, i, d = _values(value, 3, "PID")
            if not (0.1 <= p <= 1000 and 0.1 <= i <= 1000 and 0 <= d <= 200):
                raise ValueError(f"PID {value!r}: P, I 0.1-1000, D 0-200")
        elif kind == "outmode":
            mode, control, powerup = _integers(_values(value, 3, "OUTMODE"), "OUTMODE")
            if not (0 <= mode <= self._max_mode(int(channel))
                    and 0 <= control <= len(self.inputs) and powerup in (0, 1)):
                raise ValueError(f"output mode {value!r} not available on output {channel}")

    def after_setting(self, name, value):
        self.stage.advance()
        kind = name.rpartition("_")[0]
        if kind == "ramp":
            on, rate = _values(value, 2, "RAMP")
            self.put(name, f"{int(on)},{number(rate)}")
        elif kind == "pid":
            self.put(name, ",".join(number(v) for v in _values(value, 3, "PID")))
        elif kind == "outmode":
            self.put(name, ",".join(str(int(v)) for v in _values(value, 3, "OUTMODE")))
        self._apply(name, value)

    def _apply(self, name, value):
        """Carry a setting of output n over to its loop."""
        kind, _, channel = name.rpartition("_")
        if not channel.isdigit():
            return
        output = int(channel)
        loop = self.loops[output]
        if kind == "setpoint":
            loop.set_target(value)
        elif kind == "ramp":
            on, rate = _values(value, 2, "RAMP")
            loop.set_ramp(bool(on), rate)
        elif kind == "range":
            loop.max_power = self.full_power.get(output, 0.0) * RANGE_POWER[value]
        elif kind == "outmode":
            mode, control, _ = (int(v) for v in _values(value, 3, "OUTMODE"))
            loop.mode = MODES.get(mode, "off")
            loop.sensor = SENSORS.get(" ABCD"[control])
        elif kind == "mout":
            loop.manual = value / 100.0

    def refused(self, name, value, error):
        self._refused = True

    def on_command_error(self, error_key):
        self.esr |= EXE if self._refused else CME
        self._refused = False

    # -- readings computed from the stage ---------------------------------------------
    @command(r"KRDG\? ([A-D])")
    def kelvin(self, match):
        channel = match[1].decode()
        if self._has(f"kelvin_{channel}"):
            value = self.measured(SENSORS.get(channel))
            self.put(f"kelvin_{channel}", 0.0 if value is None else value)

    @command(r"RDGST\? ([A-D])")
    def reading_status(self, match):
        channel = match[1].decode()
        if self._has(f"status_{channel}") and channel in SENSORS:
            value = self.measured(SENSORS[channel])
            self.put(f"status_{channel}", 1 if value is None else 32 if value > SENSOR_LIMIT else 0)

    @command(r"(SETP|RAMPST|HTR)\? ([1-4])")
    def loop_state(self, match):
        name = {b"SETP": "setpoint", b"RAMPST": "rampst", b"HTR": "htr"}[match[1]]
        output = int(match[2])
        if self._has(f"{name}_{output}"):
            self.stage.advance()
            loop = self.loops[output]
            value = {"setpoint": loop.setpoint, "rampst": int(loop.ramping),
                     "htr": 100.0 * loop.output}[name]
            self.put(f"{name}_{output}", value)

    # -- status registers -----------------------------------------------------------
    @command(r"\*ESR\?")
    def event_status(self, match):
        value, self.esr = self.esr, 0
        return f"{value:03d}"

    @command(r"\*STB\?")
    def status_byte(self, match):
        self.put("stb", ESB if self.esr & self.get("ese") else 0)

    @command(r"\*CLS")
    def clear_status(self, match):
        self.esr = 0
        return SILENT

    @command(r"\*RST")
    def reset(self, match):
        """Power-up settings: every heater output off."""
        self.stage.advance()
        for output in self.loops:
            self.put(f"range_{output}", 0)
            self._apply(f"range_{output}", 0)
        return SILENT

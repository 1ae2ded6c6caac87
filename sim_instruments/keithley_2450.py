"""Twin of the Keithley 2450 SourceMeter (SCPI command set): readings from the sample,
and the trigger model's blocks run in simulated time.

Trigger model (Reference Manual §3 "Trigger model", §6 ``:TRIGger:BLOCk``): the blocks
modelled are buffer clear, source output on/off, constant delay and measure (the
subset a timed hold uses; others are undefined headers here). ``:INIT`` works the whole
run out at once: each measure block takes NPLC / line frequency and stores its
readings in the buffer as simulated time reaches them, each source output block
switches the output at its time. ``:TRIG:STAT?`` reports RUNNING until the last block
is done, then IDLE; ``:ABOR`` stops the run now (ABORTED), leaving the output as the
blocks left it. Other commands are taken at once, also during a run (the last writer
of the output wins).
"""

import datetime
import math
import re
from collections import deque
from dataclasses import dataclass, field

from .keithley_smu import OFF, ScpiSourceMeterTwin, sense_function, short_word
from .twin import SILENT, command, computed

_READ = re.compile(r"""\s*(?:["'](\w+)["']\s*(?:,(.*))?)?""", re.DOTALL)
_BUFFER = r"""(?:\s*,\s*["'](\w+)["'])"""
BUFFERS = ("defbuffer1", "defbuffer2")
UNITS = {"VOLT": "Volt DC", "CURR": "Amp DC"}
STATES = {"ON": True, "1": True, "OFF": False, "0": False}
DELAY_LIMITS = (167e-9, 10e3)   # s, a constant delay block (or 0)
KEPT = 1000                     # newest readings a buffer keeps here (:FETC? needs one)
#: The instrument clock at simulated time 0 (time stamps of the event log).
EPOCH = datetime.datetime(2026, 1, 1)


@dataclass
class Run:
    """One run of the trigger model from ``:INIT``."""
    end: float                                     # the last block is done
    steps: list = field(default_factory=list)      # (time a block starts, its number)
    switches: list = field(default_factory=list)   # (time, output on) of source blocks
    stop: float = math.inf                         # ``:ABOR`` time

    def running(self, now: float) -> bool:
        return now < min(self.end, self.stop)


class Keithley2450Twin(ScpiSourceMeterTwin):
    """A 2450 in SCPI mode with the bench's sample on its terminals (options: see
    ``SourceMeasureTwin``). With the output off it measures the normal off-state (0 V)."""

    definition = "keithley_2450.yaml"
    CURRENT_RANGES = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    VOLTAGE_RANGES = (0.02, 0.2, 2.0, 20.0, 200.0)
    OUT_OF_RANGE = (-222, "Parameter data out of range")

    def attach(self, name, device):
        super().attach(name, device)
        self.blocks = {}                          # number -> (kind, argument)
        self.run = None
        self.buffers = {name: deque(maxlen=KEPT) for name in BUFFERS}   # (time, fields)
        self.output_set_at = -math.inf

    def error_entry(self, code, message):
        when = EPOCH + datetime.timedelta(seconds=self.clock.now())
        stamp = when.strftime("%Y/%m/%d %H:%M:%S.") + f"{when.microsecond // 1000:03d}"
        return f'{code},"{message};1;{stamp}"'

    def check_setting(self, name, value):
        if name == "sense_function" and sense_function(value) not in ("VOLT:DC", "CURR:DC"):
            raise ValueError(f"unknown sense function {value}")

    def after_setting(self, name, value):
        super().after_setting(name, value)
        if name == "sense_function":
            self.put(name, sense_function(value))
        elif name == "output":
            self.output_set_at = self.clock.now()

    @computed("line_frequency")
    def line_frequency_setting(self):
        return int(self.line_frequency)

    # -- output: programmed, or switched by the trigger model ---------------------------
    def output_on(self) -> bool:
        """The latest of the last ``:OUTP`` write and the source output blocks the run
        has reached."""
        at = self.clock.now()
        on = super().output_on()
        if self.run is not None:
            for when, state in self.run.switches:
                if self.output_set_at <= when <= min(at, self.run.stop):
                    on = state
        return on

    def settle(self) -> None:
        """Forget a run that is over, keeping the output as it left it."""
        now = self.clock.now()
        if self.run is not None and not self.run.running(now):
            self.put("output", "1" if self.output_on() else "0")
            self.output_set_at = now
            self.run = None

    @command(r"OUTP\?")
    def output_query(self, match):
        return "1" if self.output_on() else "0"

    # -- readings -----------------------------------------------------------------------
    def fields(self, on: bool) -> dict:
        """The elements of one reading taken now (``on``: the source output is on)."""
        function, level, limit = self.source()[1:]
        point = self.operating_point(function, level, limit) if on else OFF
        volts, amps = self.measured(point)
        measuring = self.get("sense_function").partition(":")[0]
        value = {"VOLT": volts, "CURR": amps}
        return {"READ": f"{value[measuring]:.6E}", "SOUR": f"{value[function]:.6E}",
                "UNIT": UNITS[measuring], "SOURUNIT": UNITS[function]}

    def elements(self, text: str):
        """``["<buffer>"[, <element>...]]``: (buffer, element names), None if invalid."""
        parsed = _READ.fullmatch(text)
        names = [short_word(e) for e in parsed[2].split(",")] if parsed and parsed[2] else ["READ"]
        if not parsed or parsed[1] not in (None, *BUFFERS) \
                or not set(names) <= {"READ", "SOUR", "UNIT", "SOURUNIT"}:
            self.push_error(self.error_entry(-224, "Illegal parameter value"))
            return None
        return parsed[1] or "defbuffer1", names

    @command(r"READ\?(.*)")
    def read(self, match):
        """``:READ? ["<buffer>"[, <element>...]]``: measure into the buffer, answer the
        chosen elements."""
        chosen = self.elements(match[1].decode())
        if chosen is None:
            return SILENT
        buffer, names = chosen
        self.integrate(self.get("nplc"))
        reading = self.fields(self.output_on())
        self.buffers[buffer].append((self.clock.now(), reading))
        return ",".join(reading[n] for n in names)

    @command(r"FETC\?(.*)")
    def fetch(self, match):
        """``:FETC? ["<buffer>"[, <element>...]]``: the latest reading of the buffer
        (-230 if it has none yet)."""
        chosen = self.elements(match[1].decode())
        if chosen is None:
            return SILENT
        buffer, names = chosen
        taken = [r for t, r in self.buffers[buffer] if t <= self.clock.now()]
        if not taken:
            self.push_error(self.error_entry(-230, "Data corrupt or stale"))
            return SILENT
        return ",".join(taken[-1][n] for n in names)

    # -- trigger model ------------------------------------------------------------------
    def define(self, number: bytes, kind: str, argument) -> str:
        if int(number) < 1:
            self.push_error(self.error_entry(*self.OUT_OF_RANGE))
        else:
            self.blocks[int(number)] = (kind, argument)
        return SILENT

    def bad_parameter(self) -> str:
        self.push_error(self.error_entry(-224, "Illegal parameter value"))
        return SILENT

    @command(r"""TRIG:LOAD\s+["'](\w+)["']""")
    def load(self, match):
        """Only the "Empty" template is modelled."""
        if match[1].decode().upper() != "EMPTY":
            return self.bad_parameter()
        if self.run is not None and self.run.running(self.clock.now()):
            self.push_error(self.error_entry(-221, "Settings conflict"))
            return SILENT
        self.settle()
        self.blocks = {}
        return SILENT

    @command(rf"TRIG:BLOC:BUFF:CLE\s+(\d+){_BUFFER}?")
    def buffer_clear_block(self, match):
        name = (match[2] or b"defbuffer1").decode()
        return self.define(match[1], "clear", name) if name in BUFFERS else self.bad_parameter()

    @command(r"TRIG:BLOC:SOUR:STAT\s+(\d+)\s*,\s*(\w+)")
    def source_block(self, match):
        state = STATES.get(match[2].decode().upper())
        return self.bad_parameter() if state is None else self.define(match[1], "source", state)

    @command(r"TRIG:BLOC:DEL:CONS\s+(\d+)\s*,\s*(\S+)")
    def delay_block(self, match):
        try:
            delay = float(match[2])
        except ValueError:
            return self.bad_parameter()
        if delay != 0 and not DELAY_LIMITS[0] <= delay <= DELAY_LIMITS[1]:
            self.push_error(self.error_entry(*self.OUT_OF_RANGE))
            return SILENT
        return self.define(match[1], "delay", delay)

    @command(rf"TRIG:BLOC:MEAS\s+(\d+)(?:{_BUFFER}(?:\s*,\s*(\d+))?)?")
    def measure_block(self, match):
        name = (match[2] or b"defbuffer1").decode()
        count = int(match[3] or 1)
        if name not in BUFFERS or count < 1:
            return self.bad_parameter()
        return self.define(match[1], "measure", (name, count))

    @command(r"INIT(?::IMM)?")
    def initiate(self, match):
        """Work the run out now; its readings appear as simulated time reaches them."""
        now = self.clock.now()
        if self.run is not None and self.run.running(now):
            self.push_error(self.error_entry(-213, "Init ignored"))
            return SILENT
        self.settle()
        run = self.run = Run(now)
        integration = self.get("nplc") / self.line_frequency
        t, on = now, self.output_on()
        for number in sorted(self.blocks):
            kind, argument = self.blocks[number]
            run.steps.append((t, number))
            if kind == "clear":
                self.buffers[argument].clear()
            elif kind == "source":
                on = argument
                run.switches.append((t, on))
            elif kind == "delay":
                t += argument
            else:
                name, count = argument
                for _ in range(count):
                    t += integration
                    self.buffers[name].append((t, self.fields(on)))
        run.end = t
        return SILENT

    @command(r"ABOR")
    def abort(self, match):
        """Stop the run now: readings it has not taken yet are not taken."""
        now = self.clock.now()
        if self.run is not None and self.run.running(now):
            self.run.stop = now
            for name, entries in self.buffers.items():
                self.buffers[name] = deque(((t, r) for t, r in entries if t <= now), maxlen=KEPT)
        return SILENT

    @command(r"TRIG:STAT\?")
    def trigger_state(self, match):
        """``<state>;<state>;<block>``: the block being run, or the last one run."""
        now, run = self.clock.now(), self.run
        if run is None:
            state, block = ("BUILDING" if self.blocks else "EMPTY"), 0
        else:
            state = ("ABORTED" if run.stop < math.inf else
                     "RUNNING" if run.running(now) else "IDLE")
            until = min(now, run.stop)
            block = max((n for t, n in run.steps if t <= until), default=0)
        return f"{state};{state};{block}"

    def safe_state_reached(self) -> bool:
        running = self.run is not None and self.run.running(self.clock.now())
        return super().safe_state_reached() and not running

"""Twin of the Keithley 2636B (TSP): Lua statements in, printed values out; SMU A drives
the sample, its trigger model runs pulsed sweeps in simulated time.

Trigger model (2600B Reference Manual, "Triggering"): on ``smua.trigger.initiate()`` the
arm layer emits ``ARMED``; each of ``smua.trigger.count`` points waits for its source
stimulus, sources the next ``listv``/``linearv`` level (``SOURCE_COMPLETE``), waits for
the measure stimulus and integrates (``MEASURE_COMPLETE``), then with
``endpulse.action = SOURCE_IDLE`` waits for the end-pulse stimulus and returns to the
idle level (``PULSE_COMPLETE``); timers turn events into delayed events (``Events``).
Readings go to the buffers named by ``smua.trigger.measure.iv(ibuffer, vbuffer)`` and
appear there as simulated time reaches them. A sweep whose stimulus never comes never
completes: ``waitcomplete()`` then blocks the instrument, as it does the real one.
"""

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace

from . import tsp
from .keithley_smu import OFF, OperatingPoint, SourceMeasureTwin
from .twin import SILENT, command

SEVERITY, NODE = 20, 1          # "recoverable" errors of TSP-Link node 1
CONSTANTS = {
    "smua.OUTPUT_DCAMPS": 0.0, "smua.OUTPUT_DCVOLTS": 1.0, "smua.OUTPUT_OFF": 0.0,
    "smua.OUTPUT_ON": 1.0, "smua.SOURCE_IDLE": 0.0, "smua.SOURCE_HOLD": 1.0,
    "smua.DISABLE": 0.0, "smua.ENABLE": 1.0, "smua.ASYNC": 2.0, "smua.AUTORANGE_OFF": 0.0,
    "smua.AUTORANGE_ON": 1.0, "smua.LIMIT_AUTO": 0.0,
}
#: Event IDs (numbers of this simulation; programs use the names).
EVENTS = {f"smua.trigger.{name}_EVENT_ID": float(number) for number, name in enumerate(
    ("SWEEPING", "ARMED", "SOURCE_COMPLETE", "MEASURE_COMPLETE", "PULSE_COMPLETE",
     "SWEEP_COMPLETE", "IDLE"), start=1)}
SWEEPING, ARMED, SOURCE_COMPLETE, MEASURE_COMPLETE, PULSE_COMPLETE = range(1, 6)
SOURCE_IDLE = 0                 # smua.trigger.endpulse.action
TIMERS = 8
MAX_POINTS = 1048575            # longest sweep list and trigger count
MAX_EVENTS = 4 * MAX_POINTS     # what the simulation schedules for one sweep
TIMER_EVENT = 20                # trigger.timer[N].EVENT_ID = 20 + N
_TIMER = re.compile(r"trigger\.timer\[(\d+)\]\.(delay|count|passthrough|stimulus|EVENT_ID)")
_BUFFER = re.compile(r"smua\.nvbuffer([12])(?:\.(n|readings|clear))?")


@dataclass
class Timer:
    delay: float = 10e-6
    count: int = 1
    passthrough: bool = False
    stimulus: float = 0.0


@dataclass
class Buffer:
    """A reading buffer: (time the reading is taken, value)."""

    entries: list = field(default_factory=list)

    def readings(self, now: float) -> list[float]:
        return [value for t, value in self.entries if t <= now]


@dataclass
class Pulse:
    start: float              # source level applied
    end: float                # back to idle (or on to the next point)
    point: OperatingPoint


class Stalled(Exception):
    """A stimulus the sweep waits for never comes."""


class Events:
    """The event times of one sweep. A timer, when its stimulus event occurs, passes it
    through (if ``passthrough``) and emits ``count`` events ``delay`` apart; the SMU's
    event detectors take events in order, and one that came early is latched once."""

    def __init__(self, timers: dict):
        self.timers = timers
        self.times = defaultdict(list)
        self.emitted = 0

    def emit(self, event: int, t: float, depth: int = 0) -> None:
        self.emitted += 1
        if self.emitted > MAX_EVENTS:
            raise tsp.runtime_error(f"the simulated trigger model is limited to {MAX_EVENTS} events")
        self.times[event].append(t)
        for number, timer in self.timers.items():
            if timer.stimulus == event and depth < len(self.timers):
                for k in range(0 if timer.passthrough else 1, timer.count + 1):
                    self.emit(TIMER_EVENT + number, t + k * timer.delay, depth + 1)

    def take(self, stimulus: float, ready: float) -> float:
        """When an SMU layer ready at ``ready`` proceeds (stimulus 0: at once)."""
        if not stimulus:
            return ready
        pending = sorted(self.times[stimulus])
        if not pending:
            raise Stalled
        latched = [t for t in pending if t <= ready]
        for t in latched or pending[:1]:
            self.times[stimulus].remove(t)
        return ready if latched else pending[0]


@dataclass
class Sweep:
    pulses: list
    end: float                # math.inf: a stimulus never came


class Keithley2636BTwin(SourceMeasureTwin):
    """SMU A with the bench's sample on its terminals (options: see ``SourceMeasureTwin``)."""

    definition = "keithley_2636b.yaml"
    CURRENT_RANGES = (1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 1.5, 10.0)
    VOLTAGE_RANGES = (0.2, 2.0, 20.0, 200.0)
    OVERRANGE = 1.01
    OVERFLOW = 9.91e37

    def attach(self, name, device):
        super().attach(name, device)
        self.interpreter = tsp.Interpreter(self)
        self._defaults = {n: p._value for n, p in device._properties.items()}
        self.reset()

    def reset(self):
        """``reset()``, ``smua.reset()``, ``*RST``: defaults everywhere but the error queue."""
        for name, value in self._defaults.items():
            self.put(name, value)
        self.timers = {n: Timer() for n in range(1, TIMERS + 1)}
        self.buffers = {1: Buffer(), 2: Buffer()}
        self.levels = []                  # the source list of the sweep
        self.measure_buffers = {}         # "i"/"v" -> buffer number
        self.sweep = None
        self.hung = False

    # -- the source ---------------------------------------------------------------
    def source(self):
        on = self.get("smua.source.output") == 1
        if self.get("smua.source.func") == 1:
            return on, "VOLT", self.get("smua.source.levelv"), self.get("smua.source.limiti")
        return on, "CURR", self.get("smua.source.leveli"), self.get("smua.source.limitv")

    def terminal_voltage(self):
        if self._solving or self.get("smua.source.output") != 1:
            return None
        now = self.clock.now()
        for pulse in self.sweep.pulses if self.sweep else ():
            if pulse.start <= now < pulse.end:
                return pulse.point.voltage
        return super().terminal_voltage()

    def _read(self, quantity: str, value: float) -> float:
        """A reading of "i" or "v" on its measure range (autorange follows the value)."""
        ranges = self.CURRENT_RANGES if quantity == "i" else self.VOLTAGE_RANGES
        auto = self.get(f"smua.measure.autorange{quantity}") == 1
        fixed = None if auto else self.get(f"smua.measure.range{quantity}")
        reading, span = self.reading(value, ranges, fixed)
        if auto:
            self.put(f"smua.measure.range{quantity}", span)
        return reading

    def _measure(self) -> tuple[float, float]:
        """``smua.measure.iv()``: integrate, return (current, voltage) readings."""
        self.integrate(self.get("smua.measure.nplc"))
        point = self.present()
        return self._read("i", point.current), self._read("v", point.voltage)

    # -- errors -------------------------------------------------------------------
    def push(self, code: int, message: str) -> None:
        self.push_error(f"{code:.5e}\t{message}\t{SEVERITY:.5e}\t{NODE:.5e}")

    def _refuse(self, value: float, low: float) -> None:
        """A value outside an attribute's range."""
        self.push(*((1102, "Parameter too small") if value < low else (1101, "Parameter too big")))

    def _queue(self):
        return next(iter(self.device._error_queues.values()))

    def _next_error(self) -> tuple:
        """``errorqueue.next()``: code, message, severity, node (the oldest entry)."""
        code, message, severity, node = self._queue().value.decode().split("\t")
        return float(code), message, float(severity), float(node)

    # -- the host interface of the interpreter ------------------------------------
    def read(self, path: str):
        if path in self.device._properties:
            return float(self.get(path))
        if path in CONSTANTS:
            return CONSTANTS[path]
        if path in EVENTS:
            return EVENTS[path]
        fixed = {"localnode.model": "2636B", "localnode.serialno": "4390123",
                 "localnode.revision": "4.0.4", "localnode.linefreq": self.line_frequency}
        if path in fixed:
            return fixed[path]
        if path == "smua.source.compliance":
            return self.present().compliance
        if path == "errorqueue.count":
            return float(len(self._queue()._queue))
        if m := _TIMER.fullmatch(path):
            timer = self._timer(m[1])
            if m[2] == "EVENT_ID":
                return float(TIMER_EVENT + int(m[1]))
            value = getattr(timer, m[2])
            return value if isinstance(value, bool) else float(value)
        if (m := _BUFFER.fullmatch(path)) and m[2] in ("n", "readings"):
            readings = self.buffers[int(m[1])].readings(self.clock.now())
            return float(len(readings)) if m[2] == "n" else readings
        if m and m[2] is None:
            return self.buffers[int(m[1])]
        raise tsp.runtime_error(f"attempt to index a nil value ({path})")

    def write(self, path: str, value) -> None:
        if path in self.device._properties:
            if not isinstance(value, float):
                raise tsp.runtime_error(f"bad argument to {path} (number expected)")
            try:
                self.device._properties[path].set_value(repr(value))
            except ValueError:
                self._refuse(value, self.device._properties[path].specs.min)
            return
        m = _TIMER.fullmatch(path)
        if m is None:
            raise tsp.runtime_error(f"attempt to index a nil value ({path})")
        if m[2] == "EVENT_ID":
            raise tsp.runtime_error(f"attempt to set read-only attribute {path}")
        timer = self._timer(m[1])
        if m[2] == "passthrough":
            if not isinstance(value, bool):
                raise tsp.runtime_error(f"bad argument to {path} (boolean expected)")
            timer.passthrough = value
            return
        if not isinstance(value, float):
            raise tsp.runtime_error(f"bad argument to {path} (number expected)")
        low, high = {"delay": (1e-6, 1e5), "count": (0, 1048575), "stimulus": (0, 255)}[m[2]]
        if not low <= value <= high:
            self._refuse(value, low)
            return
        setattr(timer, m[2], int(value) if m[2] == "count" else value)

    def _timer(self, number: str) -> Timer:
        if int(number) not in self.timers:
            raise tsp.runtime_error(f"attempt to index a nil value (trigger.timer[{number}])")
        return self.timers[int(number)]

    def call(self, path: str, args: list):
        now = self.clock.now()
        if path in ("smua.measure.i", "smua.measure.v", "smua.measure.iv"):
            amps, volts = self._measure()
            return {"i": (amps,), "v": (volts,), "iv": (amps, volts)}[path.rpartition(".")[2]]
        if path == "smua.trigger.source.listv":
            levels = args[0] if args and isinstance(args[0], list) else None
            if not levels or not all(isinstance(v, float) for v in levels):
                raise tsp.runtime_error("bad argument #1 to 'listv' (table of numbers expected)")
            return self._set_levels(levels)
        if path == "smua.trigger.source.linearv":
            if len(args) != 3 or not all(isinstance(a, float) for a in args) or args[2] < 1:
                raise tsp.runtime_error("bad arguments to 'linearv' (start, stop, points)")
            start, stop, points = args[0], args[1], int(args[2])
            if points > MAX_POINTS:
                self._refuse(points, 1)
                return ()
            step = (stop - start) / (points - 1) if points > 1 else 0.0
            return self._set_levels([start + k * step for k in range(points)])
        if path in ("smua.trigger.measure.i", "smua.trigger.measure.v", "smua.trigger.measure.iv"):
            kinds = path.rpartition(".")[2]
            if len(args) != len(kinds) or not all(isinstance(b, Buffer) for b in args):
                raise tsp.runtime_error(f"bad arguments to '{kinds}' (reading buffers expected)")
            self.measure_buffers = {k: next(n for n, b in self.buffers.items() if b is buffer)
                                    for k, buffer in zip(kinds, args)}
            return ()
        if path == "smua.trigger.initiate":
            self._initiate(now)
        elif path == "smua.abort":
            self._abort(now)
        elif path in ("reset", "smua.reset"):
            self.reset()
        elif path == "waitcomplete":
            if self.sweep is not None and self.sweep.end == math.inf:
                self.hung = True
            elif self.sweep is not None:
                self.sleep(self.sweep.end - now)
        elif path == "delay" and args and isinstance(args[0], float):
            self.sleep(args[0])
        elif path == "errorqueue.next":
            return self._next_error()
        elif path == "errorqueue.clear":
            self._queue().clear()
        elif (m := _BUFFER.fullmatch(path)) and m[2] == "clear":
            self.buffers[int(m[1])].entries.clear()
        else:
            raise tsp.runtime_error(f"attempt to call a nil value ({path})")
        return ()

    def after_setting(self, name, value):
        """A programmed range selects the lowest range that holds it and ends autorange."""
        if name in ("smua.source.rangev", "smua.measure.rangev", "smua.measure.rangei"):
            ranges = self.CURRENT_RANGES if name.endswith("i") else self.VOLTAGE_RANGES
            self.put(name, self.range_for(value, ranges))
            self.put(name.replace(".range", ".autorange"), 0.0)

    def _set_levels(self, levels):
        if any(abs(v) > 200 for v in levels):
            self._refuse(max(levels, key=abs), -200)
        else:
            self.levels = levels
        return ()

    # -- trigger model --------------------------------------------------------------
    def _initiate(self, now: float) -> None:
        """Work out the whole sweep now; its readings become visible as time reaches them."""
        g = self.get
        for number in self.measure_buffers.values():
            if not g(f"smua.nvbuffer{number}.appendmode"):
                self.buffers[number].entries.clear()
        events = Events(self.timers)
        limit = g("smua.trigger.source.limiti") or g("smua.source.limiti")
        levels = self.levels if g("smua.trigger.source.action") == 1 else None
        measuring = g("smua.trigger.measure.action") != 0
        integration = g("smua.measure.nplc") / self.line_frequency
        pulses, ready = [], now
        events.emit(SWEEPING, now)
        try:
            for _ in range(int(g("smua.trigger.arm.count"))):
                ready = events.take(g("smua.trigger.arm.stimulus"), ready)
                events.emit(ARMED, ready)
                for index in range(int(g("smua.trigger.count"))):
                    start = events.take(g("smua.trigger.source.stimulus"), ready)
                    events.emit(SOURCE_COMPLETE, start)
                    ready = start
                    if measuring:
                        ready = events.take(g("smua.trigger.measure.stimulus"), start) + integration
                        events.emit(MEASURE_COMPLETE, ready)
                    measured = ready
                    if g("smua.trigger.endpulse.action") == SOURCE_IDLE:
                        ready = events.take(g("smua.trigger.endpulse.stimulus"), measured)
                        events.emit(PULSE_COMPLETE, ready)
                    point = self._pulse_point(levels[index % len(levels)] if levels else None, limit)
                    pulses.append(Pulse(start, ready, point))
                    if measuring:
                        self._store(measured, point)
            end = ready
        except Stalled:
            end = math.inf
        self.sweep = Sweep(pulses, end)

    def _pulse_point(self, level, limit) -> OperatingPoint:
        on, function, dc_level, dc_limit = self.source()
        if not on:
            return OFF
        if level is None:
            return self.operating_point(function, dc_level, dc_limit)
        return self.operating_point("VOLT", level, limit)

    def _store(self, when: float, point: OperatingPoint) -> None:
        for kind, number in self.measure_buffers.items():
            value = point.current if kind == "i" else point.voltage
            self.buffers[number].entries.append((when, self._read(kind, value)))

    def _abort(self, now: float) -> None:
        """``smua.abort()``: the sweep stops now, a pulse under way ends at the idle level."""
        if self.sweep is None:
            return
        self.sweep = Sweep([replace(p, end=min(p.end, now)) for p in self.sweep.pulses if p.start <= now],
                           min(self.sweep.end, now))
        for buffer in self.buffers.values():
            buffer.entries = [(t, v) for t, v in buffer.entries if t <= now]

    # -- messages -----------------------------------------------------------------
    @command(r"(.*)")
    def message(self, match):
        if self.hung:
            return SILENT
        text = match[1].decode("latin-1")
        if text.strip() == "*RST":
            self.reset()
            return SILENT
        if text.strip() == "*CLS":
            self._queue().clear()
            return SILENT
        if text.lstrip().startswith("*"):
            return None                   # common commands: *IDN? and the like (YAML)
        try:
            lines = self.interpreter.run(text)
        except tsp.TspError as error:
            self.push(error.code, error.message)
            return SILENT
        return "\n".join(lines) if lines else SILENT

    def safe_state_reached(self) -> bool:
        running = self.sweep is not None and self.sweep.end > self.clock.now()
        return super().safe_state_reached() and not running

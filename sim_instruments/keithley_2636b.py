"""Twin of the Keithley 2636B (TSP): Lua statements in, printed values out; SMU A drives
the sample, its trigger model runs pulsed sweeps in simulated time.

Trigger model (2600B Reference Manual, "Triggering"): on ``smua.trigger.initiate()`` the
arm layer emits ``ARMED``; each of ``smua.trigger.count`` points waits for its source
stimulus, sources the next ``listv``/``linearv`` level (``SOURCE_COMPLETE``), waits for
the measure stimulus and integrates (``MEASURE_COMPLETE``), then with
``endpulse.action = SOURCE_IDLE`` waits for the end-pulse stimulus and returns to the
idle level (``PULSE_COMPLETE``). A timer, when its stimulus event occurs, passes it
through (``passthrough``) and emits ``count`` events ``delay`` apart. A stimulus of 0
means no wait; an event that came while the SMU was busy is latched once. Readings go to
the buffers named by ``smua.trigger.measure.iv(ibuffer, vbuffer)``; they appear there as
simulated time reaches them. A sweep whose stimulus never comes never completes:
``waitcomplete()`` then blocks the instrument, as it does the real one.
"""

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

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
SWEEPING, ARMED, SOURCE_COMPLETE, MEASURE_COMPLETE, PULSE_COMPLETE, SWEEP_COMPLETE = range(1, 7)
TIMERS = 8
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
    measured: float           # integration finished
    end: float                # back to idle (or next point)
    point: OperatingPoint


@dataclass
class Sweep:
    pulses: list
    end: float                # math.inf: a stimulus never came


class Keithley2636BTwin(SourceMeasureTwin):
    """Options (besides ``noise``, ``line_frequency``): ``serial``."""

    definition = "keithley_2636b.yaml"
    CURRENT_RANGES = (1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 1.5, 10.0)
    VOLTAGE_RANGES = (0.2, 2.0, 20.0, 200.0)
    OVERRANGE = 1.01
    OVERFLOW = 9.91e37

    def attach(self, name, device):
        super().attach(name, device)
        self.serial = str(self.options.get("serial", "4390123"))
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
        reading, span = self.reading(value, ranges, None if auto else self.get(f"smua.measure.range{quantity}"))
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

    def _queue(self):
        return next(iter(self.device._error_queues.values()))

    def _next_error(self) -> tuple:
        queue = self._queue()
        line = queue.value.decode()
        code, message, severity, node = line.split("\t")
        return float(code), message, float(severity), float(node)

    # -- the host interface of the interpreter ------------------------------------
    def read(self, path: str):
        if path in self.device._properties:
            return float(self.get(path))
        if path in CONSTANTS:
            return CONSTANTS[path]
        if path in EVENTS:
            return EVENTS[path]
        fixed = {"localnode.model": "2636B", "localnode.serialno": self.serial,
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
                specs = self.device._properties[path].specs
                self.push(*((1102, "Parameter too small") if value < specs.min
                            else (1101, "Parameter too big")))
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
            self.push(*((1102, "Parameter too small") if value < low else (1101, "Parameter too big")))
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
            self.push(1101, "Parameter too big")
        else:
            self.levels = levels
        return ()

    # -- trigger model --------------------------------------------------------------
    def _initiate(self, now: float) -> None:
        """Run the whole sweep's schedule now; its readings become visible with time."""
        events = defaultdict(list)

        def emit(event, t, depth=0):
            events[event].append(t)
            for number, timer in self.timers.items():
                if event and timer.stimulus == event and depth < TIMERS:
                    times = [t] * timer.passthrough + [t + k * timer.delay for k in range(1, timer.count + 1)]
                    for when in times:
                        emit(TIMER_EVENT + number, when, depth + 1)

        def take(stimulus, ready):
            """When the SMU, ready at ``ready``, sees its stimulus (None: never)."""
            if not stimulus:
                return ready
            pending = sorted(events[stimulus])
            latched = [t for t in pending if t <= ready]
            if latched:
                for t in latched:
                    events[stimulus].remove(t)
                return ready
            if pending:
                events[stimulus].remove(pending[0])
                return pending[0]
            return None

        g = self.get
        for number in self.measure_buffers.values():
            if not g(f"smua.nvbuffer{number}.appendmode"):
                self.buffers[number].entries.clear()
        limit = g("smua.trigger.source.limiti") or g("smua.source.limiti")
        sweeping = g("smua.trigger.source.action") == 1 and self.levels
        measuring = g("smua.trigger.measure.action") != 0
        integration = g("smua.measure.nplc") / self.line_frequency
        pulses, ready = [], now
        emit(SWEEPING, now)
        stalled = False
        for _ in range(int(g("smua.trigger.arm.count"))):
            armed = take(g("smua.trigger.arm.stimulus"), ready)
            if armed is None:
                stalled = True
                break
            emit(ARMED, armed)
            ready = armed
            for index in range(int(g("smua.trigger.count"))):
                start = take(g("smua.trigger.source.stimulus"), ready)
                if start is None:
                    stalled = True
                    break
                emit(SOURCE_COMPLETE, start)
                measured = start
                if measuring:
                    begin = take(g("smua.trigger.measure.stimulus"), start)
                    if begin is None:
                        stalled = True
                        break
                    measured = begin + integration
                    emit(MEASURE_COMPLETE, measured)
                end = measured
                if g("smua.trigger.endpulse.action") == 0:
                    end = take(g("smua.trigger.endpulse.stimulus"), measured)
                    if end is None:
                        stalled = True
                        break
                    emit(PULSE_COMPLETE, end)
                level = self.levels[index % len(self.levels)] if sweeping else None
                point = self._pulse_point(level, limit)
                pulses.append(Pulse(start, measured, end, point))
                if measuring:
                    self._store(measured, point)
                ready = end
            if stalled:
                break
        emit(SWEEP_COMPLETE, ready)
        self.sweep = Sweep(pulses, math.inf if stalled else ready)

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
        if self.sweep is None:
            return
        self.sweep = Sweep([p for p in self.sweep.pulses if p.start <= now], min(self.sweep.end, now))
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

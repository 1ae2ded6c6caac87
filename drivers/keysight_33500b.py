"""Keysight 33500B waveform generator (33509B...33622A) as an electrical pulse source.

Wraps pymeasure's ``Agilent33500`` (channel 1 through the unprefixed commands). Command
set: *33500 Series Operating and Service Guide*, "SCPI Programming Reference": ``FUNC
PULS``, ``FUNC:PULS:PER``/``WIDT``/``TRAN:BOTH``, ``VOLT:HIGH``/``LOW``, ``OUTP``,
``OUTP:LOAD``, ``BURS:STAT``/``MODE``/``NCYC``, ``TRIG:SOUR BUS``, ``*TRG``; errors through
``SYST:ERR?``. USB-TMC or LAN, LF terminated.

Limits ("Pulse Waveforms"): width 16 ns and more, no more than the period minus 16 ns;
the edges (10-90 %, 8.4 ns to 1 µs) take 1.6 × their time out of the high and the low
part of the pulse; levels within what 10 V open-circuit gives into the declared load
(±5 V into 50 Ω, ±10 V into high impedance).
"""

from pymeasure.instruments.agilent.agilent33500 import Agilent33500

from .base import DeviceError, PlainAttributes
from .roles import PulseGenerator

SOURCE_RESISTANCE = 50.0      # Ω
OPEN_CIRCUIT_MAX = 10.0       # V peak
OPEN_CIRCUIT_MIN_PP = 2e-3    # V peak to peak
MIN_WIDTH = 16e-9             # s
MIN_EDGE = 8.4e-9             # s
EDGE_SPAN = 1.6               # an edge takes 1.6 × its (10-90 %) time


class Keysight33500B(PlainAttributes, Agilent33500, PulseGenerator):
    """Pulses on channel 1.

    ``load``: the load the levels are declared into, ohms, or ``"INF"`` for a device far
    from 50 Ω (the levels are then open-circuit voltages);
    ``edge_time``: edge time of the pulses (10-90 %), s; ``max_frequency``: the model's
    pulse limit (30 MHz for the 33521B/22B, 20 MHz for the 33509B...12B), Hz.
    """

    def __init__(self, adapter, name="Keysight 33500B", load="INF", edge_time=10e-9,
                 max_frequency=30e6, **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        kwargs.setdefault("timeout", 5000)
        super().__init__(adapter, name, **kwargs)
        self.load = "INF" if str(load).upper().startswith("INF") else float(load)
        fraction = 1.0 if self.load == "INF" else self.load / (self.load + SOURCE_RESISTANCE)
        self.max_level = OPEN_CIRCUIT_MAX * fraction
        self.min_amplitude = OPEN_CIRCUIT_MIN_PP * fraction
        if not MIN_EDGE <= edge_time <= 1e-6:
            raise ValueError(f"edge time {edge_time:g} s is outside the 33500B range "
                             f"[{MIN_EDGE:g}, 1e-06] s")
        self.edge_time = edge_time
        self.min_period = 1.0 / max_frequency
        self.voltage_high_values = (-self.max_level, self.max_level)
        self.voltage_low_values = (-self.max_level, self.max_level)
        self.pulse_period_values = (self.min_period, 1e6)
        self.burst_ncycles_values = (1, 100_000_000)

    # -- pulses -------------------------------------------------------------------
    def _check_pulse(self, amplitude, width, period):
        if not self.min_amplitude <= amplitude <= self.max_level:
            into = "high impedance" if self.load == "INF" else f"{self.load:g} Ω"
            raise ValueError(f"pulse amplitude {amplitude:g} V is outside what the 33500B gives "
                             f"into {into}: [{self.min_amplitude:g}, {self.max_level:g}] V")
        if not self.min_period <= period <= 1e6:
            raise ValueError(f"pulse period {period:g} s is outside [{self.min_period:g}, 1e+06] s")
        shortest = max(MIN_WIDTH, EDGE_SPAN * self.edge_time)
        longest = period - shortest
        if not shortest <= width <= longest:
            raise ValueError(f"pulse width {width:g} s does not fit the period {period:g} s with "
                             f"{self.edge_time:g} s edges: it must be in "
                             f"[{shortest:g}, {longest:g}] s")

    def set_pulse(self, amplitude: float, width: float, period: float) -> None:
        """Pulses from 0 V to ``amplitude`` V, ``width`` s long, every ``period`` s.

        The pulse is narrowed to its minimum (fastest edges, 16 ns) before the period
        changes, so that no intermediate setting conflicts with the new period.
        """
        self._check_pulse(amplitude, width, period)
        self.shape = "PULS"
        self.output_load = self.load
        self.pulse_transition = MIN_EDGE
        self.pulse_width = MIN_WIDTH
        self.pulse_period = period
        self.pulse_width = width
        self.pulse_transition = self.edge_time
        self.voltage_high = amplitude
        self.voltage_low = 0.0
        self.check_fault()

    def set_burst(self, count: int | None) -> None:
        """``count`` pulses per ``*TRG`` (bus trigger); None: continuous pulses."""
        if count is None:
            self.burst_state = False
        else:
            if not 1 <= count <= 100_000_000:
                raise ValueError(f"burst count {count} is outside [1, 100000000]")
            self.burst_mode = "TRIG"
            self.burst_ncycles = count
            self.trigger_source = "BUS"
            self.burst_state = True
        self.check_fault()

    def trigger(self) -> None:
        """Start a burst (``*TRG``; the 33500B ignores it unless the trigger source is BUS)."""
        self.write("*TRG")
        self.check_fault()

    def enable_output(self) -> None:
        self.output = True
        self.check_fault()

    def disable_output(self) -> None:
        self.output = False

    @property
    def output_enabled(self) -> bool:
        return self.output

    def safe_state(self) -> None:
        """Output off, then the smallest amplitude above 0 V (into the declared load)."""
        self.output = False
        self.output_load = self.load
        self.voltage_high = self.min_amplitude
        self.voltage_low = 0.0
        self.check_fault()

    # -- information ----------------------------------------------------------------
    @property
    def identity(self) -> str:
        return self.id

    def check_fault(self) -> None:
        """Raise on any entry of the error queue (the queue is emptied)."""
        errors = self.check_errors()
        if errors:
            raise DeviceError("33500B error(s): " + "; ".join(
                f"{int(code)},{','.join(text)}" for code, *text in errors))

    def settings(self) -> dict:
        load = self.output_load
        return {"function": self.shape, "period_s": self.pulse_period,
                "width_s": self.pulse_width, "edge_time_s": self.pulse_transition,
                "high_V": self.voltage_high, "low_V": self.voltage_low,
                "load": "INF" if load >= 9.9e37 else load, "output": self.output,
                "burst": self.burst_state, "burst_count": int(self.burst_ncycles),
                "trigger_source": self.trigger_source}

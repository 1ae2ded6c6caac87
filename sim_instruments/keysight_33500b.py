"""Twin of the Keysight 33500B waveform generator (channel 1, pulse function).

Adds to the YAML what depends on several settings (33500 Series Operating and Service
Guide, "Pulse Waveforms" and "Output Configuration"):

* the pulse must fit its period: width ≤ period − 16 ns (``-221`` settings conflict) and
  both edges fit the high and the low part, 1.6 × edge time ≤ width ≤ period − 1.6 × edge
  time (``-222`` data out of range);
* the levels are limited by what 10 V open-circuit (50 Ω source) gives into the declared
  load: ±5 V into 50 Ω, ±10 V into high impedance; at least 1 mVpp into 50 Ω; high above low;
* ``OUTP:LOAD`` rescales the displayed levels, the physical output stays the same;
* ``FREQ`` and ``FUNC:PULS:PER`` are one setting;
* ``*TRG`` starts a burst only with ``TRIG:SOUR BUS`` (else ``-211,"Trigger ignored"``).

The sample sees ``pulse_drive()``: pulses from the low level (0 V as set by the driver) to
the high level while the output is on, for ``BURS:NCYC`` periods after a trigger in
burst mode. The refusals leave the setting unchanged (the instrument clips it instead).
"""

from .sample import PulseDrive
from .scpi_twin import ILLEGAL_VALUE, OUT_OF_RANGE, Conflict, ScpiTwin
from .twin import SILENT, command, computed

SOURCE_RESISTANCE = 50.0      # Ω
OPEN_CIRCUIT_MAX = 10.0       # V, peak
OPEN_CIRCUIT_MIN_PP = 2e-3    # V peak to peak
MIN_WIDTH = 16e-9             # s
EDGE_SPAN = 1.6               # an edge (10-90 %) takes 1.6 × its time out of the pulse
TIMING = ("period", "width", "edge_time")

WIDTH_CONFLICT = '-221,"Settings conflict;pulse width too large for period"'
EDGE_CONFLICT = '-222,"Data out of range;edge time too large for pulse width"'
LEVEL_CONFLICT = '-221,"Settings conflict;high level must exceed low level"'
TRIGGER_IGNORED = '-211,"Trigger ignored"'


def check_timing(period: float, width: float, edge_time: float) -> None:
    """Raise ``Conflict`` unless the pulse and its edges fit the period."""
    if width > period - MIN_WIDTH:
        raise Conflict(WIDTH_CONFLICT)
    if EDGE_SPAN * edge_time > min(width, period - width):
        raise Conflict(EDGE_CONFLICT)


def load_fraction(load: str) -> float:
    """Fraction of the open-circuit voltage a declared load sees (1 for INF)."""
    if load == "INF":
        return 1.0
    ohms = float(load)
    return ohms / (ohms + SOURCE_RESISTANCE)


class Keysight33500BTwin(ScpiTwin):
    """Options: none needed; the instrument powers up as after ``*RST``."""

    definition = "keysight_33500b.yaml"

    def attach(self, name, device):
        super().attach(name, device)
        self.triggered_at = None      # simulated time of the last accepted *TRG
        self._previous_load = self._value("load")

    # -- state --------------------------------------------------------------------
    def _value(self, name):
        return self.device._properties[name]._value

    def level_limits(self) -> tuple[float, float]:
        """(largest |level| V, smallest amplitude Vpp) into the declared load."""
        fraction = load_fraction(self._value("load"))
        return OPEN_CIRCUIT_MAX * fraction, OPEN_CIRCUIT_MIN_PP * fraction

    @computed("frequency")
    def frequency(self):
        return 1.0 / self.get("period")

    @computed("load")
    def load(self):
        load = self._value("load")
        return "+9.900000000000000E+37" if load == "INF" else f"{float(load):+.15E}"

    def edge_time(self) -> float:
        """Edge time (10-90 %) of the pulses, s."""
        return self.get("edge_time")

    # -- settings that depend on each other ---------------------------------------
    def check_setting(self, name, value):
        if name in TIMING or name == "frequency":
            timing = {n: self.get(n) for n in TIMING}
            timing["period" if name == "frequency" else name] = \
                1.0 / value if name == "frequency" else value
            check_timing(**timing)
        elif name in ("high", "low"):
            levels = {"high": self.get("high"), "low": self.get("low"), name: value}
            limit, min_pp = self.level_limits()
            if abs(value) > limit:
                raise Conflict(OUT_OF_RANGE)
            if levels["high"] - levels["low"] < min_pp:
                raise Conflict(LEVEL_CONFLICT)
        elif name == "load":
            if value.upper() != "INF":
                try:
                    ohms = float(value)
                except ValueError:
                    raise Conflict(ILLEGAL_VALUE) from None
                if not 1.0 <= ohms <= 1e4:
                    raise Conflict(OUT_OF_RANGE)
            self._previous_load = self._value("load")

    def after_setting(self, name, value):
        if name == "frequency":
            self.put("period", 1.0 / value)
        elif name == "load":
            # The declared load only changes what the display says: the physical output
            # stays, so the levels shown for the new load rescale.
            load = "INF" if value.upper() == "INF" else value
            self.put("load", load)
            scale = load_fraction(load) / load_fraction(self._previous_load)
            self.put("high", self.get("high") * scale)
            self.put("low", self.get("low") * scale)

    # -- commands YAML cannot express ---------------------------------------------
    @command(rb"SOUR1?:(.+)")
    def source_node(self, match):
        """``[SOURce[1]:]``: channel 1 is the default source."""
        return self.execute(match[1])

    @command(rb"(OUTP|BURS:STAT) (ON|OFF)")
    def boolean_word(self, match):
        return self.execute(match[1] + (b" 1" if match[2] == b"ON" else b" 0"))

    @command(rb"FUNC:PULS:TRAN (.+)")
    def edge_both(self, match):
        """``FUNC:PULS:TRAN`` sets both edges, like ``FUNC:PULS:TRAN:BOTH``."""
        return self.execute(b"FUNC:PULS:TRAN:BOTH " + match[1])

    @command(rb"FUNC:PULS:TRAN:(?:LEAD|TRA)\?")
    def edge_query(self, match):
        return f"{self.get('edge_time'):+.15E}"

    @command(rb"\*TRG")
    def software_trigger(self, match):
        if self.get("trigger_source") != "BUS":
            self.push_error(TRIGGER_IGNORED)
        elif self.get("burst"):
            self.triggered_at = self.clock.now()
        return SILENT

    # -- physics ------------------------------------------------------------------
    def pulse_drive(self):
        """The pulses at the output now (None while it is off or a burst is over)."""
        if not self.get("output") or self.get("function") != "PULS":
            return None
        period = self.get("period")
        if self.get("burst"):
            if self.get("burst_mode") != "TRIG" or self.triggered_at is None:
                return None
            if self.clock.now() > self.triggered_at + self.get("burst_cycles") * period:
                return None
        return PulseDrive(self.get("high"), self.get("width"), period)

    def safe_state_reached(self) -> bool:
        _, min_pp = self.level_limits()
        return not self.get("output") and self.get("high") - self.get("low") <= min_pp * 1.001

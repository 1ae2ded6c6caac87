"""Twin of a Keysight InfiniiVision oscilloscope watching a pulsed device.

Wiring (the pulsed-electroluminescence set-up): the pulse generator (slot
``PulseGenerator``) drives the sample in series with a sense resistor R (option
``sense_resistance``, 10 Ω). Channel 1 sees the voltage across R, that is R × the current
``sample.current(V_sample, env)`` with V_drive = V_sample + R·I solved for every drive
level; channel 2 sees the drive voltage. Pulses have the generator's edge time (combined
with the scope's bandwidth) and its width and period; each channel adds white noise
(option ``noise``, divisions rms).

Acquisitions (InfiniiVision Programmer's Guide, ":DIGitize", ":WAVeform"): ``:DIG`` and
``:SING`` take one record and stop, ``:RUN`` acquires anew for every transfer. A record is
triggered by the edge trigger when its source crosses the level on the chosen slope;
otherwise the AUTO sweep triggers at a random phase, while the NORMAL sweep takes no
record (the last one stays; before any, the data block is empty). ``:WAV:DATA?`` sends
the source channel as an IEEE 488.2 definite-length block ``#8nnnnnnnn`` of BYTE (32
codes/div, 128 at the centre) or WORD (8192 codes/div, 32768 at the centre, MSB first by
default) codes, 0 a hole, 1 and the top code clipped; or of ASCII volts. The preamble
(``:WAV:PRE?``, 10 fields) describes it: V = (code − yref)·yinc + yorig,
t = (i − xref)·xinc + xorig.
"""

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .scpi_twin import ILLEGAL_VALUE, ScpiTwin
from .twin import SILENT, command, computed, scpi_short_form

DIVISIONS = 10                  # horizontal
CODES = {"BYTE": (32, 128, 255), "WORD": (8192, 32768, 65535)}   # per div, centre, top
FORMAT_CODE = {"BYTE": 0, "WORD": 1, "ASC": 4}
TYPE_CODE = {"NORM": 0, "PEAK": 1, "AVER": 2, "HRES": 3}
REFERENCE_DIVISIONS = {"LEFT": 1, "CENT": 5, "RIGH": 9}    # divisions before the reference
CHANNELS = (1, 2)


@dataclass
class Scene:
    """What the scope looks at during one acquisition."""

    amplitude: float = 0.0      # V drive during the pulse
    width: float = 0.0          # s
    period: float = 1.0         # s
    ramp: float = 0.0           # s, 0-100 % of an edge
    drive: np.ndarray = None    # drive levels of the current table, V (ascending)
    current: np.ndarray = None  # sample current at those levels, A


@dataclass
class Record:
    """One acquisition: the scene, its time alignment and the settings it was taken with."""

    scene: Scene
    start: float                # s, time of a rising edge's start relative to the trigger
    x_origin: float             # s, time of the first point
    span: float                 # s, the 10 divisions
    scale: dict                 # channel -> V/div
    offset: dict                # channel -> V at the centre
    seed: int


class InfiniiVisionTwin(ScpiTwin):
    """Options: ``sense_resistance`` (Ω, 10), ``noise`` (divisions rms, 0.02),
    ``bandwidth`` (Hz, 100 MHz), ``generator`` (slot of the pulse generator)."""

    definition = "keysight_dsox.yaml"

    def attach(self, name, device):
        super().attach(name, device)
        o = self.options
        self.sense_resistance = float(o.get("sense_resistance", 10.0))
        self.noise = float(o.get("noise", 0.02))
        self.rise_time = 0.35 / float(o.get("bandwidth", 100e6))
        self.generator = o.get("generator", "PulseGenerator")
        self.running = True
        self.record = None

    # -- settings -----------------------------------------------------------------
    @computed("time_range")
    def time_range(self):
        return DIVISIONS * self.get("time_scale")

    def after_setting(self, name, value):
        if name == "time_range":
            self.put("time_scale", value / DIVISIONS)

    @command(rb"TRIG:(SOUR|LEV|SLOP)( .*|\?)")
    def edge_trigger(self, match):
        """``:TRIGger[:EDGE]:...``: the EDGE node is optional."""
        return self.execute(b"TRIG:EDGE:" + match[1] + match[2])

    @command(rb"(CHAN[12]:DISP) (ON|OFF)")
    def display_word(self, match):
        return self.execute(match[1] + (b" 1" if match[2] == b"ON" else b" 0"))

    # -- acquisition ----------------------------------------------------------------
    @command(rb"DIG(?: (.+))?")
    def digitize(self, match):
        sources = [scpi_short_form(s.strip()) for s in (match[1] or b"").split(b",")]
        if match[1] and any(s not in (b"CHAN1", b"CHAN2") for s in sources):
            self.push_error(ILLEGAL_VALUE)
            return SILENT
        self.running = False
        self.acquire()
        return SILENT

    @command(rb"SING")
    def single(self, match):
        self.running = False
        self.acquire()
        return SILENT

    @command(rb"RUN")
    def run(self, match):
        self.running = True
        return SILENT

    @command(rb"STOP")
    def stop(self, match):
        self.running = False
        return SILENT

    def acquire(self) -> None:
        """Take one record now (none in NORMAL sweep without a trigger)."""
        self.sleep(DIVISIONS * self.get("time_scale"))
        scene = self.scene()
        start = self.trigger_alignment(scene)
        if start is None:
            if self.get("trigger_sweep") == "NORM":
                return
            start = -self.rng.uniform(0.0, scene.period)
        self.record = self.frame(scene, start, int(self.rng.integers(2**31)))

    def frame(self, scene=None, start=0.0, seed=0) -> Record:
        """A record with the present timebase and channel settings."""
        scale = self.get("time_scale")
        before = REFERENCE_DIVISIONS[self.get("time_reference")] * scale
        return Record(scene or Scene(), start, self.get("time_position") - before,
                      DIVISIONS * scale, {ch: self.get(f"ch{ch}_scale") for ch in CHANNELS},
                      {ch: self.get(f"ch{ch}_offset") for ch in CHANNELS}, seed)

    def scene(self) -> Scene:
        """The drive the generator applies now and the current it makes flow."""
        generator = self.sim.twins.get(self.generator)
        drive = generator.pulse_drive() if generator is not None else None
        if drive is None:
            return Scene()
        edge = getattr(generator, "edge_time", lambda: 0.0)()
        ramp = min(np.hypot(edge, self.rise_time) / 0.8, drive.width, drive.period - drive.width)
        levels, current = self.current_table(drive.amplitude)
        return Scene(drive.amplitude, drive.width, drive.period, ramp, levels, current)

    def current_table(self, amplitude: float, points: int = 64):
        """Drive voltage -> current through sample and sense resistor (ascending drive)."""
        sample, r = self.sim.sample, self.sense_resistance
        if sample is None or amplitude == 0:
            return np.array([min(amplitude, 0.0), max(amplitude, 0.0)]), np.zeros(2)
        env = self.sim.optics.environment()

        def drive_of(v_sample):
            return v_sample + r * sample.current(v_sample, env)

        v_top = optimize.brentq(lambda v: drive_of(v) - amplitude, min(amplitude, 0.0),
                                max(amplitude, 0.0), xtol=1e-12)
        v_sample = np.sort(np.linspace(0.0, v_top, points))
        current = np.array([sample.current(v, env) for v in v_sample])
        return v_sample + r * current, current

    def trigger_alignment(self, scene: Scene):
        """Start of a pulse such that the trigger source crosses the level at t = 0 on
        the chosen slope (None: no trigger)."""
        source = self.get("trigger_source")
        if scene.amplitude == 0 or source not in ("CHAN1", "CHAN2") \
                or self.get("trigger_mode") != "EDGE":
            return None
        ramp_fraction = scene.drive / scene.amplitude          # 0 -> 1 along the leading edge
        seen = scene.drive if source == "CHAN2" else self.sense_resistance * scene.current
        top = seen[np.argmax(ramp_fraction)]
        if top == 0 or not 0.0 < self.get("trigger_level") / top < 1.0:
            return None
        order = np.argsort(ramp_fraction)
        crossed = np.interp(self.get("trigger_level") / top, seen[order] / top,
                            ramp_fraction[order])
        leading = (self.get("trigger_slope") != "NEG") == (scene.amplitude > 0)
        if leading:
            return -crossed * scene.ramp
        return -scene.width - (1.0 - crossed) * scene.ramp

    # -- signals ------------------------------------------------------------------
    def volts(self, record: Record, channel: int, points: int) -> np.ndarray:
        """Voltage at ``points`` equally spaced times of the record."""
        s = record.scene
        t = record.x_origin + np.arange(points) * record.span / points
        if s.amplitude == 0:
            signal = np.zeros(points)
        else:
            phase = np.mod(t - record.start, s.period)
            ramp = max(s.ramp, 1e-15)
            shape = np.clip(phase / ramp, 0, 1) - np.clip((phase - s.width) / ramp, 0, 1)
            drive = shape * s.amplitude
            signal = drive if channel == 2 else \
                self.sense_resistance * np.interp(drive, s.drive, s.current)
        rng = np.random.default_rng((record.seed, channel, points))
        return signal + rng.normal(0.0, self.noise * record.scale[channel], points)

    @computed("preamble")
    def preamble(self):
        """The 10 fields describing what ``:WAV:DATA?`` sends now."""
        fmt, points = self.get("waveform_format"), self.get("waveform_points")
        channel = int(self.get("waveform_source")[-1])
        record = self.record if not self.running and self.record is not None else self.frame()
        per_div, centre, _ = CODES.get(fmt, (None, 0, None))
        y_increment = record.scale[channel] / per_div if per_div else 0.0
        y_reference = centre if self.get("waveform_unsigned") else 0
        return (f"{FORMAT_CODE[fmt]},{TYPE_CODE[self.get('acquire_type')]},{points},1,"
                f"{record.span / points:+.9E},{record.x_origin:+.9E},0,"
                f"{y_increment:+.9E},{record.offset[channel]:+.9E},{y_reference}")

    @command(rb"WAV:DATA\?")
    def data(self, match):
        if self.running:
            self.acquire()
        record = self.record
        if record is None:
            return b"#800000000"
        channel = int(self.get("waveform_source")[-1])
        fmt, points = self.get("waveform_format"), self.get("waveform_points")
        volts = self.volts(record, channel, points)
        if fmt == "ASC":
            payload = ",".join(f"{v:+.6E}" for v in volts).encode()
        else:
            per_div, centre, top = CODES[fmt]
            codes = np.rint((volts - record.offset[channel]) / record.scale[channel] * per_div)
            codes = np.clip(codes + centre, 1, top).astype(np.int64)
            signed = not self.get("waveform_unsigned")
            order = ">" if self.get("waveform_byte_order") == "MSBF" else "<"
            dtype = order + ("i" if signed else "u") + ("1" if fmt == "BYTE" else "2")
            payload = (codes - centre if signed else codes).astype(dtype).tobytes()
        return f"#8{len(payload):08d}".encode() + payload

    def safe_state_reached(self) -> bool:
        return True

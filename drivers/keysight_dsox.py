"""Keysight InfiniiVision oscilloscopes (DSOX1000G/2000X/3000T...) reading pulse waveforms.

Subclasses pymeasure's ``KeysightDSOX1102G`` (channel, timebase, acquisition and
waveform-setup commands) and adds the edge trigger and the binary waveform transfer.
Command set: *InfiniiVision X-Series Oscilloscopes Programmer's Guides* (1000 X to
4000 X): ``:CHANnel<n>:SCALe/OFFSet``, ``:TIMebase:SCALe``,
``:TRIGger[:EDGE]:SOURce/LEVel/SLOPe``, ``:TRIGger:SWEep``, ``:DIGitize``,
``:WAVeform:SOURce/FORMat/POINts/BYTeorder/UNSigned``, ``:WAVeform:PREamble?`` (format,
type, points, count, xincrement, xorigin, xreference, yincrement, yorigin, yreference) and
``:WAVeform:DATA?``, an IEEE 488.2 definite-length block ``#8nnnnnnnn<data><NL>``; errors
through ``:SYSTem:ERRor?``. USB-TMC or LAN, LF terminated.

The block is read by its announced length, never up to a termination character: BYTE
and WORD data contain 0x0A bytes.
"""

import warnings

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.keysight.keysightDSOX1102G import KeysightDSOX1102G
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .base import DeviceError, PlainAttributes, ReplyError
from .roles import Oscilloscope

VOLTS_PER_DIV = (500e-6, 10.0)       # 1:1 probe
SECONDS_PER_DIV = (5e-9, 50.0)
POINTS = (100, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 62500)
HOLE = 0


class InfiniiVision(PlainAttributes, KeysightDSOX1102G, Oscilloscope):
    """Two-channel InfiniiVision.

    ``points``: points per waveform transfer (NORMal record, one of ``POINTS``);
    ``waveform_format``: ``"word"`` (16 bit) or ``"byte"`` (8 bit); ``zero_at``: where
    ``configure`` puts 0 V, in divisions from the centre (−3: one above the bottom, for
    positive pulses).
    """

    def __init__(self, adapter, name="Keysight InfiniiVision", points=1000,
                 waveform_format="word", zero_at=-3.0, **kwargs):
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        timeout = kwargs.pop("timeout", 6000)
        with warnings.catch_warnings():
            # pymeasure marks the DSOX1102G "SCPI unknown"; InfiniiVision scopes speak SCPI
            # (IEEE 488.2 common commands, :SYSTem:ERRor?).
            warnings.filterwarnings("ignore", "It is not known whether this device support SCPI",
                                    FutureWarning)
            super().__init__(adapter, name, **kwargs)
        self.adapter.connection.timeout = timeout
        if points not in POINTS:
            raise ValueError(f"waveform points {points} is not one of {POINTS}")
        if waveform_format not in ("word", "byte"):
            raise ValueError(f"waveform format {waveform_format!r} is not 'word' or 'byte'")
        self.points, self.format, self.zero_at = points, waveform_format, float(zero_at)
        self.clipped = False

    timebase_scale = Instrument.control(
        ":TIMebase:SCALe?", ":TIMebase:SCALe %.6e",
        "Control the horizontal scale in s/div.",
        validator=strict_range, values=SECONDS_PER_DIV)
    trigger_source = Instrument.control(
        ":TRIGger:EDGE:SOURce?", ":TRIGger:EDGE:SOURce %s",
        "Control the edge trigger source (CHAN1, CHAN2, EXT, LINE).",
        validator=strict_discrete_set, values=("CHAN1", "CHAN2", "EXT", "LINE"), cast=str)
    trigger_level = Instrument.control(
        ":TRIGger:EDGE:LEVel?", ":TRIGger:EDGE:LEVel %.6e", "Control the trigger level in V.")
    trigger_slope = Instrument.control(
        ":TRIGger:EDGE:SLOPe?", ":TRIGger:EDGE:SLOPe %s",
        "Control the edge trigger slope (POS or NEG).",
        validator=strict_discrete_set, values=("POS", "NEG"), cast=str)
    trigger_sweep = Instrument.control(
        ":TRIGger:SWEep?", ":TRIGger:SWEep %s",
        "Control the sweep: AUTO (free-runs without trigger) or NORM (waits for one).",
        validator=strict_discrete_set, values=("AUTO", "NORM"), cast=str)
    waveform_byte_order = Instrument.control(
        ":WAVeform:BYTeorder?", ":WAVeform:BYTeorder %s",
        "Control the byte order of WORD data (MSBF or LSBF).",
        validator=strict_discrete_set, values=("MSBF", "LSBF"), cast=str)
    waveform_unsigned = Instrument.control(
        ":WAVeform:UNSigned?", ":WAVeform:UNSigned %d", "Control whether data are unsigned.",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True)

    # -- role -----------------------------------------------------------------------
    def configure(self, channel: int, volts_per_division: float, seconds_per_division: float,
                  trigger_level: float = 0.0) -> None:
        """Scale ``channel`` (0 V at ``zero_at`` divisions), the timebase, and trigger on
        the rising edge of ``channel`` at ``trigger_level`` V."""
        if channel not in (1, 2):
            raise ValueError(f"channel {channel} is not 1 or 2")
        low, high = VOLTS_PER_DIV
        if not low <= volts_per_division <= high:
            raise ValueError(f"vertical scale {volts_per_division:g} V/div is outside "
                             f"[{low:g}, {high:g}] V/div")
        low, high = SECONDS_PER_DIV
        if not low <= seconds_per_division <= high:
            raise ValueError(f"horizontal scale {seconds_per_division:g} s/div is outside "
                             f"[{low:g}, {high:g}] s/div")
        bottom = (-4 - self.zero_at) * volts_per_division        # 8 divisions on screen
        top = (4 - self.zero_at) * volts_per_division
        if not bottom <= trigger_level <= top:
            raise ValueError(f"trigger level {trigger_level:g} V is off the screen "
                             f"[{bottom:g}, {top:g}] V")
        ch = self.ch(channel)
        ch.scale = volts_per_division
        ch.offset = -self.zero_at * volts_per_division
        self.timebase_scale = seconds_per_division
        self.trigger_source = f"CHAN{channel}"
        self.trigger_slope = "POS"
        self.trigger_level = trigger_level
        self.check_fault()

    def waveform(self, channel: int) -> tuple[np.ndarray, np.ndarray]:
        """Single acquisition (``:DIGitize``) and transfer of ``channel``: (t s, V);
        holes are NaN, ``clipped`` tells whether the trace left the screen."""
        if channel not in (1, 2):
            raise ValueError(f"channel {channel} is not 1 or 2")
        self.digitize(f"channel{channel}")
        self.waveform_source = f"channel{channel}"
        self.waveform_format = self.format
        self.waveform_byte_order = "MSBF"
        self.waveform_unsigned = True
        self.waveform_points_mode = "normal"
        self.waveform_points = self.points
        pre = self.waveform_preamble
        codes = self.read_block(":WAVeform:DATA?", ">u2" if self.format == "word" else "u1")
        top = 0xFFFF if self.format == "word" else 0xFF
        self.clipped = bool(np.any((codes == 1) | (codes == top)))
        volts = (codes - pre["yreference"]) * pre["yincrement"] + pre["yorigin"]
        volts[codes == HOLE] = np.nan
        times = (np.arange(codes.size) - pre["xreference"]) * pre["xincrement"] + pre["xorigin"]
        return times, volts

    def read_block(self, query: str, dtype: str) -> np.ndarray:
        """Send ``query`` and read its IEEE 488.2 definite-length block by byte count."""
        self.write(query)
        head = self.read_bytes(2)
        if head[:1] != b"#" or not head[1:2].isdigit() or head[1:2] == b"0":
            rest = self.read()               # the rest of the reply: keep the line in step
            raise ReplyError(f"expected a definite-length block after {query}, "
                              f"got {(head.decode('latin-1') + rest)[:40]!r}")
        length = int(self.read_bytes(int(head[1:2])))
        data = self.read_bytes(length) if length else b""
        self.read_bytes(1)                   # the message terminator after the block
        return np.frombuffer(data, dtype=dtype).astype(float)

    # -- information ----------------------------------------------------------------
    @property
    def identity(self) -> str:
        return self.id

    def check_fault(self) -> None:
        """Raise on any entry of the error queue (the queue is emptied)."""
        errors = self.check_errors()
        if errors:
            raise DeviceError("InfiniiVision error(s): " + "; ".join(
                f"{int(code)},{','.join(text)}" for code, *text in errors))

    def settings(self) -> dict:
        return {"seconds_per_division": self.timebase_scale,
                "volts_per_division": {ch: self.ch(ch).scale for ch in (1, 2)},
                "offset_V": {ch: self.ch(ch).offset for ch in (1, 2)},
                "trigger_source": self.trigger_source, "trigger_level_V": self.trigger_level,
                "trigger_slope": self.trigger_slope, "trigger_sweep": self.trigger_sweep,
                "points": self.points, "format": self.format}

"""Berkeley Nucleonics BNC 575 digital delay / pulse generator driving a device.

Command set: the BNC 525/577 operating manuals, "Programming" ("Error Codes"), whose
SCPI-like syntax the 575 shares with the Quantum Composers 9520 (also the labscript and
qcsapphire drivers): ``:PULSE0:...`` is the system (T0: run state, period, mode, burst count,
trigger), ``:PULSEn:...`` channel n = 1..4 (A..D: state, width, delay, polarity, output
mode TTL or ADJ with ``:OUTP:AMPL`` 2-20 V). RS-232 at 38 400 baud, CR LF; USB and LAN
carry the same lines. Every set command is answered ``ok`` and every error ``?n``
(``ERRORS``). On the serial port the 575 first echoes each command line: the driver reads
that echo and checks it before the reply.
"""

from pymeasure.instruments import Channel, Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .base import DeviceError, PlainAttributes, ReplyError, flag
from .roles import PulseGenerator

#: Error replies ``?n`` (manual, "Error Codes").
ERRORS = {
    "1": "incorrect prefix (no colon or * to start the command)",
    "2": "missing command keyword",
    "3": "invalid command keyword",
    "4": "missing parameter",
    "5": "invalid parameter",
    "6": "query only, the command needs a question mark",
    "7": "invalid query, the command has no query form",
    "8": "command unavailable in the current system state",
}
AMPLITUDE_RANGE = (2.0, 20.0)      # V, adjustable output
WIDTH_RANGE = (10e-9, 999.99)      # s
PERIOD_RANGE = (100e-9, 5000.0)    # s, T0
MAX_BURST = 9_999_999


def _reply(text: str) -> str:
    """Raise on an error reply ``?n``, else return the reply."""
    text = text.strip()
    if text.startswith("?"):
        raise DeviceError(f"BNC 575 error {text}: {ERRORS.get(text[1:], 'unknown error')}")
    return text


def _state(reply: str) -> bool:
    return flag(reply)


class PulseChannel(Channel):
    """One output channel (1..4 = A..D)."""

    enabled = Channel.control(
        ":PULSE{ch}:STATE?", ":PULSE{ch}:STATE %s", "Control whether the channel is on.",
        preprocess_reply=_reply, get_process=_state, validator=strict_discrete_set,
        values=(True, False), set_process=lambda on: "ON" if on else "OFF",
        check_set_errors=True)
    width = Channel.control(
        ":PULSE{ch}:WIDT?", ":PULSE{ch}:WIDT %.11g", "Control the pulse width in s.",
        preprocess_reply=_reply, validator=strict_range, values=WIDTH_RANGE,
        check_set_errors=True)
    delay = Channel.control(
        ":PULSE{ch}:DELAY?", ":PULSE{ch}:DELAY %.11g", "Control the delay after T0 in s.",
        preprocess_reply=_reply, validator=strict_range, values=(0.0, 999.99),
        check_set_errors=True)
    polarity = Channel.control(
        ":PULSE{ch}:POL?", ":PULSE{ch}:POL %s", "Control the polarity: NORM, COMP or INV.",
        preprocess_reply=_reply, cast=str, validator=strict_discrete_set,
        values=("NORM", "COMP", "INV"), check_set_errors=True)
    output_mode = Channel.control(
        ":PULSE{ch}:OUTP:MODE?", ":PULSE{ch}:OUTP:MODE %s",
        "Control the output: TTL levels or ADJ (adjustable amplitude).",
        preprocess_reply=_reply, cast=str, validator=strict_discrete_set,
        values=("TTL", "ADJ"), check_set_errors=True)
    amplitude = Channel.control(
        ":PULSE{ch}:OUTP:AMPL?", ":PULSE{ch}:OUTP:AMPL %.2f",
        "Control the adjustable output amplitude in V.",
        preprocess_reply=_reply, validator=strict_range, values=AMPLITUDE_RANGE,
        check_set_errors=True)


class BNC575(PlainAttributes, Instrument, PulseGenerator):
    """BNC 575; ``channel`` (1-4) drives the device, the system (T0) sets the period.

    ``echo``: whether the instrument echoes command lines (None: on serial ports).
    """

    ch_1 = Instrument.ChannelCreator(PulseChannel, 1)
    ch_2 = Instrument.ChannelCreator(PulseChannel, 2)
    ch_3 = Instrument.ChannelCreator(PulseChannel, 3)
    ch_4 = Instrument.ChannelCreator(PulseChannel, 4)

    def __init__(self, adapter, name="BNC 575", channel=1, echo=None, **kwargs):
        kwargs.setdefault("read_termination", "\r\n")
        kwargs.setdefault("write_termination", "\r\n")
        kwargs.setdefault("asrl", {"baud_rate": 38400})
        kwargs.setdefault("timeout", 2000)
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        if channel not in self.channels:
            raise ValueError(f"channel {channel} is not one of the 575-4 channels 1-4")
        self.output_channel = self.channels[channel]
        self.echo = str(adapter).upper().startswith("ASRL") if echo is None else bool(echo)

    # -- the line protocol ----------------------------------------------------------
    def write(self, command, **kwargs):
        """Send a command line; on the serial port read back its echo."""
        super().write(command, **kwargs)
        if self.echo:
            echoed = super().read()
            if echoed != command:
                raise ReplyError(f"BNC 575 echoed {echoed!r} for {command!r}")

    def check_set_errors(self):
        reply = _reply(self.read())
        if reply != "ok":
            raise ReplyError(f"BNC 575 answered {reply!r} instead of ok")
        return []

    running = Instrument.control(
        ":PULSE0:STATE?", ":PULSE0:STATE %s", "Control whether the system (T0) runs.",
        preprocess_reply=_reply, get_process=_state, validator=strict_discrete_set,
        values=(True, False), set_process=lambda on: "ON" if on else "OFF",
        check_set_errors=True)
    period = Instrument.control(
        ":PULSE0:PER?", ":PULSE0:PER %.11g", "Control the T0 period in s.",
        preprocess_reply=_reply, validator=strict_range, values=PERIOD_RANGE,
        check_set_errors=True)
    mode = Instrument.control(
        ":PULSE0:MODE?", ":PULSE0:MODE %s", "Control the system mode: NORM, SING, BURS, DCYC.",
        preprocess_reply=_reply, cast=str, validator=strict_discrete_set,
        values=("NORM", "SING", "BURS", "DCYC"), check_set_errors=True)
    burst_count = Instrument.control(
        ":PULSE0:BCO?", ":PULSE0:BCO %d", "Control the pulses per burst (mode BURS).",
        preprocess_reply=_reply, cast=int, validator=strict_range, values=(1, MAX_BURST),
        check_set_errors=True)
    trigger_mode = Instrument.control(
        ":PULSE0:TRIG:MODE?", ":PULSE0:TRIG:MODE %s",
        "Control the trigger mode: DIS (internal rate) or TRIG (each trigger starts).",
        preprocess_reply=_reply, cast=str, validator=strict_discrete_set,
        values=("DIS", "TRIG"), check_set_errors=True)

    # -- pulses -------------------------------------------------------------------
    def set_pulse(self, amplitude: float, width: float, period: float) -> None:
        """Pulses of ``amplitude`` V (adjustable output), ``width`` s, every ``period`` s."""
        low, high = AMPLITUDE_RANGE
        if not low <= amplitude <= high:
            raise ValueError(f"pulse amplitude {amplitude:g} V is outside the 575 adjustable "
                             f"output range [{low:g}, {high:g}] V")
        if not PERIOD_RANGE[0] <= period <= PERIOD_RANGE[1]:
            raise ValueError(f"pulse period {period:g} s is outside the 575 T0 range "
                             f"[{PERIOD_RANGE[0]:g}, {PERIOD_RANGE[1]:g}] s")
        if not WIDTH_RANGE[0] <= width < period:
            raise ValueError(f"pulse width {width:g} s must be at least {WIDTH_RANGE[0]:g} s "
                             f"and shorter than the period {period:g} s")
        out = self.output_channel
        out.output_mode = "ADJ"
        out.amplitude = amplitude
        out.polarity = "NORM"
        out.delay = 0.0
        out.width = width
        self.period = period

    def set_burst(self, count: int | None) -> None:
        """``count`` pulses per trigger (``*TRG``); None: continuous pulses."""
        if count is None:
            self.mode = "NORM"
            self.trigger_mode = "DIS"
            return
        if not 1 <= count <= MAX_BURST:
            raise ValueError(f"burst count {count} is outside [1, {MAX_BURST}]")
        self.mode = "BURS"
        self.burst_count = count
        self.trigger_mode = "TRIG"

    def trigger(self) -> None:
        """Software trigger (refused with ?8 unless running with triggers enabled)."""
        self.write("*TRG")
        self.check_set_errors()

    def enable_output(self) -> None:
        """Switch the channel on and start the system."""
        self.output_channel.enabled = True
        self.running = True

    def disable_output(self) -> None:
        """Switch the channel off (T0 keeps running for the other channels)."""
        self.output_channel.enabled = False

    @property
    def output_enabled(self) -> bool:
        return self.output_channel.enabled and self.running

    def safe_state(self) -> None:
        """Channel off, adjustable amplitude at its minimum."""
        self.output_channel.enabled = False
        self.output_channel.amplitude = AMPLITUDE_RANGE[0]

    # -- information ----------------------------------------------------------------
    @property
    def identity(self) -> str:
        return _reply(self.ask("*IDN?"))

    def check_fault(self) -> None:
        """The 575 reports errors with each reply (raised at once), it keeps no error
        queue: check that it answers."""
        self.running

    def settings(self) -> dict:
        out = self.output_channel
        return {"running": self.running, "period_s": self.period, "mode": self.mode,
                "burst_count": self.burst_count, "trigger_mode": self.trigger_mode,
                "channel": out.id, "enabled": out.enabled, "width_s": out.width,
                "delay_s": out.delay, "polarity": out.polarity,
                "output_mode": out.output_mode, "amplitude_V": out.amplitude}

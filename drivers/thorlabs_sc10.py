"""Thorlabs SC10 shutter controller (SH05 / SH1 beam shutters).

Command set: *SC10 Optical Beam Shutter Controller* manual, "Computer interface" command
table (``id?``, ``ens`` toggles the output and ``ens?``, ``mode=n`` 1 manual / 2 auto /
3 single / 4 repeat / 5 external gate, ``trig=n``, ``rep=n``, ``open=ms``, ``shut=ms``,
``closed?``, ``interlock?``); byte stream as in InstrumentKit's SC10 driver and tests:
RS-232 (USB virtual COM) 9600 8N1, commands end CR; the controller echoes the command and
CR, prints the answer (if any) and CR, then the prompt ``"> "``. Refused commands answer
``Command error CMD_NOT_DEFINED`` or ``Command error CMD_ARG_INVALID``.

Reading: up to the prompt's ``>`` (the read termination), then its trailing space.
As a labctl Shutter the controller runs in manual mode, where the output enable is the
shutter state; ``ens`` only toggles, so the state is read before each toggle.
``open_shutter``/``close_shutter`` do the work: the Shutter role's ``open``/``close``
share their names with ``Role.open`` (open the instrument) and ``Role.close`` (close the
connection).
"""

from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from .base import DeviceError, PlainAttributes, ReplyError, flag, poll
from .roles import Shutter


class SC10(PlainAttributes, Instrument, Shutter):
    """SC10 in manual mode as the beam shutter of a pump line."""

    move_timeout = 1.0          # s; the SH05 opens in milliseconds

    def __init__(self, adapter, name="Thorlabs SC10", **kwargs):
        kwargs.setdefault("read_termination", ">")
        kwargs.setdefault("write_termination", "\r")
        kwargs.setdefault("asrl", {"baud_rate": 9600})
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self._sent = ""

    # -- protocol -------------------------------------------------------------------
    def write(self, command, **kwargs):
        self._sent = command
        super().write(command, **kwargs)

    def read(self, **kwargs) -> str:
        """The answer to the last command, without its echo and prompt; raise on an
        error message or a missing echo."""
        reply = super().read(**kwargs)
        self.read_bytes(1)                     # the space after the prompt's ">"
        echo, _, answer = reply.partition("\r")
        if echo.strip() != self._sent:
            raise ReplyError(f"SC10 did not echo {self._sent!r}: {reply!r}")
        answer = answer.strip()
        if answer.startswith("Command error"):
            raise DeviceError(f"SC10 refused {self._sent!r}: {answer}")
        return answer

    def check_set_errors(self):
        self.read()
        return []

    version = Instrument.measurement("id?", "Get the model and firmware version.", cast=str)
    enabled = Instrument.measurement(
        "ens?", "Get whether the output is enabled (manual mode: shutter open).",
        get_process=flag)
    closed = Instrument.measurement("closed?", "Get whether the shutter is closed.",
                                    get_process=flag)
    interlock_tripped = Instrument.measurement(
        "interlock?", "Get whether the interlock is tripped.", get_process=flag)
    mode = Instrument.control(
        "mode?", "mode=%d", "Control the operating mode: manual, auto, single, repeat or "
        "external gate.", validator=strict_discrete_set,
        values={"manual": 1, "auto": 2, "single": 3, "repeat": 4, "external gate": 5},
        map_values=True, cast=int, check_set_errors=True)
    trigger = Instrument.control(
        "trig?", "trig=%d", "Control the trigger of the timed modes: internal or external.",
        validator=strict_discrete_set, values={"internal": 0, "external": 1},
        map_values=True, cast=int, check_set_errors=True)
    repeat_count = Instrument.control(
        "rep?", "rep=%d", "Control the cycles of repeat mode (1-99).", validator=strict_range,
        values=(1, 99), cast=int, check_set_errors=True)
    open_time = Instrument.control(
        "open?", "open=%d", "Control the open time of the timed modes in s (1 ms steps).",
        validator=strict_range, values=(0, 999.999), set_process=lambda s: round(s * 1e3),
        get_process=lambda ms: ms / 1e3, check_set_errors=True)
    shut_time = Instrument.control(
        "shut?", "shut=%d", "Control the shut time of the timed modes in s (1 ms steps).",
        validator=strict_range, values=(0, 999.999), set_process=lambda s: round(s * 1e3),
        get_process=lambda ms: ms / 1e3, check_set_errors=True)

    def toggle(self) -> None:
        """Toggle the output enable (``ens``)."""
        self.ask("ens")

    # -- Shutter --------------------------------------------------------------------
    @property
    def identity(self) -> str:
        return self.version

    @property
    def is_open(self) -> bool:
        return not self.closed

    def open_shutter(self) -> None:
        """Manual mode, output enabled, shutter reported open; refused while the
        interlock is tripped."""
        if self.interlock_tripped:
            raise DeviceError("SC10 interlock is tripped: shutter stays closed")
        if self.mode != "manual":
            self.mode = "manual"
        if not self.enabled:
            self.toggle()
        poll(self, lambda: not self.closed, self.move_timeout, interval=0.01,
             what="SC10 shutter opening")

    def close_shutter(self) -> None:
        """Disable the output and wait until the shutter reports closed."""
        if self.enabled:
            self.toggle()
        poll(self, lambda: self.closed, self.move_timeout, interval=0.01,
             what="SC10 shutter closing")

    def check_fault(self) -> None:
        if self.interlock_tripped:
            raise DeviceError("SC10 interlock is tripped")

    def settings(self) -> dict:
        return {"mode": self.mode, "trigger": self.trigger, "open_time_s": self.open_time,
                "shut_time_s": self.shut_time, "repeat_count": self.repeat_count,
                "enabled": self.enabled, "closed": self.closed,
                "interlock_tripped": self.interlock_tripped}

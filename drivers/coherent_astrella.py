"""Coherent Astrella femtosecond amplifier (with harmonic output) as a pump laser.

Coherent publishes no remote-command manual for its amplifiers. This driver speaks the
serial convention Coherent uses across its ultrafast lasers (Chameleon/Vision operator's
manual, "RS-232 commands"; also acq4 ``drivers/Coherent``): 19 200 baud 8N1, CR LF
terminated; ``?KEY`` queries a value, ``KEY=value`` sets one, every command is answered
with exactly one line, and a line containing ``Error`` reports a refused command.
``PROMPT=0``, ``ECHO=0`` and ``HEARTBEAT=0`` make the replies machine-readable. The
amplifier keys (``?RR``, ``?WV``, ``?PW``, ``?IL``) follow that convention; check them
against the unit's own manual before using it on a real amplifier.
"""

import re

from pymeasure.instruments import Instrument

from .base import DeviceError, PlainAttributes, ReplyError, flag, poll
from .roles import PumpLaser


def _reply(text: str) -> str:
    """Raise on an error line, else return it."""
    if "Error" in text:
        raise DeviceError(f"Astrella refused: {text.strip()}")
    return text.strip()


class Astrella(PlainAttributes, Instrument, PumpLaser):
    """Coherent Astrella regenerative amplifier; ``?WV`` reports the output wavelength of
    the harmonic module in the beam path (400 nm with SHG)."""

    ready_timeout = 120.0

    def __init__(self, adapter, name="Coherent Astrella", **kwargs):
        kwargs.setdefault("read_termination", "\r\n")
        kwargs.setdefault("write_termination", "\r\n")
        kwargs.setdefault("asrl", {"baud_rate": 19200})
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        for setup in ("PROMPT=0", "ECHO=0", "HEARTBEAT=0"):
            _reply(self.ask(setup))

    def check_set_errors(self):
        _reply(self.read())
        return []

    serial_number = Instrument.measurement("?SN", "Get the serial number.",
                                           preprocess_reply=_reply, cast=str)
    software_version = Instrument.measurement("?SV", "Get the software version.",
                                              preprocess_reply=_reply, cast=str)
    emission = Instrument.control(
        "?L", "L=%d", "Control the amplifier emission (True: running, False: standby).",
        preprocess_reply=_reply, cast=int, map_values=True, values={True: 1, False: 0},
        check_set_errors=True)
    shutter = Instrument.control(
        "?SHUTTER", "SHUTTER=%d", "Control the output shutter (True: open).",
        preprocess_reply=_reply, cast=int, map_values=True, values={True: 1, False: 0},
        check_set_errors=True)
    status_text = Instrument.measurement(
        "?ST", "Get the status: Off, Warming Up, Ready or Fault.", preprocess_reply=_reply, cast=str)
    keyswitch = Instrument.measurement("?K", "Get the key switch state (True: on).",
                                       preprocess_reply=_reply, get_process=flag)
    interlock_closed = Instrument.measurement(
        "?IL", "Get the safety interlock state (True: closed, emission allowed).",
        preprocess_reply=_reply, get_process=flag)
    faults = Instrument.measurement("?F", "Get the active fault codes, comma-separated (0: none).",
                                    preprocess_reply=_reply, cast=str, get_process_list=",".join)
    rep_rate = Instrument.measurement("?RR", "Get the repetition rate in Hz.", preprocess_reply=_reply)
    wavelength = Instrument.measurement("?WV", "Get the output wavelength in nm.",
                                        preprocess_reply=_reply)
    pulse_width = Instrument.measurement(
        "?PW", "Get the pulse duration (FWHM) in s.", preprocess_reply=_reply,
        get_process=lambda fs: fs * 1e-15)
    output_power = Instrument.measurement("?P", "Get the average output power in W.",
                                          preprocess_reply=_reply)

    @property
    def identity(self) -> str:
        return f"Coherent,Astrella,{self.serial_number},{self.software_version}"

    @property
    def shutter_open(self) -> bool:
        return self.shutter

    @property
    def interlock_ok(self) -> bool:
        return self.interlock_closed

    def open_shutter(self) -> None:
        if not self.interlock_closed:
            raise DeviceError("Astrella interlock is open: shutter stays closed")
        poll(self, lambda: self.status_text == "Ready", self.ready_timeout,
             interval=1.0, what="Astrella warm-up")
        self.shutter = True

    def close_shutter(self) -> None:
        self.shutter = False

    def check_fault(self) -> None:
        codes = self.faults
        if not re.fullmatch(r"\d+(,\d+)*", codes):
            raise ReplyError(f"Astrella fault codes {codes!r:.40} are not numbers")
        if codes != "0":
            raise DeviceError(f"Astrella reports fault(s) {codes}")

    def settings(self) -> dict:
        return {"status": self.status_text, "shutter_open": self.shutter, "rep_rate_Hz": self.rep_rate,
                "wavelength_nm": self.wavelength, "pulse_width_s": self.pulse_width,
                "output_power_W": self.output_power}

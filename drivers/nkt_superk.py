"""NKT Photonics SuperK EXTREME supercontinuum laser with a SuperK VARIA tunable filter.

Both modules sit on the NKT *Interbus* behind the Extreme's USB port (serial 115 200 8N1,
a VISA ``ASRL`` resource). Command set: NKT register files "Module type 60 SuperK
Extreme (S4x2)" and "Module type 68 SuperK Varia (A301)"; telegram framing as in pylablib
``devices/NKT/interbus.py``. Every request is answered by one telegram::

    0x0D | escape(dest, source, type, register, data..., CRC16) | 0x0A

Inside the frame 0x0A, 0x0D and 0x5E are sent as 0x5E followed by byte + 0x40. The
CRC is CRC-16/XMODEM (polynomial 0x1021, initial value 0) over dest...data, sent
big-endian; register data are little-endian. Types: 0 NACK (unknown register or value
refused), 1 CRC error, 2 busy, 3 ACK (reply to a write), 4 read, 5 write, 8 datagram
(reply to a read: register + value).

==========  ====  ======  ====================================================
module      reg   type    meaning
==========  ====  ======  ====================================================
both        0x61  u8      module type (Extreme 0x60, Varia 0x68)
            0x65  string  serial number
            0x66  u16     status bits (below)
            0x67  u8      error code (0: none)
Extreme 15  0x30  u8      emission: 0 off, 3 on
            0x32  u16     interlock: write > 0 to reset (re-arm) it
            0x37  u16     power level, 0.1 %
Varia 16    0x32  u16     ND filter setpoint, 0.1 %
            0x33  u16     short-wave-pass edge (upper edge of the pass band), 0.1 nm
            0x34  u16     long-wave-pass edge (lower edge of the pass band), 0.1 nm
==========  ====  ======  ====================================================

Status bits, Extreme: 0 emission on, 1 interlock relays off, 2 interlock power failure,
3 interlock loop open, 15 error code present. Varia: 12/13/14 filter 1 (ND) / 2 (SWP) /
3 (LWP) moving, 15 error code present.

The declarative properties below use a small text form of a register access that
``write``/``read`` turn into telegrams: ``"<module> <register> <format>"`` reads a
register, ``"<module> <register> <format> <value>"`` writes an integer (format: a
``struct`` code, or ``s`` for a string register).
"""

import binascii
import struct

from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_range

from .base import DeviceError, PlainAttributes, ReplyError, poll
from .roles import TunablePumpLaser

START, END, ESCAPE = 0x0D, 0x0A, 0x5E
NACK, CRC_ERROR, BUSY, ACK, READ, WRITE, DATAGRAM = 0, 1, 2, 3, 4, 5, 8
REPLY_TYPES = {NACK: "NACK (register unknown or value refused)", CRC_ERROR: "CRC error",
               BUSY: "busy", ACK: "ACK", DATAGRAM: "datagram"}
HOST = 0x40
EXTREME_TYPE, VARIA_TYPE = 0x60, 0x68
EMISSION_ON = 1 << 0
INTERLOCK_BITS = {1 << 1: "interlock relays off", 1 << 2: "interlock power failure",
                  1 << 3: "interlock loop open"}
FILTER_MOVING = 0b111 << 12
ERROR_PRESENT = 1 << 15
VARIA_RANGE = (400.0, 850.0)       # nm, both edges
BANDWIDTH_RANGE = (10.0, 100.0)    # nm, pass band of the Varia


def crc16(data: bytes) -> int:
    """CRC-16/XMODEM (``binascii.crc_hqx`` with initial value 0)."""
    return binascii.crc_hqx(data, 0)


def telegram(dest: int, source: int, kind: int, register: int, data: bytes = b"") -> bytes:
    """A complete Interbus telegram, start/end bytes and escapes included."""
    body = bytes([dest, source, kind, register]) + data
    body += struct.pack(">H", crc16(body))
    escaped = bytearray()
    for byte in body:
        escaped += bytes([ESCAPE, byte + 0x40]) if byte in (START, END, ESCAPE) else bytes([byte])
    return bytes([START]) + bytes(escaped) + bytes([END])


def parse_telegram(frame: bytes) -> tuple[int, int, int, int, bytes]:
    """(dest, source, type, register, data) of a received telegram; raises on bad framing
    or CRC."""
    if len(frame) < 2 or frame[0] != START or frame[-1] != END:
        raise ReplyError(f"not an Interbus telegram: {frame.hex(' ')}")
    body, escaped = bytearray(), False
    for byte in frame[1:-1]:
        if escaped:
            body.append(byte - 0x40)
            escaped = False
        elif byte == ESCAPE:
            escaped = True
        else:
            body.append(byte)
    if escaped or len(body) < 6:
        raise ReplyError(f"truncated Interbus telegram: {frame.hex(' ')}")
    if crc16(bytes(body[:-2])) != struct.unpack(">H", body[-2:])[0]:
        raise ReplyError(f"CRC error in the reply telegram {frame.hex(' ')}")
    return body[0], body[1], body[2], body[3], bytes(body[4:-2])


def _tenths(value: float) -> int:
    return round(value * 10)


class SuperK(PlainAttributes, Instrument, TunablePumpLaser):
    """SuperK EXTREME (address 15) + SuperK VARIA (address 16) as a tunable pump.

    Options: ``bandwidth`` (nm, Varia pass band used by ``set_wavelength``, 10-100),
    ``rep_rate`` (Hz, the Extreme's seed repetition rate: 78 MHz), ``pulse_width`` (s,
    ~10 ps in the visible), ``extreme_address``, ``varia_address``.
    """

    filter_timeout = 30.0      # s, longest Varia filter move

    def __init__(self, adapter, name="NKT Photonics SuperK EXTREME + VARIA", bandwidth=10.0,
                 rep_rate=78e6, pulse_width=10e-12, extreme_address=15, varia_address=16,
                 **kwargs):
        _check_bandwidth(bandwidth)
        if rep_rate <= 0 or pulse_width <= 0:
            raise ValueError(f"rep_rate ({rep_rate:g} Hz) and pulse_width ({pulse_width:g} s) "
                             "must be positive")
        kwargs.setdefault("asrl", {"baud_rate": 115200})
        kwargs.setdefault("read_termination", "\n")      # 0x0A ends every telegram
        kwargs.setdefault("write_termination", "")
        kwargs.setdefault("timeout", 1000)
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self.modules = {"extreme": extreme_address, "varia": varia_address}
        self._bandwidth = float(bandwidth)
        self._rep_rate, self._pulse_width = float(rep_rate), float(pulse_width)
        self._request = None
        for module, expected in (("extreme", EXTREME_TYPE), ("varia", VARIA_TYPE)):
            found = int(self.values(f"{module} 0x61 B")[0])
            if found != expected:
                raise DeviceError(f"module at Interbus address {self.modules[module]} has type "
                                  f"0x{found:02X}, expected 0x{expected:02X} (SuperK {module})")

    # -- Interbus transport ---------------------------------------------------------
    def write(self, command: str, **kwargs) -> None:
        """Send the telegram for ``"<module> <register> <format> [value]"``."""
        module, register, fmt, *value = command.split()
        dest, register = self.modules[module], int(register, 16)
        kind, data = (WRITE, struct.pack(fmt, int(value[0]))) if value else (READ, b"")
        self._request = (dest, register, fmt)
        self.write_bytes(telegram(dest, HOST, kind, register, data))

    def _receive(self, expected_type: int) -> bytes:
        dest, register, _ = self._request
        reply = self.read_bytes(-1, break_on_termchar=True)
        to, source, kind, echoed, data = parse_telegram(reply)
        where = f"SuperK module {dest}, register 0x{register:02X}"
        if kind != expected_type:
            raise DeviceError(f"{where}: {REPLY_TYPES.get(kind, f'telegram type {kind}')} "
                              f"instead of {REPLY_TYPES[expected_type]}")
        if (source, to, echoed) != (dest, HOST, register):
            raise ReplyError(f"{where}: reply from module {source} for register "
                              f"0x{echoed:02X} to address {to}")
        return data

    def read(self, **kwargs) -> str:
        """Value of the register just read, as text."""
        data = self._receive(DATAGRAM)
        fmt = self._request[2]
        if fmt == "s":
            return data.split(b"\x00", 1)[0].decode("latin-1").strip()
        return str(struct.unpack(fmt, data)[0])

    def check_set_errors(self):
        """Every write is answered by an ACK; anything else raises."""
        self._receive(ACK)
        return []

    # -- registers ------------------------------------------------------------------
    extreme_serial = Instrument.measurement("extreme 0x65 s", "Get the Extreme's serial number.",
                                            cast=str)
    varia_serial = Instrument.measurement("varia 0x65 s", "Get the Varia's serial number.",
                                          cast=str)
    extreme_status = Instrument.measurement("extreme 0x66 <H", "Get the Extreme's status bits.",
                                            cast=int)
    varia_status = Instrument.measurement("varia 0x66 <H", "Get the Varia's status bits.", cast=int)
    extreme_error = Instrument.measurement("extreme 0x67 B", "Get the Extreme's error code.",
                                           cast=int)
    varia_error = Instrument.measurement("varia 0x67 B", "Get the Varia's error code.", cast=int)

    emission = Instrument.control(
        "extreme 0x30 B", "extreme 0x30 B %d", "Control the emission (True: on).",
        cast=int, map_values=True, values={True: 3, False: 0}, check_set_errors=True)
    power_level = Instrument.control(
        "extreme 0x37 <H", "extreme 0x37 <H %d", "Control the power level in % (0-100).",
        validator=strict_range, values=(0, 100), set_process=_tenths,
        get_process=lambda v: v / 10, check_set_errors=True)
    nd_setpoint = Instrument.control(
        "varia 0x32 <H", "varia 0x32 <H %d", "Control the Varia's ND filter setpoint in % (0-100).",
        validator=strict_range, values=(0, 100), set_process=_tenths,
        get_process=lambda v: v / 10, check_set_errors=True)
    short_wave_edge = Instrument.control(
        "varia 0x33 <H", "varia 0x33 <H %d",
        "Control the short-wave-pass edge (upper edge of the pass band) in nm.",
        validator=strict_range, values=VARIA_RANGE, set_process=_tenths,
        get_process=lambda v: v / 10, check_set_errors=True)
    long_wave_edge = Instrument.control(
        "varia 0x34 <H", "varia 0x34 <H %d",
        "Control the long-wave-pass edge (lower edge of the pass band) in nm.",
        validator=strict_range, values=VARIA_RANGE, set_process=_tenths,
        get_process=lambda v: v / 10, check_set_errors=True)

    def reset_interlock(self) -> None:
        """Re-arm the interlock relays (the loop must be closed; emission stays off)."""
        self.write("extreme 0x32 <H 1")
        self.check_set_errors()

    @property
    def interlock_problems(self) -> list[str]:
        status = self.extreme_status
        return [text for bit, text in INTERLOCK_BITS.items() if status & bit]

    @property
    def filters_moving(self) -> bool:
        return bool(self.varia_status & FILTER_MOVING)

    # -- pass band ------------------------------------------------------------------
    @property
    def wavelength(self) -> float:
        """Centre of the Varia pass band, nm."""
        return (self.short_wave_edge + self.long_wave_edge) / 2

    @property
    def bandwidth(self) -> float:
        """Width of the Varia pass band, nm."""
        return self.short_wave_edge - self.long_wave_edge

    def set_wavelength(self, wavelength: float) -> None:
        """Centre the pass band (of ``bandwidth`` nm) on ``wavelength`` nm."""
        self._set_band(wavelength, self._bandwidth)

    def set_power_level(self, percent: float) -> None:
        self.power_level = percent

    def set_bandwidth(self, bandwidth: float) -> None:
        """Pass band width in nm, kept centred where it is."""
        _check_bandwidth(bandwidth)
        self._set_band(self.wavelength, bandwidth)
        self._bandwidth = float(bandwidth)

    def _set_band(self, centre: float, width: float) -> None:
        low, high = centre - width / 2, centre + width / 2
        if low < VARIA_RANGE[0] or high > VARIA_RANGE[1]:
            raise ValueError(
                f"wavelength {centre:g} nm with a {width:g} nm pass band needs edges "
                f"{low:g}-{high:g} nm, outside the Varia's {VARIA_RANGE[0]:g}-{VARIA_RANGE[1]:g} nm "
                f"(centre {VARIA_RANGE[0] + width / 2:g} to {VARIA_RANGE[1] - width / 2:g} nm)")
        self.long_wave_edge = low
        self.short_wave_edge = high
        poll(self, lambda: not self.filters_moving, self.filter_timeout, interval=0.1,
             what="Varia filter move")

    # -- emission -------------------------------------------------------------------
    @property
    def rep_rate(self) -> float:
        return self._rep_rate

    @property
    def pulse_width(self) -> float:
        return self._pulse_width

    @property
    def shutter_open(self) -> bool:
        return bool(self.extreme_status & EMISSION_ON)

    @property
    def interlock_ok(self) -> bool:
        return not self.interlock_problems

    def open_shutter(self) -> None:
        """Switch emission on (there is no separate shutter)."""
        problems = self.interlock_problems
        if problems:
            raise DeviceError(f"SuperK interlock not ready ({', '.join(problems)}): emission "
                              "stays off; close the interlock loop and reset_interlock()")
        self.emission = True
        if not self.shutter_open:
            raise DeviceError("SuperK accepted emission on but does not emit "
                              f"(status 0x{self.extreme_status:04X})")

    def close_shutter(self) -> None:
        self.emission = False

    # -- role -----------------------------------------------------------------------
    @property
    def identity(self) -> str:
        return (f"NKT Photonics,SuperK EXTREME,{self.extreme_serial},"
                f"SuperK VARIA,{self.varia_serial}")

    def check_fault(self) -> None:
        for module in self.modules:
            if getattr(self, f"{module}_status") & ERROR_PRESENT:
                code = getattr(self, f"{module}_error")
                raise DeviceError(f"SuperK {module} reports error code {code}")

    def settings(self) -> dict:
        low, high = self.long_wave_edge, self.short_wave_edge
        return {"emission": self.shutter_open, "power_level_percent": self.power_level,
                "wavelength_nm": (low + high) / 2, "bandwidth_nm": high - low,
                "long_wave_edge_nm": low, "short_wave_edge_nm": high,
                "nd_setpoint_percent": self.nd_setpoint, "rep_rate_Hz": self._rep_rate,
                "pulse_width_s": self._pulse_width, "interlock_ok": self.interlock_ok}


def _check_bandwidth(bandwidth: float) -> None:
    low, high = BANDWIDTH_RANGE
    if not low <= bandwidth <= high:
        raise ValueError(f"Varia bandwidth {bandwidth:g} nm is outside its range "
                         f"[{low:g}, {high:g}] nm")

"""Ocean Optics (Ocean Insight) USB2000+ fibre spectrometer, OOI binary USB protocol.

Command set: *USB2000+ Data Sheet*, "USB Command Summary" (also python-seabreeze
``pyseabreeze/devices.py`` and ``features/spectrometer.py``): single-byte opcodes written
to bulk endpoint 0x01, replies on 0x81/0x82. Reached through a VISA ``USB RAW``
resource, e.g. ``USB0::0x2457::0x101E::USB2+H01234::RAW``.

======  =====================  ==============================================
opcode  payload                reply
======  =====================  ==============================================
0x01    --                     -- (initialize)
0x02    <I integration µs      -- (1 000 ... 655 350 000 µs)
0x05    slot (B)               17 B: 0x05, slot, ASCII value, NUL padding
0x09    --                     2048 × <H pixel counts + sync byte 0x69
0x0A    <H trigger mode        -- (0 normal, 1 software, 2 sync, 3 hardware)
0xFE    --                     16 B status: <H pixels, <I integration µs, ...
======  =====================  ==============================================

EEPROM slots: 0 serial number, 1-4 wavelength calibration c0..c3 (λ = Σ cₖ·iᵏ, nm).
Pixels 6-21 are optically black: their mean is the dark (electrical offset) level.
"""

import struct

import numpy as np
from pymeasure.instruments import Instrument

from .base import PlainAttributes, ReplyError
from .roles import Spectrometer

PIXELS = 2048
DARK_PIXELS = slice(6, 22)
SYNC = 0x69
FULL_SCALE = 65535
INTEGRATION_LIMITS = (1e-3, 655.35)      # s
TRIGGER_MODES = {"normal": 0, "software": 1, "sync": 2, "hardware": 3}


class USB2000Plus(PlainAttributes, Instrument, Spectrometer):
    """USB2000+ spectrometer; ``acquire()`` returns dark-corrected counts."""

    def __init__(self, adapter, name="Ocean Optics USB2000+", **kwargs):
        kwargs.setdefault("timeout", 2000)
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self.write_bytes(b"\x01")
        self.serial_number = self.eeprom(0)
        self.coefficients = [float(self.eeprom(slot)) for slot in (1, 2, 3, 4)]
        self._wavelengths = np.polynomial.polynomial.polyval(np.arange(PIXELS), self.coefficients)
        self._wavelengths.flags.writeable = False      # fixed: analyses keep what they derive of it
        self._saturated = False

    def eeprom(self, slot: int) -> str:
        """Read an EEPROM slot (opcode 0x05) as text."""
        self.write_bytes(bytes([0x05, slot]))
        reply = self.read_bytes(17)
        if reply[:2] != bytes([0x05, slot]):
            raise ReplyError(f"unexpected reply to EEPROM read of slot {slot}: {reply[:2].hex()}")
        return reply[2:].split(b"\x00", 1)[0].decode("ascii").strip()

    def status(self) -> dict:
        """Status packet (opcode 0xFE)."""
        self.write_bytes(b"\xfe")
        reply = self.read_bytes(16)
        pixels, integration_us, lamp, trigger, acquiring, packets, power, count = \
            struct.unpack("<HIBBBBBB", reply[:12])
        return {"pixels": pixels, "integration_time": integration_us * 1e-6, "lamp": bool(lamp),
                "trigger_mode": trigger, "usb_high_speed": reply[14] == 0x80}

    @property
    def integration_time(self) -> float:
        return self.status()["integration_time"]

    def set_integration_time(self, seconds: float) -> None:
        low, high = INTEGRATION_LIMITS
        if not low <= seconds <= high:
            raise ValueError(f"integration time {seconds:g} s is outside the USB2000+ range "
                             f"[{low:g}, {high:g}] s")
        self.write_bytes(b"\x02" + struct.pack("<I", round(seconds * 1e6)))
        self.adapter.connection.timeout = max(2000, int(seconds * 1000) + 2000)

    def set_trigger_mode(self, mode: str) -> None:
        """Trigger mode: normal, software, sync or hardware."""
        if mode not in TRIGGER_MODES:
            raise ValueError(f"trigger mode {mode!r} is not one of {', '.join(TRIGGER_MODES)}")
        self.write_bytes(b"\x0a" + struct.pack("<H", TRIGGER_MODES[mode]))

    def raw_spectrum(self) -> np.ndarray:
        """One spectrum as the detector reads it (uint16 counts, opcode 0x09)."""
        self.write_bytes(b"\x09")
        reply = self.read_bytes(2 * PIXELS + 1)
        if reply[-1] != SYNC:
            raise ReplyError(f"spectrum sync byte is 0x{reply[-1]:02X}, expected 0x{SYNC:02X}")
        return np.frombuffer(reply, dtype="<u2", count=PIXELS)

    def acquire(self) -> np.ndarray:
        raw = self.raw_spectrum()
        self._saturated = bool(raw.max() >= FULL_SCALE)
        counts = raw.astype(float)
        return counts - counts[DARK_PIXELS].mean()

    @property
    def saturated(self) -> bool:
        return self._saturated

    @property
    def wavelengths(self) -> np.ndarray:
        return self._wavelengths

    @property
    def integration_limits(self) -> tuple[float, float]:
        return INTEGRATION_LIMITS

    @property
    def max_counts(self) -> int:
        return FULL_SCALE

    @property
    def identity(self) -> str:
        return f"Ocean Optics,USB2000+,{self.serial_number}"

    def settings(self) -> dict:
        return {"integration_time_s": self.integration_time,
                "wavelength_coefficients": self.coefficients}

"""Twin of the NKT SuperK EXTREME + VARIA: Interbus telegrams in, replies out; the
emission is the supercontinuum cut out by the Varia's pass band."""

import binascii
import struct

from .newport_smc100 import Move
from .optics import LaserOutput
from .twin import Twin, computed

START, END, ESCAPE = 0x0D, 0x0A, 0x5E
NACK, CRC_ERROR, ACK, READ, WRITE, DATAGRAM = 0, 1, 3, 4, 5, 8
EXTREME, VARIA = 15, 16

#: (module address, register) -> (YAML property, struct format or "s", writable)
REGISTERS = {
    (EXTREME, 0x11): ("extreme_inlet_temperature", "<h", False),
    (EXTREME, 0x30): ("emission", "B", True),
    (EXTREME, 0x32): ("interlock", "<H", True),
    (EXTREME, 0x37): ("power_level", "<H", True),
    (EXTREME, 0x61): ("extreme_type", "B", False),
    (EXTREME, 0x65): ("extreme_serial", "s", False),
    (EXTREME, 0x66): ("extreme_status", "<H", False),
    (EXTREME, 0x67): ("extreme_error", "B", False),
    (VARIA, 0x32): ("nd_setpoint", "<H", True),
    (VARIA, 0x33): ("short_wave_edge", "<H", True),
    (VARIA, 0x34): ("long_wave_edge", "<H", True),
    (VARIA, 0x61): ("varia_type", "B", False),
    (VARIA, 0x65): ("varia_serial", "s", False),
    (VARIA, 0x66): ("varia_status", "<H", False),
    (VARIA, 0x67): ("varia_error", "B", False),
}
#: Varia filters (setpoint property) and their "moving" status bit.
FILTERS = {"nd_setpoint": 1 << 12, "short_wave_edge": 1 << 13, "long_wave_edge": 1 << 14}
FILTER_SETTLE = 0.2       # s added to every filter move


def _frame(body: bytes) -> bytes:
    body += struct.pack(">H", binascii.crc_hqx(body, 0))
    out = bytearray([START])
    for byte in body:
        out += bytes([ESCAPE, byte + 0x40]) if byte in (START, END, ESCAPE) else bytes([byte])
    return bytes(out + bytes([END]))


def _unframe(data: bytes):
    """The unescaped body of a telegram, or None for bytes that are not one."""
    if len(data) < 2 or data[0] != START or data[-1] != END:
        return None
    body, escaped = bytearray(), False
    for byte in data[1:-1]:
        if escaped:
            body.append(byte - 0x40)
            escaped = False
        elif byte == ESCAPE:
            escaped = True
        else:
            body.append(byte)
    return None if escaped or len(body) < 6 else bytes(body)


class SuperKTwin(Twin):
    """Options: ``spectral_density`` (W/nm of the supercontinuum in the Varia's range at
    100 % power level), ``total_power`` (W, the whole supercontinuum at 100 %: no pass band
    carries more), ``rep_rate`` (Hz), ``pulse_width`` (s), ``filter_speed`` (nm/s, or %/s
    for the ND filter), ``interlock_closed`` (interlock loop closed and armed at power-up).
    The Varia's ND filter moves like the edge filters but does not change the output.
    """

    definition = "nkt_superk.yaml"
    framing = "raw"

    def attach(self, name, device):
        super().attach(name, device)
        o = self.options
        self.spectral_density = float(o.get("spectral_density", 0.5e-3))
        self.total_power = float(o.get("total_power", 2.0))
        self.rep_rate = float(o.get("rep_rate", 78e6))
        self.pulse_width = float(o.get("pulse_width", 10e-12))
        self.filter_speed = float(o.get("filter_speed", 100.0))
        self.loop_closed = self.armed = bool(o.get("interlock_closed", True))
        self.filters = {}
        for prop in FILTERS:
            here = self.get(prop) / 10
            self.filters[prop] = Move(here, here, 0.0, 0.0)

    # -- Interbus -----------------------------------------------------------------
    def on_raw(self, data: bytes):
        body = _unframe(data)
        if body is None or body[0] not in (EXTREME, VARIA):
            return None              # line noise, or no module at that address: silence
        module, host, kind, register = body[:4]
        if binascii.crc_hqx(body[:-2], 0) != struct.unpack(">H", body[-2:])[0]:
            return self._reply(module, host, CRC_ERROR, register)
        entry = REGISTERS.get((module, register))
        if kind == READ and entry:
            prop, fmt, _ = entry
            value = self.get(prop)
            raw = value.encode("latin-1") if fmt == "s" else struct.pack(fmt, value)
            return self._reply(module, host, DATAGRAM, register, raw)
        if kind == WRITE and entry and entry[2] and len(body) - 6 == struct.calcsize(entry[1]):
            prop, fmt, _ = entry
            value = struct.unpack(fmt, body[4:-2])[0]
            try:
                self.device._properties[prop].set_value(str(value))
            except ValueError:
                return self._reply(module, host, NACK, register)
            return self._reply(module, host, ACK, register)
        return self._reply(module, host, NACK, register)

    @staticmethod
    def _reply(module, host, kind, register, data=b""):
        return _frame(bytes([host, module, kind, register]) + data)

    # -- state --------------------------------------------------------------------
    def after_setting(self, name, value):
        if name == "emission" and value and not self.armed:
            self.put("emission", 0)                # the relays keep the pump diodes off
        elif name == "interlock" and value > 0 and self.loop_closed:
            self.armed = True
        elif name in FILTERS:
            here, target = self._position(name), value / 10
            self.filters[name] = Move(here, target, self.clock.now(),
                                      FILTER_SETTLE + abs(target - here) / self.filter_speed)

    def _position(self, prop) -> float:
        return self.filters[prop].position(self.clock.now())

    @computed("extreme_status")
    def extreme_status(self) -> int:
        bits = 0x0001 if self.get("emission") == 3 else 0
        if not self.armed:
            bits |= 0x0002
        if not self.loop_closed:
            bits |= 0x0008
        return bits

    @computed("varia_status")
    def varia_status(self) -> int:
        now = self.clock.now()
        return sum(bit for prop, bit in FILTERS.items()
                   if now < self.filters[prop].t0 + self.filters[prop].duration)

    @computed("interlock")
    def interlock(self) -> int:
        """Reads 1 while the interlock relays are armed."""
        return int(self.armed)

    def open_interlock(self) -> None:
        """Someone opens the interlock loop (lab door): the relays drop, emission stops."""
        self.loop_closed = self.armed = False
        self.put("emission", 0)

    def close_interlock(self) -> None:
        """The loop closes again; the relays stay off until the interlock is reset."""
        self.loop_closed = True
        self.changed()

    # -- physics ------------------------------------------------------------------
    def laser_output(self) -> LaserOutput:
        low, high = self._position("long_wave_edge"), self._position("short_wave_edge")
        band = max(high - low, 0.0)
        power = min(self.spectral_density * band, self.total_power) * self.get("power_level") / 1000
        return LaserOutput(self.get("emission") == 3 and band > 0, (low + high) / 2,
                           self.pulse_width, self.rep_rate, power / self.rep_rate)

    def safe_state_reached(self) -> bool:
        return self.get("emission") == 0

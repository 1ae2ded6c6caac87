"""Thorlabs K10CR1 motorized rotation mount, and a continuously variable ND filter wheel
turned by one, on the APT (Kinesis) binary protocol.

Command set: *Thorlabs Motion Controllers Host-Controller Communications Protocol*
(the "APT protocol"); framing as in pylablib ``devices/Thorlabs/kinesis.py`` and
thorlabs-apt-protocol. FTDI USB serial, 115 200 8N1 with RTS/CTS flow control (a VISA
``ASRL`` resource). Every message starts with a 6-byte little-endian header, short
``<H id, B param1, B param2, B dest, B source>`` or long ``<H id, H length,
B dest | 0x80, B source>`` followed by ``length`` data bytes. Host 0x01, controller 0x50;
a reply carries the request's id + 1.

======  ==================================  ==========================================
id      message                             payload / reply
======  ==================================  ==========================================
0x0005  HW_REQ_INFO                         -> 0x0006, 84 B (serial, model, firmware...)
0x0012  HW_STOP_UPDATEMSGS                  -- (no periodic status messages)
0x0210  MOD_SET_CHANENABLESTATE             param1 channel, param2 1 on / 2 off
0x0411  MOT_REQ_POSCOUNTER                  -> 0x0412 ``<Hi`` channel, microsteps
0x0414  MOT_REQ_VELPARAMS                   -> 0x0415 ``<Hiii`` channel, min, accel, max
0x0413  MOT_SET_VELPARAMS                   ``<Hiii``
0x0429  MOT_REQ_STATUSBITS                  -> 0x042A ``<HI`` channel, status bits
0x0443  MOT_MOVE_HOME                       -> 0x0444 MOVE_HOMED when homing ends
0x0453  MOT_MOVE_ABSOLUTE                   ``<Hi`` -> 0x0464 MOVE_COMPLETED when it ends
0x0465  MOT_MOVE_STOP                       param2 1 immediate / 2 profiled -> 0x0466
======  ==================================  ==========================================

MOVE_COMPLETED and MOVE_STOPPED carry ``<HiiI`` (channel, position, encoder count,
status bits). A refused command is answered by HW_RICHRESPONSE 0x0081 (``<HH64s``:
message id, code, notes); HW_RESPONSE 0x0080 reports a fault. The driver keeps every
message that arrives unasked and waits for the one that ends a motion by polling the
status bits. Status bits: 0x10 / 0x20 moving forward / reverse, 0x200 homing, 0x400
homed, 0x4000 motion error, 0x1000000 current limit, 0x80000000 channel enabled.

K10CR1 scale: 409 600/3 microsteps per degree; velocity 53.68 × that per deg/s,
acceleration 53.68 × 204.94e-6 × that per deg/s².
"""

import math
import struct

from pymeasure.instruments import Instrument
from pyvisa.constants import ControlFlow

from .base import DeviceError, PlainAttributes, poll
from .roles import Attenuator, RotationStage

HOST, CONTROLLER, CHANNEL = 0x01, 0x50, 0x01
HW_REQ_INFO, HW_STOP_UPDATEMSGS, HW_RESPONSE, HW_RICHRESPONSE = 0x0005, 0x0012, 0x0080, 0x0081
SET_CHANNEL_ENABLE = 0x0210
REQ_POSITION, SET_VELOCITY, REQ_VELOCITY, REQ_STATUS_BITS = 0x0411, 0x0413, 0x0414, 0x0429
MOVE_HOME, MOVE_HOMED, MOVE_ABSOLUTE, MOVE_COMPLETED = 0x0443, 0x0444, 0x0453, 0x0464
MOVE_STOP, MOVE_STOPPED = 0x0465, 0x0466
PROFILED_STOP = 2
MOVING, HOMING, HOMED, ENABLED = 0x30, 0x200, 0x400, 0x80000000
MOTION_ERROR, CURRENT_LIMIT = 0x4000, 0x1000000


class APTMotor(PlainAttributes, Instrument):
    """A one-channel APT stepper-motor controller; positions in ``unit`` (deg or mm)."""

    model = ""
    unit = ""
    counts_per_unit = 1.0
    velocity_scale = 1.0          # device velocity units per (unit/s)
    max_velocity = math.inf       # unit/s
    move_timeout = 90.0           # s, longest move or homing

    def __init__(self, adapter, name, limits, **kwargs):
        kwargs.setdefault("asrl", {"baud_rate": 115200, "flow_control": ControlFlow.rts_cts})
        kwargs.setdefault("read_termination", "")
        kwargs.setdefault("write_termination", "")
        kwargs.setdefault("timeout", 2000)
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self.limits = tuple(limits)
        self.notifications = {}   # message id -> data of the last such message received
        self.send(HW_STOP_UPDATEMSGS)
        info = self.query(HW_REQ_INFO, 0)
        serial, model, _, minor, interim, major = struct.unpack_from("<i8sH3B", info)
        self.serial_number, self.firmware = serial, f"{major}.{interim}.{minor}"
        found = model.split(b"\x00", 1)[0].decode("latin-1").strip()
        if found != self.model:
            raise DeviceError(f"APT controller reports model {found!r}, expected {self.model}")
        self.send(SET_CHANNEL_ENABLE, CHANNEL, 1)

    # -- messages -------------------------------------------------------------------
    def send(self, message_id: int, param1: int = 0, param2: int = 0) -> None:
        """A short (header-only) message."""
        self.write_bytes(struct.pack("<HBBBB", message_id, param1, param2, CONTROLLER, HOST))

    def send_data(self, message_id: int, data: bytes) -> None:
        """A long message: header and ``data``."""
        self.write_bytes(struct.pack("<HHBB", message_id, len(data), CONTROLLER | 0x80, HOST) + data)

    def receive(self, expected: int) -> bytes:
        """Read messages until ``expected`` arrives and return its data (or its two
        header parameters); keep the others, raise on an error report."""
        while True:
            header = self.read_bytes(6)
            message_id, length, dest, _ = struct.unpack("<HHBB", header)
            data = self.read_bytes(length) if dest & 0x80 else header[2:4]
            if message_id == expected:
                return data
            if message_id == HW_RESPONSE:
                raise DeviceError(f"{self.name} reports a fault (HW_RESPONSE)")
            if message_id == HW_RICHRESPONSE:
                refused, code, notes = struct.unpack_from("<HH64s", data)
                notes = notes.split(b"\0", 1)[0].decode("latin-1")
                raise DeviceError(f"{self.name} refused message 0x{refused:04X} (code {code}): "
                                  f"{notes}")
            self.notifications[message_id] = data

    def query(self, message_id: int, param1: int = CHANNEL, param2: int = 0) -> bytes:
        self.send(message_id, param1, param2)
        return self.receive(message_id + 1)

    # -- state ----------------------------------------------------------------------
    @property
    def status_bits(self) -> int:
        return struct.unpack("<HI", self.query(REQ_STATUS_BITS))[1]

    @property
    def homed(self) -> bool:
        """Whether the position counter is referenced to the home switch."""
        return bool(self.status_bits & HOMED)

    @property
    def current_position(self) -> float:
        """Position in ``unit`` from the microstep counter."""
        return struct.unpack("<Hi", self.query(REQ_POSITION))[1] / self.counts_per_unit

    @property
    def velocity(self) -> float:
        """Maximum (move) velocity in ``unit``/s."""
        return struct.unpack("<Hiii", self.query(REQ_VELOCITY))[3] / self.velocity_scale

    @velocity.setter
    def velocity(self, value: float) -> None:
        if not 0 < value <= self.max_velocity:
            raise ValueError(f"velocity {value:g} {self.unit}/s is outside (0, "
                             f"{self.max_velocity:g}] {self.unit}/s")
        channel, low, acceleration, _ = struct.unpack("<Hiii", self.query(REQ_VELOCITY))
        self.send_data(SET_VELOCITY, struct.pack("<Hiii", channel, low, acceleration,
                                                 round(value * self.velocity_scale)))

    # -- motion ---------------------------------------------------------------------
    def _wait_for(self, message_id: int, what: str, target: int | None = None) -> None:
        """Poll the status until the controller has sent ``message_id`` (with the
        position ``target``, if given); a MOVE_STOPPED meanwhile raises."""
        def arrived():
            self.status_bits             # brings in whatever the controller sent meanwhile
            if MOVE_STOPPED in self.notifications:
                where = struct.unpack_from("<Hi", self.notifications.pop(MOVE_STOPPED))[1]
                raise DeviceError(f"{self.name} {what} stopped at "
                                  f"{where / self.counts_per_unit:g} {self.unit}")
            data = self.notifications.get(message_id)
            return data is not None and (target is None
                                         or struct.unpack_from("<Hi", data)[1] == target)
        poll(self, arrived, self.move_timeout, interval=0.1, what=f"{self.name} {what}")
        self.notifications.pop(message_id)

    def home(self, wait: bool = True) -> None:
        """Search the home switch; the position counter is zero there."""
        for stale in (MOVE_HOMED, MOVE_STOPPED):
            self.notifications.pop(stale, None)
        self.send(MOVE_HOME, CHANNEL)
        if wait:
            self._wait_for(MOVE_HOMED, "homing")

    def _move(self, position: float, wait: bool) -> None:
        low, high = self.limits
        if not low <= position <= high:
            raise ValueError(f"position {position:g} {self.unit} is outside the travel limits "
                             f"[{low:g}, {high:g}] {self.unit}")
        if not self.homed:
            self.home()
        target = round(position * self.counts_per_unit)
        for stale in (MOVE_COMPLETED, MOVE_STOPPED):
            self.notifications.pop(stale, None)
        self.send_data(MOVE_ABSOLUTE, struct.pack("<Hi", CHANNEL, target))
        if wait:
            self._wait_for(MOVE_COMPLETED, "move", target)

    def stop(self) -> None:
        """Profiled stop; returns when the motor stands still."""
        self.send(MOVE_STOP, CHANNEL, PROFILED_STOP)
        poll(self, lambda: not self.status_bits & (MOVING | HOMING), self.move_timeout,
             interval=0.1, what=f"{self.name} stop")
        self.notifications.pop(MOVE_STOPPED, None)

    # -- role -----------------------------------------------------------------------
    @property
    def identity(self) -> str:
        return f"Thorlabs,{self.model},{self.serial_number},{self.firmware}"

    def settings(self) -> dict:
        status = self.status_bits
        return {"position": self.current_position, "unit": self.unit,
                "velocity": self.velocity, "homed": bool(status & HOMED),
                "enabled": bool(status & ENABLED)}

    def check_fault(self) -> None:
        status = self.status_bits
        if status & (MOTION_ERROR | CURRENT_LIMIT):
            raise DeviceError(f"{self.name} reports a motion error (status 0x{status:08X})")


class K10CR1(APTMotor, RotationStage):
    """K10CR1 rotation mount (continuous rotation; ``limits`` bound the moves, deg)."""

    model = "K10CR1"
    unit = "deg"
    counts_per_unit = 409600 / 3
    velocity_scale = counts_per_unit * 53.68
    max_velocity = 10.0

    def __init__(self, adapter, name="Thorlabs K10CR1", limits=(-360.0, 360.0), **kwargs):
        super().__init__(adapter, name, limits, **kwargs)

    @property
    def angle(self) -> float:
        return self.current_position

    def move_to(self, angle: float, wait: bool = True) -> None:
        self._move(angle, wait)


class VariableNDAttenuator(Attenuator):
    """Continuously variable (metallic) ND filter wheel on a K10CR1.

    Options (bench config ``options``)::

        calibration:
          zero_angle: 0.0          # deg, wheel angle of zero optical density
          max_density: 4.0         # OD reached at zero_angle + span
          span: 270.0              # deg over which the OD rises linearly
          max_pulse_energy: 9.0e-7 # J at the sample at zero OD
        limits: [-360, 360]        # deg, allowed stage moves

    Transmission relative to the maximum is 10^-OD; the wheel cannot go darker than
    ``max_density``, so transmissions below 10^-max_density give the darkest setting.
    The angle means nothing until the K10CR1 is homed; the first move homes it, which
    turns the wheel through its home switch (keep the pump blocked if the switch sits
    in the clear part of the wheel).
    """

    def __init__(self, stage: K10CR1, calibration: dict):
        self.stage = stage
        self.zero_angle = float(calibration.get("zero_angle", 0.0))
        self.max_density = float(calibration["max_density"])
        self.span = float(calibration["span"])
        self._max = float(calibration["max_pulse_energy"])
        if self.max_density <= 0 or self.span == 0 or self._max <= 0:
            raise ValueError("ND wheel calibration needs max_density > 0, span != 0 and "
                             "max_pulse_energy > 0")
        low, high = stage.limits
        for end in (self.zero_angle, self.zero_angle + self.span):
            if not low <= end <= high:
                raise ValueError(f"ND wheel calibration end {end:g} deg is outside the stage "
                                 f"limits [{low:g}, {high:g}] deg")

    @classmethod
    def open(cls, resource, *, visa_library, connection, options):
        stage = K10CR1(resource, visa_library=visa_library,
                       limits=options.get("limits", (-360.0, 360.0)), **connection)
        return cls(stage, options["calibration"])

    def density_at(self, angle: float) -> float:
        """Optical density at wheel ``angle`` deg."""
        return self.max_density * min(max((angle - self.zero_angle) / self.span, 0.0), 1.0)

    def angle_for(self, transmission: float) -> float:
        """Wheel angle (deg) giving ``transmission`` of the maximum."""
        density = self.max_density if transmission <= 0 else min(-math.log10(transmission),
                                                                  self.max_density)
        return self.zero_angle + self.span * density / self.max_density

    @property
    def transmission(self) -> float:
        if not self.stage.homed:
            raise DeviceError("ND wheel not homed yet: its angle, and so its transmission, "
                              "is unknown")
        return 10 ** -self.density_at(self.stage.angle)

    def set_transmission(self, transmission: float) -> None:
        if not 0.0 <= transmission <= 1.0:
            raise ValueError(f"transmission {transmission:g} is outside [0, 1]")
        self.stage.move_to(self.angle_for(transmission))

    @property
    def max_pulse_energy(self) -> float:
        return self._max

    @property
    def min_pulse_energy(self) -> float:
        return self._max * 10 ** -self.max_density

    def safe_state(self) -> None:
        """Darkest setting (maximum optical density)."""
        self.stage.move_to(self.zero_angle + self.span)

    @property
    def identity(self) -> str:
        return f"variable ND wheel on {self.stage.identity}"

    def settings(self) -> dict:
        angle, homed = self.stage.angle, self.stage.homed
        density = self.density_at(angle) if homed else None
        return {"homed": homed, "angle_deg": angle, "optical_density": density,
                "transmission": None if density is None else 10 ** -density,
                "max_pulse_energy_J": self._max}

    def check_fault(self) -> None:
        self.stage.check_fault()

    def close(self) -> None:
        self.stage.adapter.close()

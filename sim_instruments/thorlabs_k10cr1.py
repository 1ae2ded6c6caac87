"""Twin of the Thorlabs K10CR1 rotation mount: APT messages in, replies out, and the
MOVE_COMPLETED / MOVE_HOMED messages when a motion ends (``poll_output``)."""

import math
import struct

from .newport_smc100 import Move
from .optics import role_of
from .twin import Twin

COUNTS_PER_DEG = 409600 / 3
VELOCITY_SCALE = COUNTS_PER_DEG * 53.68
CONTROLLER, CHANNEL = 0x50, 0x01
HW_GET_INFO, HW_RICHRESPONSE = 0x0006, 0x0081
MOVE_HOMED, MOVE_COMPLETED, MOVE_STOPPED = 0x0444, 0x0464, 0x0466
FORWARD, REVERSE, CONNECTED, HOMING, HOMED, ENABLED = 0x10, 0x20, 0x100, 0x200, 0x400, 0x80000000
#: HW_RICHRESPONSE codes of this twin (the protocol leaves them to the firmware).
CHANNEL_DISABLED, PARAMETER_OUT_OF_RANGE = 0x0001, 0x0002


class K10CR1Twin(Twin):
    """Options: ``initial_position`` (deg, the mount's angle at power-up, where its
    counter starts at zero until homed); ``homed`` (the controller has stayed powered
    since it was last homed: the counter reads the angle from the home switch)."""

    definition = "thorlabs_k10cr1.yaml"
    framing = "raw"

    def attach(self, name, device):
        super().attach(name, device)
        here = float(self.options.get("initial_position", 0.0))
        self.move = Move(here, here, 0.0, 0.0)
        self.homed = bool(self.options.get("homed", False))
        self.zero = 0.0 if self.homed else here     # mechanical angle (deg) where the counter reads 0
        self.due = None           # (time, message id) ending the current motion
        self.host = 0x01
        self.handlers = {
            0x0005: self._info, 0x0011: self._ignore, 0x0012: self._ignore,
            0x0223: self._ignore, 0x0210: self._set_enable, 0x0211: self._enable_state,
            0x0411: self._position_counter, 0x0413: self._set_velocity,
            0x0414: self._velocity, 0x0429: self._status_bits, 0x0440: self._set_home,
            0x0441: self._home_params, 0x0443: self._home, 0x0448: self._move_relative,
            0x0453: self._move_absolute, 0x0465: self._stop, 0x0480: self._status_update,
        }

    # -- framing ------------------------------------------------------------------
    def _short(self, message_id, param1=0, param2=0) -> bytes:
        return struct.pack("<HBBBB", message_id, param1, param2, self.host, CONTROLLER)

    def _long(self, message_id, data: bytes) -> bytes:
        return struct.pack("<HHBB", message_id, len(data), self.host | 0x80, CONTROLLER) + data

    def _refuse(self, message_id, code, notes) -> bytes:
        return self._long(HW_RICHRESPONSE, struct.pack("<HH64s", message_id, code, notes.encode()))

    def on_raw(self, data: bytes):
        self.poll_output(self.device)       # a motion that ended meanwhile is reported first
        if len(data) < 6:
            return None
        message_id, param1, param2, dest, source = struct.unpack_from("<HBBBB", data)
        payload = data[6:]
        if dest & 0x7F != CONTROLLER or (dest & 0x80 and len(payload) != param1 | param2 << 8):
            return None                      # not for us, or an incomplete packet
        handler = self.handlers.get(message_id)
        if handler is None:
            return None                      # the firmware ignores unknown messages
        self.host = source
        try:
            return handler(message_id, param1, param2, payload)
        except struct.error:
            return None                      # data packet of the wrong length: ignored

    def poll_output(self, device) -> None:
        if self.due is not None and self.clock.now() >= self.due[0]:
            message_id = self.due[1]
            self.due = None
            if message_id == MOVE_HOMED:
                self.homed = True
                self.zero = self.move.end
                device._output_buffers.append(bytearray(self._short(MOVE_HOMED, CHANNEL)))
            else:
                device._output_buffers.append(bytearray(self._long(message_id, self._status())))

    # -- motion -------------------------------------------------------------------
    def _mechanical(self) -> float:
        return self.move.position(self.clock.now())

    def position(self) -> float:
        """Angle of the mount in degrees (0-360) for the optics."""
        return self._mechanical() % 360.0

    def moving(self) -> bool:
        return self.clock.now() < self.move.t0 + self.move.duration

    def steady_until(self) -> float:
        return self.clock.now() if self.moving() else math.inf

    def _counts(self) -> int:
        return round((self._mechanical() - self.zero) * COUNTS_PER_DEG)

    def _start(self, message_id, target, velocity, done, homing=False):
        if self.get("channel_enabled") != 1:
            return self._refuse(message_id, CHANNEL_DISABLED, "channel disabled: motion refused")
        here, now = self._mechanical(), self.clock.now()
        duration = abs(target - here) / (velocity / VELOCITY_SCALE)
        self.move = Move(here, target, now, duration, homing)
        self.due = (now + duration, done)
        if homing:
            self.homed = False
        return None

    def _halt(self):
        here = self._mechanical()
        self.move = Move(here, here, self.clock.now(), 0.0)
        self.due = None

    def _status_bits(self, *_):
        return self._long(0x042A, struct.pack("<HI", CHANNEL, self._bits()))

    def _bits(self) -> int:
        bits = CONNECTED | (HOMED if self.homed else 0)
        if self.get("channel_enabled") == 1:
            bits |= ENABLED
        if self.moving():
            bits |= FORWARD if self.move.end > self.move.start else REVERSE
            bits |= HOMING if self.move.homing else 0
        return bits

    def _status(self) -> bytes:
        return struct.pack("<HiiI", CHANNEL, self._counts(), 0, self._bits())

    # -- messages -------------------------------------------------------------------
    def _ignore(self, *_):
        return None

    def _info(self, *_):
        major, interim, minor = (int(v) for v in self.get("firmware").split("."))
        data = struct.pack("<i8sH4B48s12sHHH", self.get("serial_number"),
                           self.get("model").encode(), 16, minor, interim, major, 0,
                           b"K10CR1 rotation mount", b"", self.get("hardware_version"), 0, 1)
        return self._long(HW_GET_INFO, data)

    def _set_enable(self, message_id, channel, state, _):
        try:
            self.device._properties["channel_enabled"].set_value(str(state))
        except ValueError:
            return None
        if state == 2:
            self._halt()                    # the motor loses its drive current
        return None

    def _enable_state(self, message_id, channel, *_):
        return self._short(0x0212, channel, self.get("channel_enabled"))

    def _position_counter(self, *_):
        return self._long(0x0412, struct.pack("<Hi", CHANNEL, self._counts()))

    def _status_update(self, *_):
        return self._long(0x0481, self._status())

    def _set_params(self, message_id, names, values):
        """Set YAML parameters all-or-nothing, as one APT parameter message."""
        properties = self.device._properties
        old = {name: self.get(name) for name in names}
        try:
            for name, value in zip(names, values):
                properties[name].set_value(str(value))
        except ValueError:
            for name, value in old.items():
                self.put(name, value)
            return self._refuse(message_id, PARAMETER_OUT_OF_RANGE, "parameter out of range")
        return None

    def _set_velocity(self, message_id, p1, p2, payload):
        _, *values = struct.unpack("<Hiii", payload)
        return self._set_params(message_id, ("min_velocity", "acceleration", "max_velocity"), values)

    def _velocity(self, *_):
        return self._long(0x0415, struct.pack("<Hiii", CHANNEL, self.get("min_velocity"),
                                              self.get("acceleration"), self.get("max_velocity")))

    HOME_PARAMS = ("home_direction", "home_limit_switch", "home_velocity", "home_offset")

    def _set_home(self, message_id, p1, p2, payload):
        _, *values = struct.unpack("<HHHii", payload)
        return self._set_params(message_id, self.HOME_PARAMS, values)

    def _home_params(self, *_):
        return self._long(0x0442, struct.pack("<HHHii", CHANNEL,
                                              *(self.get(name) for name in self.HOME_PARAMS)))

    def _home(self, message_id, *_):
        """Rotate to the home switch (at 0 deg, once per turn) in the homing direction,
        then on by the home offset; the counter is zero there."""
        here = self._mechanical()
        to_switch = -(here % 360.0) if self.get("home_direction") == 2 else -here % 360.0
        target = here + to_switch + self.get("home_offset") / COUNTS_PER_DEG
        return self._start(message_id, target, self.get("home_velocity"), MOVE_HOMED, homing=True)

    def _move_absolute(self, message_id, p1, p2, payload):
        _, counts = struct.unpack("<Hi", payload)
        return self._start(message_id, self.zero + counts / COUNTS_PER_DEG,
                           self.get("max_velocity"), MOVE_COMPLETED)

    def _move_relative(self, message_id, p1, p2, payload):
        _, step = struct.unpack("<Hi", payload)
        target = self.move.end + step / COUNTS_PER_DEG
        return self._start(message_id, target, self.get("max_velocity"), MOVE_COMPLETED)

    def _stop(self, *_):
        self._halt()
        return self._long(MOVE_STOPPED, self._status())

    def safe_state_reached(self) -> bool:
        """Standing still; as a beam line's attenuator, also at (near) its darkest."""
        role, line = role_of(self.slot)
        beam_line = self.sim.optics.lines.get(line)
        if role != "Attenuator" or beam_line is None:
            return not self.moving()
        law = beam_line.attenuator
        darkest = min(law.transmission(angle / 4) for angle in range(4 * 360))
        return not self.moving() and law.transmission(self.position()) <= 1.1 * darkest

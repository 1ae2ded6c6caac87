"""The simulated bench as a VISA library: pyvisa-sim extended with twins and physics.

``SimBench`` builds one twin per configured instrument, parses each twin's pyvisa-sim
YAML into a device bound to the configured resource name, and exposes them through
``SimBench.library`` -- a ``SimVisaLibrary`` subclass that pyvisa (and so pymeasure)
accepts as ``visa_library=``. It differs from stock pyvisa-sim in that

* replies can be computed by twins and the sample physics (binary blocks, framed
  binary protocols, state machines);
* reads hand over whole chunks instead of one byte per loop;
* every bench gets fresh device state and its own seeded random generator;
* waits (integration, moves, timeouts) run on a ``SimClock``;
* concurrent access to one device is serialized (stock pyvisa-sim has no locking).

It touches pyvisa-sim internals (``Device._match``, ``_output_buffers``,
``Property._value``), hence the exact ``pyvisa-sim==0.7.1`` pin.
"""

import collections
import functools
import threading
import uuid

import numpy as np
from pyvisa import constants, errors
from pyvisa.rname import to_canonical_name
from pyvisa_sim import parser
from pyvisa_sim.component import NoResponse, Property
from pyvisa_sim.devices import Device, Devices
from pyvisa_sim.highlevel import SimVisaLibrary

from .clock import SimClock
from .faults import Fault, corrupt
from .optics import BEAM_ROLES, Optics, role_of
from .twin import MODELS_DIR, scpi_short_form, twin_class

_TRAFFIC_LOG = 200   # messages kept per device
COLD = 250.0         # K: samples measured below this come pre-cooled


@functools.lru_cache(maxsize=None)
def _loader(definition: str) -> parser.Loader:
    """Parsed YAML of a model (parsed once; devices are built fresh from it)."""
    return parser.Loader(MODELS_DIR / definition, False)


class TwinProperty(Property):
    """A YAML property whose reads may be computed and whose writes the twin may veto."""

    twin = None

    def get_value(self):
        compute = self.twin._computed.get(self.name)
        return compute(self.twin) if compute else self._value

    def set_value(self, string_value):
        try:
            self.twin.record_extreme(self.name, float(string_value))
        except (TypeError, ValueError):
            pass
        try:
            value = self.validate_value(string_value)
            self.twin.check_setting(self.name, value)
        except ValueError as exc:
            self.twin.refused(self.name, string_value, exc)
            raise
        self._value = value
        try:
            self.twin.after_setting(self.name, value)
        finally:
            self.twin.changed()


class TwinDevice(Device):
    """A pyvisa-sim device that asks its twin first and keeps a log of what it received."""

    twin = None

    @classmethod
    def adopt(cls, device: Device, twin) -> "TwinDevice":
        """Turn a device parsed by pyvisa-sim into a twin device."""
        device.__class__ = cls
        device.twin = twin
        twin.in_beam = role_of(twin.slot)[0] in BEAM_ROLES
        device.lock = threading.RLock()
        device.received = collections.deque(maxlen=_TRAFFIC_LOG)
        for prop in device._properties.values():
            prop.__class__ = TwinProperty
            prop.twin = twin
        return device

    def write(self, data: bytes) -> None:
        """Let the sample live up to now, then process ``data``. Unless the YAML's
        getters or dialogues or a ``query`` handler answered it, the message may have
        changed the twin (``Twin.changed``; its settings tell it themselves)."""
        sim = self.twin.sim
        with self.lock:
            sim.optics.advance()
            if self.twin.framing == "raw":
                self.received.append(bytes(data))
                try:
                    reply = self.twin.on_raw(bytes(data))
                finally:
                    self.twin.changed()
                if reply is not None and reply is not NoResponse:
                    self._output_buffers.append(bytearray(reply))
            else:
                super().write(data)

    def _match(self, query: bytes):
        self.received.append(query)
        if self.twin.scpi:
            query = scpi_short_form(query)
        for pattern, handler in self.twin._commands:
            match = pattern.fullmatch(query)
            if match:
                try:
                    reply = handler(self.twin, match)
                finally:
                    if not handler._query:
                        self.twin.changed()
                if reply is not None:
                    return reply.encode() if isinstance(reply, str) else reply
        return super()._match(query)

    def error_response(self, error_key: str):
        reply = super().error_response(error_key)
        try:
            self.twin.on_command_error(error_key)
        finally:
            self.twin.changed()
        return reply


class SimBenchLibrary(SimVisaLibrary):
    """VISA library whose resources are the twins of one ``SimBench``."""

    sim = None

    def _init(self) -> None:
        self.sessions = {}
        self.devices = Devices()

    def add(self, resource: str, device: TwinDevice) -> None:
        self.devices.add_device(to_canonical_name(resource), device)

    def _gone(self, device):
        if getattr(device, "disconnected", False):
            raise errors.VisaIOError(constants.StatusCode.error_connection_lost)

    @staticmethod
    def _send(sess, data: bytes):
        """``sess.write(data)``, the bytes handed over whole where the session would pass
        them on unchanged (not serial, or 8 data bits and no END on the line)."""
        if sess.session_type[0] == constants.InterfaceType.asrl and (
                sess.get_attribute(constants.ResourceAttribute.asrl_end_out)[0]
                != constants.SerialTermination.none
                or sess.get_attribute(constants.ResourceAttribute.asrl_data_bits)[0] < 8):
            return sess.write(data)
        sess.device.write(bytes(data))
        return len(data), constants.StatusCode.success

    def write(self, session, data: bytes):
        """Write, unless a fault says otherwise (see ``sim_instruments.faults``)."""
        sess = self.sessions.get(session)
        device = getattr(sess, "device", None)
        if not isinstance(device, TwinDevice):
            return super().write(session, data)
        self._gone(device)
        sim = self.sim
        fault = next((f for f in sim.faults if f.fires(device.twin.slot, bytes(data), sim.step, sim.rng)), None)
        if fault is None:
            return self._send(sess, data)
        timeout = sess.get_attribute(constants.ResourceAttribute.timeout_value)[0] / 1000
        if fault.kind == "disconnect":
            sim.fault_log.append((device.twin.slot, fault.kind, sim.step, bytes(data)))
            device.disconnected = True
            self._gone(device)
        if fault.kind == "slow" and fault.delay <= timeout:
            sim.fault_log.append((device.twin.slot, fault.kind, sim.step, bytes(data)))
            sim.clock.sleep(fault.delay)
            return super().write(session, data)
        if fault.kind == "error" and device.twin.inject_error(device):
            sim.fault_log.append((device.twin.slot, fault.kind, sim.step, bytes(data)))
            return super().write(session, data)
        # Reply faults: the command is processed, its reply lost or damaged. A command
        # without a reply leaves the fault armed for the next one.
        before = len(device._output_buffers)
        result = super().write(session, data)
        buffers = device._output_buffers
        if len(buffers) == before:
            fault.fired -= 1
            return result
        sim.fault_log.append((device.twin.slot, fault.kind, sim.step, bytes(data)))
        if fault.kind in ("timeout", "slow"):               # too late is lost
            while len(buffers) > before:
                buffers.pop()
            return result
        kind = "garbage" if fault.kind == "error" else fault.kind
        for i in range(before, len(buffers)):
            buffers[i] = bytearray(corrupt(kind, bytes(buffers[i]), device._response_eom, sim.rng))
        return result

    def flush(self, session, mask):
        """Discard what the device has queued for reading."""
        device = getattr(self.sessions.get(session), "device", None)
        if isinstance(device, TwinDevice):
            with device.lock:
                device._output_buffers.clear()
        return constants.StatusCode.success

    def read(self, session, count: int):
        """Hand over a whole reply (up to ``count`` bytes / the termination character)."""
        sess = self.sessions.get(session)
        device = getattr(sess, "device", None)
        if not isinstance(device, TwinDevice):
            return super().read(session, count)
        self._gone(device)
        termchar = None
        if sess.get_attribute(constants.ResourceAttribute.termchar_enabled)[0]:
            termchar = sess.get_attribute(constants.ResourceAttribute.termchar)[0]
        serial = sess.get_attribute(constants.ResourceAttribute.interface_type)[0] \
            == constants.InterfaceType.asrl
        out = bytearray()
        with device.lock:
            device.twin.poll_output(device)
            buffers = device._output_buffers
            while buffers and len(out) < count:
                buf = buffers[0]
                n = min(count - len(out), len(buf))
                hit = buf.find(termchar, 0, n) if termchar is not None else -1
                if hit >= 0:
                    n = hit + 1
                out += buf[:n]
                del buf[:n]
                if not buf:
                    buffers.popleft()
                if hit >= 0:
                    return bytes(out), constants.StatusCode.success_termination_character_read
                if not buf and not serial:        # END ends a message on USB/GPIB/TCPIP
                    return bytes(out), constants.StatusCode.success
        if len(out) == count:
            return bytes(out), constants.StatusCode.success_max_count_read
        # Nothing (more) to read: the line stays quiet until the timeout expires.
        timeout = sess.get_attribute(constants.ResourceAttribute.timeout_value)[0]
        if timeout not in (None, constants.VI_TMO_INFINITE):
            self.sim.clock.sleep(timeout / 1000)
        raise errors.VisaIOError(constants.VI_ERROR_TMO)


class SimBench:
    """Twins of every configured instrument, the sample, the optics, a clock and a RNG.

    ``instruments`` is a list of ``{"slot", "model", "resource", "options"}`` mappings:
    the slot is the role name the bench config uses (``PumpLaser``, ``Attenuator``,
    ``PumpLaser.ns`` ...) so that the optics know which twin plays which part.
    """

    def __init__(self, instruments, *, sample=None, time_scale=0.0, seed=0, optics=None, faults=()):
        self.instruments = [dict(spec) for spec in instruments]
        self.seed = seed
        self.faults = [f if isinstance(f, Fault) else Fault.parse(f) for f in faults]
        self.fault_log = []        # (slot, kind, step, message) of every fault that fired
        self.step = None           # the run step in progress (set by the bench)
        self.generation = 0        # counts changes of the beam's twins (optics caches on it)
        self.clock = SimClock(time_scale)
        self.sample = sample
        self.optics = Optics(self, **(optics or {}))
        self.library = SimBenchLibrary(f"labctl-sim:{uuid.uuid4().hex}")
        self.library.sim = self
        self.reset()

    def reset(self) -> None:
        """Fresh state for every instrument and the random generator; open sessions to
        the old devices are left behind (reopen the drivers)."""
        self.rng = np.random.default_rng(self.seed)
        self.generation += 1
        self.library.devices = Devices()
        self.library.sessions.clear()
        self.twins = {}
        for spec in self.instruments:
            twin = twin_class(spec["model"])(self, spec["slot"], spec.get("options"), spec["model"])
            loader = _loader(twin.definition)
            definitions = loader.data["devices"]
            for name, resource in twin.resources(spec["resource"]).items():
                device_name = name or next(iter(definitions))
                device = parser.get_device(device_name, definitions[device_name], loader, {})
                self.library.add(resource, TwinDevice.adopt(device, twin))
                twin.attach(name, device)
            self.twins[spec["slot"]] = twin
        if self.sample is not None:
            self.mount(self.sample)

    def twin(self, slot: str):
        return self.twins[slot]

    def hazards(self) -> dict:
        """What could still harm the sample, a device or a person, judged from the twins'
        own state (not from what the drivers believe): {slot or "sample": why}. An
        instrument out of its safe state whose hazard another one contains (a laser
        that no longer answers, behind a closed shutter) is listed as contained."""
        found = {slot: "not in its safe state" for slot, twin in self.twins.items()
                 if not twin.safe_state_reached()}
        env = self.optics.environment()
        if self.optics.pumps():
            found["sample"] = "pump light reaches it"
        elif env.drive is not None or env.bias_voltage:
            found["sample"] = "electrically driven"
        else:
            found = {slot: why + ", contained" for slot, why in found.items()}
        return found

    def mount(self, sample) -> None:
        """Put a sample on the simulated bench, as the experimenter does by hand: a fresh
        spot; a sample measured cold (below 250 K) is mounted in a cryostat that was
        cooled to its temperature beforehand."""
        self.sample = sample
        sample.reset()
        cryostat = self.twins.get("TemperatureController")
        if cryostat is not None and sample.p.temperature < COLD:
            cryostat.settle_at(sample.p.temperature)

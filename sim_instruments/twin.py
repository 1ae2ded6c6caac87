"""Twins: the Python behaviour of a simulated instrument on top of its pyvisa-sim YAML.

The YAML (``sim_instruments/models/<model>.yaml``) holds what pyvisa-sim can express:
command syntax, terminations, static replies, settable properties with their ranges and
the error queue. A ``Twin`` subclass adds what it cannot: state machines that refuse a
command in the wrong state, replies computed from the sample physics, binary blocks and
framed binary protocols. Declare them with decorators::

    class StageTwin(Twin):
        definition = "newport_smc100.yaml"

        @command(r"1TS")                 # regex on the whole message
        def state(self, match):
            return f"1TS0000{self.state_code:02X}"

        @computed("position")            # value of a YAML property, computed on read
        def position(self):
            return self.motion.position(self.clock.now())

        def check_setting(self, name, value):   # veto a setter like the instrument would
            if name == "target" and not self.homed:
                raise ValueError("not referenced")

A handler returns the reply (``str`` or ``bytes``, without terminator), ``SILENT`` for a
command the instrument accepts without replying, or ``None`` to let the YAML answer.
"""

import re
from importlib.metadata import entry_points
from pathlib import Path

from pyvisa_sim.component import NoResponse

MODELS_DIR = Path(__file__).parent / "models"

#: Reply for a command the instrument accepts silently.
SILENT = NoResponse


_VOWELS = set("AEIOU")
_SCPI_TOKEN = re.compile(r"([*]?[A-Za-z]+)([0-9]*)")


def scpi_short_form(message: bytes) -> bytes:
    """Canonical SCPI form of a message: upper-case short forms of every keyword of the
    header (``sense:Correction:WAVelength 532`` -> ``SENS:CORR:WAV 532``), no leading colon.

    Short form rule (IEEE 488.2 §7.6.1.3 / SCPI-99 §6.2.1): the first four characters,
    or three if the fourth is a vowel; keywords of four characters or fewer are unchanged.
    """
    text = message.decode("latin-1").strip()
    header, space, rest = text.partition(" ")
    query = header.endswith("?")
    nodes = []
    for node in header.rstrip("?").lstrip(":").split(":"):
        m = _SCPI_TOKEN.fullmatch(node)
        if not m or node.startswith("*"):
            nodes.append(node.upper())
            continue
        word, suffix = m[1].upper(), m[2]
        if len(word) > 4:
            word = word[:3] if word[3] in _VOWELS else word[:4]
        nodes.append(word + suffix)
    return (":".join(nodes) + ("?" if query else "") + space + rest).encode("latin-1")


def command(pattern, flags=0, query=False):
    """Mark a method as the handler of messages matching ``pattern`` (str or bytes regex).
    ``query``: the handler changes nothing the optics read (a status or error query), so
    the light reaching the sample need not be recomputed after it."""
    def mark(method):
        method._command = re.compile(pattern.encode() if isinstance(pattern, str) else pattern,
                                     flags | re.DOTALL)
        method._query = query
        return method
    return mark


def computed(name):
    """Mark a method as the source of the value of YAML property ``name``."""
    def mark(method):
        method._computed = name
        return method
    return mark


class Twin:
    """Base class of simulated instruments (one instance per configured instrument)."""

    #: YAML file in ``sim_instruments/models`` defining the device.
    definition: str = ""
    #: "text" (messages end with the YAML's query terminator) or "raw" (every write is
    #: one binary message, passed to ``on_raw``).
    framing = "text"
    #: SCPI instrument: messages are reduced to their canonical short form before
    #: matching, so the YAML and handlers list short forms only.
    scpi = False

    _commands: list = []
    _computed: dict = {}
    in_beam = False       # set by the library: the twin plays a role in ``optics.BEAM_ROLES``

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        commands, computed_ = [], {}
        for klass in reversed(cls.__mro__):
            for attr in vars(klass).values():
                if hasattr(attr, "_command"):
                    commands.append((attr._command, attr))
                if hasattr(attr, "_computed"):
                    computed_[attr._computed] = attr
        cls._commands, cls._computed = commands, computed_

    def __init__(self, sim, slot: str, options: dict, model: str = ""):
        self.sim, self.slot, self.model, self.options = sim, slot, model, dict(options or {})
        self.clock, self.rng = sim.clock, sim.rng
        self.device = None          # set by the library when the device is attached
        #: Extreme values received per setting: {name: (min, max)} (safety tests).
        self.extremes: dict = {}

    # -- resources ------------------------------------------------------------------
    def resources(self, resource: str) -> dict:
        """Map YAML device names to resource names. Default: the file's only device."""
        return {None: resource}

    def attach(self, device_name, device) -> None:
        """Called once per device after the YAML is parsed."""
        self.device = device

    # -- state --------------------------------------------------------------------
    def get(self, name):
        """Current value of a YAML property (computed ones included)."""
        return self.device._properties[name].get_value()

    def put(self, name, value) -> None:
        """Set a YAML property directly (twin-internal state change, no checks)."""
        self.device._properties[name]._value = value
        self.changed()

    def changed(self) -> None:
        """The twin's state changed: if it is in the beam (a pump laser, attenuator or
        shutter), the optics recompute what reaches the sample."""
        self.sim.generation += self.in_beam

    def steady_until(self) -> float:
        """Simulated time until which what the optics read of the twin (laser output,
        shutter, position) stays as it is now without a message or ``changed``. Default:
        it may change at any time."""
        return self.clock.now()

    def push_error(self, message: str, device=None) -> None:
        """Append an entry to the instrument's error queue(s)."""
        for queue in (device or self.device)._error_queues.values():
            queue._queue.append(message.encode())

    # -- hooks --------------------------------------------------------------------
    def check_setting(self, name, value) -> None:
        """Raise ValueError to refuse a YAML setter in the current state."""

    def after_setting(self, name, value) -> None:
        """React to an accepted YAML setter (start a move, fire the lamp...)."""

    def refused(self, name, value, error: ValueError) -> None:
        """A YAML setter was refused (out of its specs or vetoed by ``check_setting``);
        ``on_command_error`` follows."""

    def on_command_error(self, error_key: str) -> None:
        """An unknown or refused command arrived (the YAML error queue is already updated)."""

    def on_raw(self, data: bytes):
        """Handle one binary message (framing = "raw"); return reply bytes or None."""
        raise NotImplementedError

    def inject_error(self, device) -> bool:
        """Report a fault through the instrument's own error mechanism (fault injection);
        return False if it has none, and the reply is garbled instead. Default: an entry
        in the YAML error queue."""
        if not device._error_queues:
            return False
        self.push_error('-310,"System error"', device)
        return True

    def poll_output(self, device) -> None:
        """Called before every read of ``device``: append replies that become due with
        time (a "move completed" message, an asynchronous notification) with
        ``device._output_buffers.append(bytearray(...))``."""

    def safe_state_reached(self) -> bool:
        """Whether the instrument is in its safe state (used by tests and fault matrix)."""
        raise NotImplementedError

    # -- helpers --------------------------------------------------------------------
    def record_extreme(self, name, value) -> None:
        if isinstance(value, (int, float)):
            low, high = self.extremes.get(name, (value, value))
            self.extremes[name] = (min(low, value), max(high, value))

    def sleep(self, seconds: float) -> None:
        """The instrument is busy for ``seconds`` of simulated time."""
        self.clock.sleep(seconds)


def twin_class(model: str) -> type:
    """The twin class registered for a driver model (entry-point group ``labctl.twins``)."""
    found = entry_points(group="labctl.twins", name=model)
    if not found:
        raise KeyError(model)
    return next(iter(found)).load()

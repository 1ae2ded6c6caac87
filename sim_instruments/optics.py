"""The optical path of the simulated bench: from the pump lasers to the sample and on
to the detectors, computed from the twins' current states.

Slots follow the bench config: ``PumpLaser``, ``Attenuator`` and ``Shutter`` form the
main beam line; ``PumpLaser.ns``, ``Attenuator.ns``... a second one, and so on (the
suffix names the beam line). What a human sets by hand -- the beam geometry (a lens
swap) -- is set here by the bench.

The physics reads the twins through these methods (every twin of a role has them):

==========================  ==============================================================
role                        twin method
==========================  ==============================================================
PumpLaser                   ``laser_output() -> LaserOutput``
Shutter                     ``is_open() -> bool``
Attenuator                  ``position() -> float`` (read through the line's AttenuatorLaw)
RotationStage (analyzer)    ``position() -> float`` (deg)
LinearStage (knife edge)    ``position() -> float`` (mm of stripe left uncovered)
TemperatureController       ``sample_temperature() -> float`` (K)
SourceMeter                 ``terminal_voltage() -> float | None`` (V; None: output off)
PulseGenerator              ``pulse_drive() -> PulseDrive | None`` (None: output off),
                            optionally ``edge_time() -> float`` (s)
==========================  ==============================================================

A beam twin may also tell until when what it gives the optics stays as it is
(``steady_until``): the optics keep the pumps meanwhile.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from labctl.beam import Beam

from .sample import Environment, Pump


@dataclass(frozen=True)
class LaserOutput:
    """What a pump laser emits now."""

    emitting: bool
    wavelength: float     # nm
    pulse_width: float    # s
    rep_rate: float       # Hz
    energy: float         # J per pulse at the laser output


class Counted:
    """Counts every change of a field of its instances (``changes``): the optics keep
    what they computed from beam-line settings until one changes (set by hand in tests)."""

    changes = 0

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        Counted.changes += 1


@dataclass
class AttenuatorLaw(Counted):
    """True transmission of a beam line's attenuator versus its stage position.

    ``halfwave``: half-wave plate before a polarizer, T = ext + (max − ext)·sin²(2(θ − θ0));
    ``nd-wheel``: continuously variable ND wheel, optical density rising linearly from 0
    at ``zero_angle`` to ``max_density`` over ``span`` degrees, T = max·10^(−OD).
    """

    kind: str = "halfwave"
    zero_angle: float = 0.0          # deg
    max_transmission: float = 0.95
    extinction: float = 1e-3
    max_density: float = 4.0         # nd-wheel
    span: float = 270.0              # deg, nd-wheel

    def transmission(self, position: float) -> float:
        if self.kind == "nd-wheel":
            od = self.max_density * min(max((position - self.zero_angle) / self.span, 0.0), 1.0)
            return self.max_transmission * 10 ** -od
        s = math.sin(math.radians(2 * (position - self.zero_angle))) ** 2
        return self.extinction + (self.max_transmission - self.extinction) * s


@dataclass
class BeamLine(Counted):
    line_transmission: float = 1.0    # fixed optics between laser and sample
    attenuator: AttenuatorLaw = field(default_factory=AttenuatorLaw)


UNCONFIGURED = BeamLine()             # a beam line the bench config does not describe


#: Roles whose twins' state sets what reaches the sample (``Optics.pumps``).
BEAM_ROLES = ("PumpLaser", "Attenuator", "Shutter")


def role_of(slot: str) -> tuple[str, str]:
    """``"Attenuator.ns"`` -> (``"Attenuator"``, ``".ns"``)."""
    role, dot, beam = slot.partition(".")
    return role, dot + beam


class Optics:
    def __init__(self, sim, beam_lines=None):
        self.sim = sim
        self.lines = {name: BeamLine(line.get("line_transmission", 1.0),
                                     AttenuatorLaw(**line.get("attenuator", {})))
                      for name, line in (beam_lines or {"": {}}).items()}
        self.beam = Beam()
        self.analyzer_in_path = False    # the analyzer polarizer is inserted by hand
        self.delivered = {"fluence": 0.0, "pulse_energy": 0.0}   # maxima at the sample, µJ/cm², µJ
        self._last = None
        self._roles = (None, {})         # (twins dict, {roles: ((twin, line), ...)})
        self._pumps = (None, 0.0, 0.0, ())   # (state key, time, valid until, pumps) last computed

    def _twin(self, role: str, line: str):
        return self.sim.twins.get(role + line)

    def transmission(self, line: str, read: list) -> float:
        """Fraction of the laser's output reaching the sample on a beam line; the twins
        consulted are appended to ``read``."""
        shutter = self._twin("Shutter", line)
        if shutter is not None:
            read.append(shutter)
            if not shutter.is_open():
                return 0.0
        optics = self.lines.get(line, UNCONFIGURED)
        t = optics.line_transmission
        attenuator = self._twin("Attenuator", line)
        if attenuator is not None:
            read.append(attenuator)
            t *= optics.attenuator.transmission(attenuator.position())
        return t

    def pumps(self) -> list[Pump]:
        """Every pulse train reaching the sample now. Every write to an instrument asks
        (``advance``), and so may its reply: the answer is kept while no twin in the beam
        (``SimBench.generation``) nor beam-line setting changed, the beam is the same and
        the twins it read stay steady (``Twin.steady_until``)."""
        now = self.sim.clock.now()
        key = (self.sim.generation, Counted.changes, self.beam)
        kept, since, until, found = self._pumps
        if kept == key and (now == since or now < until):
            return list(found)
        found, until = self._compute_pumps()
        self._pumps = (key, now, until, tuple(found))
        return found

    def _playing(self, *roles: str) -> tuple:
        """((twin, beam line), ...) of the twins playing one of ``roles``, in the bench's
        order (found once per set of twins)."""
        twins = self.sim.twins
        if self._roles[0] is not twins:
            self._roles = (twins, {})
        found = self._roles[1].get(roles)
        if found is None:
            found = tuple((twin, role_of(slot)[1]) for slot, twin in twins.items()
                          if role_of(slot)[0] in roles)
            self._roles[1][roles] = found
        return found

    def _compute_pumps(self) -> tuple[list[Pump], float]:
        """(the pumps, until when the twins read for them stay steady)."""
        found, read = [], []
        for twin, line in self._playing("PumpLaser"):
            transmission = self.transmission(line, read)   # a closed shutter: no need to ask
            if transmission > 0:
                read.append(twin)
            out = twin.laser_output() if transmission > 0 else None
            energy = out.energy * transmission if out and out.emitting else 0.0
            if energy > 0:
                fluence = energy * 1e6 / self.beam.area
                found.append(Pump(out.wavelength, fluence, out.pulse_width, out.rep_rate))
        return found, min((twin.steady_until() for twin in read), default=math.inf)

    def pulse_energy_at_sample(self) -> float:
        """Energy per pulse at the sample in J (sum over beam lines)."""
        return sum(p.fluence * 1e-6 * self.beam.area for p in self.pumps())

    def _first(self, roles, read):
        """The first non-None ``read(twin)`` among twins of the given roles (any line)."""
        for twin, _ in self._playing(*roles):
            value = read(twin)
            if value is not None:
                return value
        return None

    def environment(self) -> Environment:
        """Temperature, bias, analyzer, knife edge and electrical drive at the sample.
        The bias and the drive come from whichever source-meter or pulse generator has its
        output on; the analyzer counts only while it is in the detection path."""
        twins = self.sim.twins
        cryostat = twins.get("TemperatureController")
        analyzer = twins.get("RotationStage")
        knife = twins.get("LinearStage")
        return Environment(
            temperature=cryostat.sample_temperature() if cryostat else self.sim.sample.p.temperature,
            bias_voltage=self._first(("SourceMeter", "PulsedSourceMeter"),
                                     lambda t: t.terminal_voltage()) or 0.0,
            analyzer_angle=analyzer.position() if analyzer and self.analyzer_in_path else None,
            stripe_length=(min(max(knife.position(), 0.0), self.beam.length)
                           if knife and self.beam.shape == "stripe" else None),
            drive=self._first(("PulseGenerator",), lambda t: t.pulse_drive()))

    def advance(self) -> None:
        """Let the sample live through the time since the last call (called on every
        write to any instrument, so that changes of state are accounted piecewise)."""
        now = self.sim.clock.now()
        sample = self.sim.sample
        pumps = self.pumps()
        for pump in pumps:                    # what physically reached the sample
            self.delivered["fluence"] = max(self.delivered["fluence"], pump.fluence)
            self.delivered["pulse_energy"] = max(self.delivered["pulse_energy"],
                                                 pump.fluence * self.beam.area)
        if self._last is not None and now > self._last and sample is not None:
            env = self.environment() if sample.electrical else None
            sample.advance(pumps, env, now - self._last)
        self._last = now

    def collect(self, wl, seconds: float, resolution: float = 0.0, rng=None):
        """Photons per nm the detection optics collect in ``seconds``: the emission of
        every pump's pulses plus electroluminescence."""
        sample = self.sim.sample
        photons = np.zeros(np.shape(wl))
        if sample is None:
            return photons
        env = self.environment()
        full = self.beam.length if self.beam.shape == "stripe" else None
        for pump in self.pumps():
            pulses = pump.rep_rate * seconds
            photons += pulses * sample.emission(wl, pump, env, resolution, rng, pulses, full_length=full)
        return photons + seconds * sample.electroluminescence(wl, env, resolution, rng)

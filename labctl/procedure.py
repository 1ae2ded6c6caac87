"""Procedures: what to sweep and record, declared so that it can be checked first.

A procedure declares its parameters (``labctl.parameters``), the roles it needs, the
scalars and arrays it records, and a *plan*: the list of steps with every setpoint that
will be sent. ``preview`` (the dry run) checks every setpoint of the plan against the
bench's safety envelope without touching an instrument. At run time the runner calls::

    setup(run)            configure instruments, declare axes (run.set_axis)
    measure(run, step)    for every planned step -> {column: value, array: ndarray}
    teardown(run)         leave instruments tidy (the bench's safe state follows anyway)

``analyze(scalars)`` computes the results from the table of recorded scalars; the
runner calls it after every step (live analysis) and it runs identically on a stored
run. ``figures(run)`` draws the figures of a stored run (PNG next to the run file).
"""

from dataclasses import dataclass, field

from .beam import Beam

#: Roles that belong to a beam line (their slots carry the line's qualifier).
PUMP_ROLES = {"PumpLaser", "TunablePumpLaser"}
BEAM_ROLES = {"PumpLaser", "TunablePumpLaser", "Attenuator", "Shutter", "PowerMeter"}
from .errors import ParameterError, SafetyError
from .parameters import declared
from .records import ArraySpec, Column


class EndRun(Exception):
    """Raised by a procedure to end its run early but normally (e.g. a damage guard):
    the run finishes with this reason, keeping every step recorded so far."""


@dataclass(frozen=True)
class Setpoint:
    """A value that will be sent to an instrument, in an envelope quantity."""

    quantity: str
    value: float
    unit: str


@dataclass(frozen=True)
class PlannedStep:
    label: str
    setpoints: tuple = ()
    duration: float = 0.0          # estimated seconds
    values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Preview:
    """The dry run: what the plan will do and whether it stays inside the envelope."""

    procedure: str
    steps: int
    duration: float
    setpoints: int
    violations: tuple

    @property
    def ok(self) -> bool:
        return not self.violations

    def describe(self) -> dict:
        return {"procedure": self.procedure, "steps": self.steps, "duration_s": self.duration,
                "setpoints_checked": self.setpoints, "inside_envelope": self.ok,
                "violations": list(self.violations)}


class Procedure:
    """Base class of experiments. Subclasses set the class attributes below."""

    name: str = ""
    title: str = ""
    roles: tuple = ()
    optional: tuple = ()       # roles used when the bench has them
    columns: tuple = ()        # Column declarations
    arrays: tuple = ()         # ArraySpec declarations
    views: tuple = ()          # live views the GUI shows: names, or (name, options)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        clash = [name for name in declared(cls) if callable(getattr(Procedure, name, None))]
        if clash:
            raise TypeError(f"{cls.__name__}: parameter(s) {', '.join(clash)} would hide "
                            f"Procedure methods of the same name; rename them")

    def __init__(self, **values):
        params = declared(type(self))
        for name, value in values.items():
            if name not in params:
                raise ParameterError(name, value, f"unknown parameter of {self.name} "
                                     f"(parameters: {', '.join(params)})")
        self._values = {}
        for name, param in params.items():
            self._values[name] = param.convert(values.get(name, param.default))
        self.check()

    @classmethod
    def parameters(cls) -> dict:
        return declared(cls)

    def values(self) -> dict:
        return dict(self._values)

    def units(self) -> dict:
        return {name: p.unit for name, p in self.parameters().items()}

    def check(self) -> None:
        """Cross-parameter checks (raise ``ParameterError``)."""

    # -- plan ---------------------------------------------------------------------
    def beam(self) -> Beam | None:
        """The beam geometry this procedure works with (None if it uses no pump)."""
        return None

    def beam_line(self) -> str:
        """The beam line (role suffix) whose pump this procedure uses."""
        return ""

    def slots(self) -> dict:
        """Qualifier of each role's slot (required and optional roles): the beam line for
        the pump-side roles, none for the rest. A procedure with a pump also holds its
        beam line's shutter, when the bench has one. Override to choose e.g. another
        detector."""
        roles = self.roles + self.optional
        if PUMP_ROLES & set(roles) and "Shutter" not in roles:
            roles += ("Shutter",)
        return {role: self.beam_line() if role in BEAM_ROLES else "" for role in roles}

    def required(self) -> dict:
        """The slots of the roles the procedure cannot run without."""
        return {role: q for role, q in self.slots().items() if role in self.roles}

    def plan(self) -> list[PlannedStep]:
        raise NotImplementedError

    def preview(self, envelope) -> Preview:
        """Dry run: enumerate every setpoint and check it against ``envelope``."""
        steps = self.plan()
        beam = self.beam()
        violations, count, seen = [], 0, set()
        for step in steps:
            for sp in step.setpoints:
                count += 1
                try:
                    envelope.check(sp.quantity, sp.value, sp.unit, area=beam.area if beam else None,
                                   line=self.beam_line())
                except SafetyError as exc:
                    if str(exc) not in seen:
                        seen.add(str(exc))
                        violations.append(f"{step.label}: {exc}")
        return Preview(self.name, len(steps), sum(s.duration for s in steps), count, tuple(violations))

    # -- run ----------------------------------------------------------------------
    def setup(self, run) -> None:
        """Configure the instruments before the first step."""

    def measure(self, run, step: PlannedStep) -> dict:
        raise NotImplementedError

    def more_steps(self, run, results: dict) -> list[PlannedStep]:
        """Steps to add after the plan ran (adaptive sampling); [] by default."""
        return []

    def teardown(self, run) -> None:
        """Leave the instruments tidy after the last step."""

    def on_pause(self, run) -> None:
        """Called when the run pauses (e.g. close a shutter to spare the sample)."""

    def on_resume(self, run) -> None:
        """Called before the run resumes."""

    # -- analysis -----------------------------------------------------------------
    def analyze(self, scalars) -> dict:
        """Results from the table of scalars (a pandas DataFrame, one row per step)."""
        return {}

    @classmethod
    def headline(cls, results: dict) -> str:
        """The key result in a few words, for the run catalog."""
        return ""

    @classmethod
    def report(cls, results: dict) -> list[tuple[str, str]]:
        """Summary lines (label, text) for the console."""
        headline = cls.headline(results)
        return [("result", headline)] if headline else []

    @classmethod
    def figures(cls, run) -> dict:
        """Figures of a stored run: {file suffix: matplotlib Figure}."""
        return {}

    @classmethod
    def schema(cls) -> tuple[tuple[Column, ...], tuple[ArraySpec, ...]]:
        return tuple(cls.columns), tuple(cls.arrays)
